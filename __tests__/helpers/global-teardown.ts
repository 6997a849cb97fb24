export default async function globalTeardown(): Promise<void> {
  for (const server of globalThis.__MG_SERVERS__ ?? []) await server.stop().catch(() => {});
}
