/**
 * One active instance per strategy id, on both StateStore adapters (embedded files, Redis):
 * two leases for the same strategy, one holds it; the other takes over only when the
 * lease lapses (or at once when released); a taken-over holder's renewal fails.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { EmbeddedStateStore, RedisStateStore, type StateStore } from '@perpmesh/state';
import { redisUrlForTests, uniqueTestName } from '@perpmesh/testing';
import { StrategyLease } from './lease.js';

const backends: Array<[string, () => Promise<{ store: StateStore; close: () => Promise<void> }>]> = [
  [
    'embedded',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'pm-lease-'));
      const store = await EmbeddedStateStore.open({ dataDir: dir, fsync: false });
      return {
        store,
        close: async () => {
          await store.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  ],
  [
    'redis',
    async () => {
      const prefix = `pm:test:${uniqueTestName('lease')}:`;
      const store = await RedisStateStore.connect(await redisUrlForTests(), { keyPrefix: prefix });
      return {
        store,
        close: async () => {
          await store.releaseIdempotencyKey('strategy-lease', 'arb-1', 'x').catch(() => undefined);
          await store.close();
        },
      };
    },
  ],
];

for (const [name, open] of backends) {
  describe(`strategy lease on the ${name} store`, () => {
    const closers: Array<() => Promise<void>> = [];
    after(async () => {
      for (const c of closers) await c();
    });

    test('two instances: one active; the standby takes over only after the lease lapses', async () => {
      const { store, close } = await open();
      closers.push(close);
      let now = 1_000_000;
      const nowMs = () => now;
      const a = new StrategyLease({ store, strategyId: 'arb-1', holder: 'a', ttlMs: 10_000, nowMs });
      const b = new StrategyLease({ store, strategyId: 'arb-1', holder: 'b', ttlMs: 10_000, nowMs });
      assert.equal(await a.tryAcquire(), true);
      assert.equal(await b.tryAcquire(), false, 'the second instance waits');
      now += 5_000;
      assert.equal(await a.renew(), true);
      now += 9_000; // 14 s after the first claim, 9 s after the renewal: still a's
      assert.equal(await b.tryAcquire(), false);
      assert.equal((await b.current())?.holder, 'a');
      now += 2_000; // a stopped renewing: lapsed
      assert.equal(await b.tryAcquire(), true, 'the standby takes over');
      assert.equal(await a.renew(), false, 'the old holder learns it lost the lease');
      assert.equal(a.held, false);
      assert.equal(await a.tryAcquire(), false);
      // A clean stop releases: the standby gets it at once.
      await b.release();
      assert.equal(await a.tryAcquire(), true);
      await a.release();
    });
  });
}
