/**
 * runProjector on the embedded log. Lives here, not in libs/bus, because it waits with
 * `eventually` and libs/testing depends on libs/bus (a reference back would be a cycle).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type AppliedSeqs,
  type EventLog,
  InMemoryProjectionStore,
  type ProjectionStore,
  type ProjectorStats,
  runProjector,
} from '@perpmesh/bus';
import { openTestBackend, type TestBackend } from './backends.js';
import { eventually } from './eventually.js';

type Sum = { total: number };
const data = (n: number) => new TextEncoder().encode(String(n));
const num = (d: Uint8Array) => Number(new TextDecoder().decode(d));
const counts = ({ applied, skipped, acked, failed }: ProjectorStats) => ({ applied, skipped, acked, failed });

describe('runProjector', () => {
  let backend: TestBackend;
  let log: EventLog;
  let k = 0;
  let stream: string;
  const warnings: Record<string, unknown>[] = [];
  before(async () => {
    const logger = { warn: (fields: Record<string, unknown>) => void warnings.push(fields), error: () => {} };
    backend = await openTestBackend('embedded', { streams: false, logger });
    log = backend.log;
  });
  after(() => backend.close());

  async function freshStream(values: number[]): Promise<string> {
    stream = `P${k++}`;
    await log.ensureStreams([{ name: stream, subjects: [`${stream.toLowerCase()}.>`], maxAgeMs: 0 }]);
    for (const [i, v] of values.entries()) {
      await log.publish({ subject: `${stream.toLowerCase()}.v`, id: `${stream}-${i}`, data: data(v) });
    }
    return stream;
  }

  function start(store: ProjectionStore, apply = (s: Sum, v: number): Sum => ({ total: s.total + v })) {
    return runProjector<Sum>({
      log,
      store,
      name: 'sum',
      consume: { stream, durable: 'sum', nakDelayMs: 1 },
      initialState: () => ({ total: 0 }),
      apply: (s, m) => apply(s, num(m.data)),
    });
  }

  test('applies each event and saves state with its sequence', async () => {
    await freshStream([1, 2, 3]);
    const store = new InMemoryProjectionStore();
    const p = await start(store);
    await eventually('3 events', () => p.stats().applied === 3);
    await p.stop();
    assert.deepEqual(await store.loadProjection('sum'), { state: { total: 6 }, applied: { [stream]: 3 } });
    assert.deepEqual(p.state(), { total: 6 });
  });

  test('skips (and acks) events the stored projection already has', async () => {
    await freshStream([1, 2, 3]);
    const store = new InMemoryProjectionStore();
    await store.saveProjection<Sum>('sum', { total: 3 }, { [stream]: 2 }, undefined);
    const p = await start(store);
    await eventually('3 events seen', () => p.stats().applied + p.stats().skipped === 3);
    await p.stop();
    assert.deepEqual(counts(p.stats()), { applied: 1, skipped: 2, acked: 3, failed: 0 });
    assert.deepEqual((await store.loadProjection<Sum>('sum'))?.state, { total: 6 });
  });

  test('on a conflict it reloads: an event another writer applied is not applied twice', async () => {
    await freshStream([5, 7]);
    const inner = new InMemoryProjectionStore();
    let raced = false;
    const store: ProjectionStore = {
      loadProjection: (n) => inner.loadProjection(n),
      async saveProjection<S>(n: string, state: S, applied: AppliedSeqs, expected: AppliedSeqs | undefined) {
        if (!raced) {
          raced = true; // a standby applied seq 1 first
          await inner.saveProjection<Sum>(n, { total: 5 }, { [stream]: 1 }, undefined);
        }
        await inner.saveProjection(n, state, applied, expected);
      },
    };
    const p = await start(store);
    await eventually('both events', () => p.stats().applied + p.stats().skipped === 2);
    await p.stop();
    assert.deepEqual(counts(p.stats()), { applied: 1, skipped: 1, acked: 2, failed: 0 });
    assert.deepEqual(await inner.loadProjection('sum'), { state: { total: 12 }, applied: { [stream]: 2 } });
  });

  test('an apply that throws saves nothing; the redelivery applies it once', async () => {
    await freshStream([4, 6]);
    const store = new InMemoryProjectionStore();
    let failures = 0;
    const p = await start(store, (s, v) => {
      if (v === 6 && failures++ === 0) throw new Error('transient');
      return { total: s.total + v };
    });
    await eventually('both applied', () => p.stats().applied === 2);
    await p.stop();
    assert.equal(failures, 2);
    assert.equal(p.stats().failed, 1, 'the failed delivery is counted');
    assert.deepEqual(
      warnings.filter((w) => w.stream === stream).map((w) => [w.seq, w.deliveryCount, w.err]),
      [[2, 1, 'transient']],
    );
    assert.deepEqual((await store.loadProjection<Sum>('sum'))?.state, { total: 10 });
  });

  test('InMemoryProjectionStore is a compare-and-set and hands out copies', async () => {
    const store = new InMemoryProjectionStore();
    await store.saveProjection('p', { xs: [1] }, { S: 1 }, undefined);
    await assert.rejects(store.saveProjection('p', { xs: [9] }, { S: 2 }, undefined), {
      code: 'PROJECTION_CONFLICT',
    });
    await assert.rejects(store.saveProjection('p', { xs: [9] }, { S: 2 }, { S: 0 }), {
      code: 'PROJECTION_CONFLICT',
    });
    const loaded = await store.loadProjection<{ xs: number[] }>('p');
    loaded?.state.xs.push(2);
    assert.deepEqual((await store.loadProjection('p'))?.state, { xs: [1] });
    await store.saveProjection('p', { xs: [1, 2] }, { S: 2 }, { S: 1 });
    assert.deepEqual(await store.loadProjection('p'), { state: { xs: [1, 2] }, applied: { S: 2 } });
  });
});
