/**
 * One active owner, on both StateStore adapters (embedded files, Redis): two leases on the
 * same name, one holds it; the other takes over only when the lease lapses (or at once when
 * released); a taken-over holder's renewal fails; a reaped key is re-claimed by its holder.
 *
 * Redis comes from REDIS_URL (libs/testing depends on this lib, so its helpers cannot be
 * imported here); unset is a failure, never a skip.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import { EmbeddedStateStore } from './embedded-store.js';
import { Lease, parseLeaseValue } from './lease.js';
import { currentProcessIdentity, formatLeaseHolder, processLeaseHolder } from './process-identity.js';
import { RedisStateStore } from './redis-store.js';
import type { StateStore } from './statestore.js';

function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: the lease tests need Redis (e.g. redis://127.0.0.1:6379)');
  return url;
}

const SCOPE = 'test-lease';

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
      const prefix = `pm:test:lease_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}:`;
      const store = await RedisStateStore.connect(redisUrl(), { keyPrefix: prefix });
      return { store, close: () => store.close() };
    },
  ],
];

for (const [backend, open] of backends) {
  describe(`lease on the ${backend} store`, () => {
    const closers: Array<() => Promise<void>> = [];
    after(async () => {
      for (const c of closers) await c();
    });

    async function fixture(name: string) {
      const { store, close } = await open();
      let now = 1_000_000;
      const clock = {
        nowMs: () => now,
        advance: (ms: number) => {
          now += ms;
        },
      };
      const make = (holder: string, keyTtlMs?: number) =>
        new Lease({
          store,
          scope: SCOPE,
          name,
          holder,
          ttlMs: 10_000,
          nowMs: clock.nowMs,
          ...(keyTtlMs ? { keyTtlMs } : {}),
        });
      closers.push(async () => {
        // Whatever a test left behind; release only deletes a matching value, so read it first.
        const left = await store.getIdempotencyKey(SCOPE, name);
        if (left !== undefined) await store.releaseIdempotencyKey(SCOPE, name, left);
        await close();
      });
      return { store, clock, make };
    }

    test('two instances: one active; the standby takes over only after the lease lapses', async () => {
      const { clock, make } = await fixture('one');
      const a = make('a');
      const b = make('b');
      assert.equal(await a.tryAcquire(), true);
      assert.equal(a.expiresAtMs, 1_010_000);
      assert.equal(await b.tryAcquire(), false, 'the second instance waits');
      clock.advance(5_000);
      assert.equal(await a.renew(), true);
      clock.advance(9_000); // 14 s after the first claim, 9 s after the renewal: still a's
      assert.equal(await b.tryAcquire(), false);
      assert.deepEqual(await b.current(), { holder: 'a', expiresAtMs: 1_015_000 });
      clock.advance(2_000); // a stopped renewing: lapsed
      assert.equal(await b.tryAcquire(), true, 'the standby takes over');
      assert.equal(await a.renew(), false, 'the old holder learns it lost the lease');
      assert.equal(a.held, false);
      assert.equal(a.expiresAtMs, undefined);
      assert.equal(await a.tryAcquire(), false);
      // A clean stop releases: the standby gets it at once.
      await b.release();
      assert.equal(await b.current(), undefined);
      assert.equal(await a.tryAcquire(), true);
      await a.release();
    });

    test('a restarted holder (same name) gets its own unexpired lease back', async () => {
      const { make } = await fixture('restart');
      assert.equal(await make('a').tryAcquire(), true);
      const again = make('a');
      assert.equal(await again.tryAcquire(), true);
      assert.equal(await make('b').tryAcquire(), false);
    });

    test('releasing a lease someone else took over leaves theirs alone', async () => {
      const { clock, make } = await fixture('release');
      const a = make('a');
      const b = make('b');
      assert.equal(await a.tryAcquire(), true);
      clock.advance(11_000);
      assert.equal(await b.tryAcquire(), true);
      await a.release();
      assert.equal((await b.current())?.holder, 'b');
      assert.equal(await b.renew(), true);
    });

    test('a restart takes an unexpired lease at once from a holder proven dead, never from a live one', async () => {
      const { store, clock, make } = await fixture('dead-holder');
      // A real process that has exited: its pid is gone (or, if reused, another start time).
      const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
      const me = currentProcessIdentity();
      const deadHolder = formatLeaseHolder('crashed', { ...me, pid: Number(child.stdout), startTicks: '1' });
      assert.equal(await make(deadHolder).tryAcquire(), true);
      const restarted = make(processLeaseHolder('restarted'));
      assert.equal(await restarted.tryAcquire(), true, 'taken over before the TTL');
      assert.equal(restarted.takeover?.from, deadHolder);
      assert.match(restarted.takeover?.reason ?? '', /not running|another process now/);
      // A live holder (this process, as another instance) is never displaced.
      const third = make(processLeaseHolder('third'));
      assert.equal(await third.tryAcquire(), false);
      assert.equal(third.takeover, undefined);
      assert.equal(await restarted.renew(), true);
      // The takeover is a compare-and-set on the value read: a holder that renewed meanwhile keeps it.
      const racing = new Lease({
        store,
        scope: SCOPE,
        name: 'dead-holder',
        holder: 'racer',
        ttlMs: 10_000,
        nowMs: () => 1_000_000,
        judgeHolder: () => {
          clock.advance(1); // so the renewal writes a new value
          void restarted.renew();
          return { dead: true, reason: 'told so' };
        },
      });
      assert.equal(await racing.tryAcquire(), false);
      assert.equal((await racing.current())?.holder, restarted.holder);
    });

    test('a reaped key (keyTtlMs) is re-claimed by its holder on renewal', async () => {
      const { store, make } = await fixture('reaped');
      const a = make('a');
      assert.equal(await a.tryAcquire(), true);
      const stored = await store.getIdempotencyKey(SCOPE, 'reaped');
      assert.ok(stored);
      await store.releaseIdempotencyKey(SCOPE, 'reaped', stored); // as if reaped
      assert.equal(await a.renew(), true);
      assert.equal((await a.current())?.holder, 'a');
    });
  });
}

describe('lease values and options', () => {
  test('parseLeaseValue splits at the last bar and rejects malformed values', () => {
    assert.deepEqual(parseLeaseValue('svc/0 pid 12|1700000000000'), {
      holder: 'svc/0 pid 12',
      expiresAtMs: 1_700_000_000_000,
    });
    assert.equal(parseLeaseValue('no-bar'), undefined);
    assert.equal(parseLeaseValue('|123'), undefined);
    assert.equal(parseLeaseValue('a|soon'), undefined);
  });

  test('bad options name the field and the value', () => {
    const store = {} as StateStore;
    const base = { store, scope: 's', name: 'n', holder: 'h', ttlMs: 1_000, nowMs: () => 0 };
    assert.throws(
      () => new Lease({ ...base, holder: 'a|b' }),
      (e: unknown) => {
        return e instanceof ValidationError && /lease\.holder/.test(e.message) && /a\|b/.test(e.message);
      },
    );
    assert.throws(() => new Lease({ ...base, ttlMs: 0 }), /lease\.ttlMs.*got 0/);
    assert.throws(() => new Lease({ ...base, name: '' }), /lease\.name/);
  });
});
