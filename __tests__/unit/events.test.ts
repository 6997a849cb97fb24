import { describe, expect, it } from '@jest/globals';
import { StageEvents, type StageEvent } from '../../src/engine/events.js';

const started: StageEvent = { type: 'run-started', command: 'apply', environment: 'prod', pending: [] };

describe('stage events', () => {
  it('hands every event to every listener, in order', () => {
    const seen: string[] = [];
    const events = new StageEvents()
      .on((e) => void seen.push(`a:${e.type}`))
      .on((e) => void seen.push(`b:${e.type}`));
    events.emit(started);
    events.emit({ type: 'cancelled', reason: 'SIGTERM' });
    expect(seen).toEqual(['a:run-started', 'b:run-started', 'a:cancelled', 'b:cancelled']);
  });

  it('does not wait for a slow listener, and settled() waits for it', async () => {
    let release!: () => void;
    let done = false;
    const events = new StageEvents().on(async () => {
      await new Promise<void>((r) => (release = r));
      done = true;
    });
    events.emit(started);
    expect(done).toBe(false);
    const settled = events.settled();
    release();
    await settled;
    expect(done).toBe(true);
  });

  it('reports a listener that throws or rejects and keeps calling the others', async () => {
    const errors: unknown[] = [];
    const seen: string[] = [];
    const events = new StageEvents((e) => errors.push((e as Error).message))
      .on(() => {
        throw new Error('sync boom');
      })
      .on(async () => {
        throw new Error('async boom');
      })
      .on((e) => void seen.push(e.type));
    events.emit(started);
    await events.settled();
    expect(seen).toEqual(['run-started']);
    expect(errors.sort()).toEqual(['async boom', 'sync boom']);
  });
});
