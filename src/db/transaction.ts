import type { Client } from './connect.js';

/** Runs `fn` inside BEGIN … COMMIT; any error rolls back and is rethrown. */
export async function withTransaction<T>(client: Client, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // The connection may be gone; the server then rolls back by itself.
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
