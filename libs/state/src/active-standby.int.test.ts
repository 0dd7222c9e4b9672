/**
 * Active/standby on one lease, on both StateStore adapters (embedded files, Redis): one
 * instance works, the other reports the holder; a clean stop hands over at once, a lapsed
 * lease after the TTL; the ex-holder's work stops when its renewal finds the lease taken; a
 * failed activation gives the lease up; work that fails on its own is relinquished; the store
 * unreachable demotes only past the expiry; leases per key are independent (a runner with one
 * lease per strategy id).
 *
 * Passes are driven by `tick()` (renewIntervalMs 0) on a manual clock, except one test of
 * the renewal timer, which waits (with the test's deadline) for the takeover as a status the
 * hook reports. Redis comes
 * from REDIS_URL (libs/testing depends on this lib, so its helpers cannot be imported here).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ValidationError, withTimeout } from '@perpmesh/core';
import { ActiveStandby, type ActiveStandbyStatus, type StandbyTransition } from './active-standby.js';
import { EmbeddedStateStore } from './embedded-store.js';
import { RedisStateStore } from './redis-store.js';
import type { StateStore } from './statestore.js';

function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url)
    throw new Error(
      'REDIS_URL is not set: the active/standby tests need Redis (e.g. redis://127.0.0.1:6379)',
    );
  return url;
}

const SCOPE = 'test-active-standby';
const TTL_MS = 10_000;
const T0 = Date.UTC(2026, 0, 1);

const backends: Array<[string, () => Promise<{ store: StateStore; close: () => Promise<void> }>]> = [
  [
    'embedded',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'pm-active-standby-'));
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
      const prefix = `pm:test:as_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}:`;
      const store = await RedisStateStore.connect(redisUrl(), { keyPrefix: prefix });
      return { store, close: () => store.close() };
    },
  ],
];

/**
 * Resolves once `condition` holds, checked every 5 ms; rejects after `ms` naming `what`. (libs/testing's
 * `eventually` depends on this lib, so it cannot be imported here.) The interval keeps the loop
 * open while the instance's own timers are unref'd.
 */
function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = setInterval(() => {
      if (condition()) {
        clearInterval(check);
        resolve();
      } else if (Date.now() - started >= ms) {
        clearInterval(check);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }
    }, 5);
  });
}

/** One contender and what its hooks saw. */
interface Contender {
  readonly node: ActiveStandby;
  /** `active` / `standby:<reason>` / `stopped` for every hook call, in order. */
  readonly calls: string[];
  readonly statuses: ActiveStandbyStatus[];
  /** Every `becomeStandby` argument, in order. */
  readonly transitions: StandbyTransition[];
  working(): boolean;
}

for (const [backend, open] of backends) {
  describe(`active/standby on the ${backend} store`, () => {
    const closers: Array<() => Promise<void>> = [];
    after(async () => {
      for (const c of closers.splice(0).reverse()) await c();
    });

    async function fixture() {
      const { store, close } = await open();
      closers.push(close);
      let now = T0;
      const clock = {
        nowMs: () => now,
        advance: (ms: number) => {
          now += ms;
        },
      };
      const nodes: ActiveStandby[] = [];
      closers.push(async () => {
        for (const n of nodes) await n.stop();
      });
      const make = (
        holder: string,
        options: {
          name?: string;
          store?: StateStore;
          renewIntervalMs?: number;
          retryIntervalMs?: number;
          failActivation?: Error;
          onStatus?: (s: ActiveStandbyStatus) => void;
          stopStoreWaitMs?: number;
          storeCallTimeoutMs?: number;
          /** A lost lease's `becomeStandby` waits for this, then records `standby-done`. */
          slowStandDown?: Promise<void>;
        } = {},
      ): Contender => {
        const calls: string[] = [];
        const statuses: ActiveStandbyStatus[] = [];
        const transitions: StandbyTransition[] = [];
        let working = false;
        const node = new ActiveStandby({
          store: options.store ?? store,
          scope: SCOPE,
          name: options.name ?? 'one',
          holder,
          ttlMs: TTL_MS,
          renewIntervalMs: options.renewIntervalMs ?? 0,
          ...(options.retryIntervalMs === undefined ? {} : { retryIntervalMs: options.retryIntervalMs }),
          ...(options.stopStoreWaitMs === undefined ? {} : { stopStoreWaitMs: options.stopStoreWaitMs }),
          ...(options.storeCallTimeoutMs === undefined
            ? {}
            : { storeCallTimeoutMs: options.storeCallTimeoutMs }),
          nowMs: clock.nowMs,
          hooks: {
            becomeActive: async () => {
              calls.push('active');
              working = true;
              if (options.failActivation) throw options.failActivation;
            },
            becomeStandby: async (t: StandbyTransition) => {
              calls.push(t.stopping ? 'stopped' : `standby:${t.reason}`);
              transitions.push(t);
              if (options.slowStandDown && !t.stopping) {
                await options.slowStandDown;
                calls.push('standby-done');
              }
              working = false;
            },
            onStatus: (s) => {
              statuses.push(s);
              options.onStatus?.(s);
            },
          },
        });
        nodes.push(node);
        return { node, calls, statuses, transitions, working: () => working };
      };
      return { store, clock, make };
    }

    test('one active, the standby names the holder; a clean stop hands over at once', async () => {
      const { make } = await fixture();
      const a = make('a');
      const b = make('b');
      await a.node.start();
      await b.node.start();
      assert.equal(a.node.active, true);
      assert.deepEqual(a.calls, ['active']);
      assert.equal(b.node.active, false);
      assert.deepEqual(b.node.status, {
        role: 'standby',
        reason: 'a holds the lease until 2026-01-01T00:00:10.000Z',
        holder: { holder: 'a', expiresAtMs: T0 + TTL_MS },
      });
      assert.deepEqual(b.statuses.at(-1), b.node.status, 'the hook saw the standby status');
      await b.node.tick();
      await a.node.tick();
      assert.deepEqual(b.calls, [], 'the standby never starts working');
      assert.equal(a.statuses.at(-1)?.role, 'active');

      await a.node.stop();
      assert.deepEqual(a.calls, ['active', 'stopped']);
      assert.equal(a.transitions[0]?.leaseLost, false, 'a clean stop still holds the lease');
      assert.equal(a.working(), false);
      assert.deepEqual(a.node.status, { role: 'stopped' });
      await b.node.tick();
      assert.equal(b.node.active, true, 'taken over without waiting for the TTL');
      assert.deepEqual(b.calls, ['active']);
    });

    test('a holder that stops renewing is taken over after the TTL, and its work stops at its next renewal', async () => {
      const { clock, make } = await fixture();
      const a = make('a');
      const b = make('b');
      await a.node.start();
      await b.node.start();
      clock.advance(TTL_MS - 1);
      await b.node.tick();
      assert.equal(b.node.active, false, 'not before the lease lapses');
      clock.advance(2);
      await b.node.tick();
      assert.equal(b.node.active, true);
      await a.node.tick();
      assert.equal(a.node.active, false);
      assert.equal(a.working(), false, 'fenced: the ex-holder stopped working');
      assert.deepEqual(a.calls, [
        'active',
        'standby:lease lost: b holds the lease until 2026-01-01T00:00:20.001Z',
      ]);
      assert.equal(a.transitions[0]?.leaseLost, true, 'told the lease is gone: no last write');
      assert.deepEqual(a.node.status, {
        role: 'standby',
        reason: 'lease lost: b holds the lease until 2026-01-01T00:00:20.001Z',
        holder: { holder: 'b', expiresAtMs: T0 + TTL_MS + 1 + TTL_MS },
      });
    });

    test('work that fails on its own is relinquished: stopped, the lease released, taken again later', async () => {
      const { make } = await fixture();
      const a = make('a');
      const b = make('b');
      await a.node.start();
      await b.node.start();
      await a.node.relinquish('tail closed');
      assert.equal(a.node.active, false);
      assert.equal(a.working(), false);
      assert.deepEqual(a.calls, ['active', 'standby:tail closed']);
      assert.equal(a.transitions[0]?.leaseLost, false, 'the lease was still ours: a last write is safe');
      assert.deepEqual(a.node.status, { role: 'standby', reason: 'tail closed' });
      assert.equal(await a.node.current(), undefined, 'released');
      await a.node.relinquish('again');
      assert.deepEqual(a.calls, ['active', 'standby:tail closed'], 'nothing to stop when not working');

      await b.node.tick();
      assert.equal(b.node.active, true, 'a healthier instance takes it');
      await a.node.tick();
      assert.equal(a.node.status.role, 'standby');
      await b.node.relinquish('b failed too');
      await a.node.tick();
      assert.equal(a.node.active, true, 'the first one takes it again at its next pass');
      assert.deepEqual(a.calls, ['active', 'standby:tail closed', 'active']);
    });

    test('a failed activation stops the partial work and gives the lease up', async () => {
      const { make } = await fixture();
      const a = make('a', { failActivation: new Error('markets unavailable') });
      await a.node.start();
      assert.equal(a.node.active, false);
      assert.deepEqual(a.calls, ['active', 'standby:could not become active: markets unavailable']);
      assert.deepEqual(a.node.status, {
        role: 'standby',
        reason: 'could not become active: markets unavailable',
      });
      assert.equal(await a.node.current(), undefined, 'released');
      const b = make('b');
      await b.node.start();
      assert.equal(b.node.active, true);
    });

    test('the store unreachable: keep working while the lease is surely ours, stand down past its expiry', async () => {
      const { store, clock, make } = await fixture();
      let broken = false;
      const flaky = new Proxy(store, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            if (broken) return Promise.reject(new Error('connection refused'));
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
      const a = make('a', { store: flaky });
      const b = make('b', { store: flaky });
      await a.node.start();
      broken = true;
      await b.node.start();
      assert.deepEqual(b.node.status, {
        role: 'standby',
        reason: 'lease store unavailable: connection refused',
      });
      clock.advance(TTL_MS - 1);
      await a.node.tick();
      assert.equal(a.node.active, true, 'still within our lease');
      clock.advance(1);
      await a.node.tick();
      assert.equal(a.node.active, false);
      assert.deepEqual(a.calls, [
        'active',
        'standby:lease could not be renewed before it expired: connection refused',
      ]);
      broken = false;
    });

    test('a renewal that hangs past the expiry stops the work without waiting for the store', {
      timeout: 15_000,
    }, async () => {
      const { store, clock, make } = await fixture();
      let hang: Promise<void> | undefined;
      let release: () => void = () => {};
      const partitioned = new Proxy(store, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target);
          if (typeof value !== 'function') return value;
          return async (...args: unknown[]) => {
            if (hang) await hang;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
      let fenced: () => void = () => {};
      const stoodDown = new Promise<void>((resolve) => {
        fenced = resolve;
      });
      const a = make('a', {
        store: partitioned,
        renewIntervalMs: 10,
        onStatus: (s) => {
          if (s.role === 'standby' && s.reason.startsWith('lease expired')) fenced();
        },
      });
      await a.node.start();
      assert.equal(a.node.active, true);
      hang = new Promise((resolve) => {
        release = resolve;
      });
      clock.advance(TTL_MS);
      // The watchdog's timers are unref'd: hold the loop open while waiting for the witness.
      const keepAlive = setInterval(() => {}, 1_000);
      try {
        await stoodDown;
        assert.equal(a.node.active, false);
        assert.equal(a.working(), false);
        assert.deepEqual(a.calls, [
          'active',
          'standby:lease expired at 2026-01-01T00:00:10.000Z while its renewal was pending',
        ]);
      } finally {
        clearInterval(keepAlive);
        hang = undefined;
        release();
      }
    });

    test('after the watchdog stood down, the work starts again only once becomeStandby has finished', {
      timeout: 15_000,
    }, async () => {
      const { store, clock, make } = await fixture();
      let hang: Promise<void> | undefined;
      let releaseHang: () => void = () => {};
      let pending = 0;
      const partitioned = new Proxy(store, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target);
          if (typeof value !== 'function') return value;
          return async (...args: unknown[]) => {
            pending += 1;
            try {
              if (hang) await hang;
              return await (value as (...a: unknown[]) => unknown).apply(target, args);
            } finally {
              pending -= 1;
            }
          };
        },
      });
      let openStandDown: () => void = () => {};
      const slowStandDown = new Promise<void>((resolve) => {
        openStandDown = resolve;
      });
      const a = make('a', { store: partitioned, renewIntervalMs: 10, slowStandDown });
      const expired = 'standby:lease expired at 2026-01-01T00:00:10.000Z while its renewal was pending';
      await a.node.start();
      hang = new Promise((resolve) => {
        releaseHang = resolve;
      });
      clock.advance(TTL_MS);
      try {
        // The watchdog stands down (its becomeStandby still in progress) while the renewal hangs.
        await until(() => a.calls.includes(expired), 10_000, 'the watchdog standing down');
        // The store answers again: the hung renewal succeeds (nobody else took the lease).
        hang = undefined;
        releaseHang();
        // A pass that did not wait for the stand-down would renew and start the work now: give
        // it the time of many passes (10 ms apart) to show itself. Its absence is the point.
        await until(() => a.calls.length > 2, 300, 'a pass starting the work early').catch(() => undefined);
        assert.deepEqual(a.calls, ['active', expired]);
        openStandDown();
        await until(() => a.node.active && pending === 0, 10_000, 'active again after the stand-down');
        assert.deepEqual(a.calls, ['active', expired, 'standby-done', 'active']);
      } finally {
        hang = undefined;
        releaseHang();
        openStandDown();
      }
    });

    test('stop during a store outage: the store is waited for at most stopStoreWaitMs; a late acquire starts no work', async () => {
      const { store, make } = await fixture();
      let gate: { promise: Promise<void>; open: () => void } | undefined;
      const outage = () => {
        let open!: () => void;
        const promise = new Promise<void>((resolve) => {
          open = resolve;
        });
        gate = { promise, open };
      };
      const down = new Proxy(store, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target);
          if (typeof value !== 'function') return value;
          return async (...args: unknown[]) => {
            if (gate) await gate.promise;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
      try {
        // An active holder: its renewal and its release hang; the stop still ends.
        const a = make('a', { store: down, stopStoreWaitMs: 50 });
        await a.node.start();
        assert.equal(a.node.active, true);
        outage();
        const renewal = a.node.tick();
        await withTimeout(a.node.stop(), 10_000, 'the stop during the outage');
        assert.deepEqual(a.calls, ['active', 'stopped']);
        assert.deepEqual(a.node.status, { role: 'stopped' });
        // A standby whose first acquire hangs: stopped meanwhile, it never starts the work.
        const b = make('b', { name: 'late', store: down, stopStoreWaitMs: 50 });
        const started = b.node.start();
        await withTimeout(b.node.stop(), 10_000, 'the standby stop during the outage');
        gate?.open();
        gate = undefined;
        await started;
        await renewal;
        assert.deepEqual(b.calls, [], 'no work started after stop');
        assert.equal(await b.node.current(), undefined, 'the late acquire gave the lease back');
      } finally {
        gate?.open();
      }
    });

    test('a lease call the store never answers ends its pass: the instance contends again and takes the lease', {
      timeout: 15_000,
    }, async () => {
      const { store, make } = await fixture();
      // The store loses the first request it gets (a request lost with a connection): that
      // call never settles; every later one is answered.
      let lost = 0;
      const lossy = new Proxy(store, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            if (lost === 0) {
              lost += 1;
              return new Promise(() => {});
            }
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
      const a = make('a', { store: lossy, renewIntervalMs: 10, storeCallTimeoutMs: 50 });
      // Before the fix the first pass waited for that call forever: no later pass, never active.
      await withTimeout(a.node.start(), 5_000, 'the first pass', { keepAlive: true });
      assert.equal(a.node.active, false);
      assert.match(
        a.node.status.role === 'standby' ? a.node.status.reason : '',
        /lease store unavailable: .*the lease acquire/,
      );
      const keepAlive = setInterval(() => {}, 1_000);
      try {
        await until(() => a.node.active, 10_000, 'the next passes taking the lease');
      } finally {
        clearInterval(keepAlive);
      }
      assert.deepEqual(a.calls, ['active']);
      assert.equal(lost, 1);
    });

    test('leases per key are independent (one per strategy id)', async () => {
      const { make } = await fixture();
      const x1 = make('x', { name: 'strategy-1' });
      const y1 = make('y', { name: 'strategy-1' });
      const y2 = make('y', { name: 'strategy-2' });
      const x2 = make('x', { name: 'strategy-2' });
      await x1.node.start();
      await y1.node.start();
      await y2.node.start();
      await x2.node.start();
      assert.deepEqual(
        [x1, y1, y2, x2].map((c) => c.node.active),
        [true, false, true, false],
      );
      await x1.node.stop();
      await y1.node.tick();
      assert.equal(y1.node.active, true);
      assert.equal(x2.node.active, false, 'the other key is untouched');
    });

    test('a standby retries every retryIntervalMs, however long the renewal interval', {
      timeout: 15_000,
    }, async () => {
      const { make } = await fixture();
      const a = make('a');
      await a.node.start();
      let tookOver: () => void = () => {};
      const active = new Promise<void>((resolve) => {
        tookOver = resolve;
      });
      const b = make('b', {
        renewIntervalMs: TTL_MS - 1,
        retryIntervalMs: 10,
        onStatus: (s) => {
          if (s.role === 'active') tookOver();
        },
      });
      await b.node.start();
      assert.equal(b.node.active, false);
      await a.node.stop();
      const keepAlive = setInterval(() => {}, 1_000);
      try {
        // Well before the next renewal-interval pass (~10 s) would take it.
        await withTimeout(active, 3_000, 'the standby taking over at its retry interval');
      } finally {
        clearInterval(keepAlive);
      }
      assert.equal(b.node.active, true);
    });

    test('the renewal timer takes over by itself after a clean stop', { timeout: 15_000 }, async () => {
      const { make } = await fixture();
      const a = make('a');
      await a.node.start();
      let tookOver: () => void = () => {};
      const active = new Promise<void>((resolve) => {
        tookOver = resolve;
      });
      const b = make('b', {
        renewIntervalMs: 10,
        onStatus: (s) => {
          if (s.role === 'active') tookOver();
        },
      });
      await b.node.start();
      assert.equal(b.node.active, false);
      await a.node.stop();
      // The renewal timer is unref'd (it never keeps a process alive): hold the loop open meanwhile.
      const keepAlive = setInterval(() => {}, 1_000);
      try {
        await active;
      } finally {
        clearInterval(keepAlive);
      }
      assert.equal(b.node.active, true);
    });
  });
}

describe('active/standby options', () => {
  test('a renewal interval not under the TTL is refused, naming the field', () => {
    const base = {
      store: {} as StateStore,
      scope: 's',
      name: 'n',
      holder: 'h',
      ttlMs: 1_000,
      nowMs: () => 0,
      hooks: { becomeActive: async () => {}, becomeStandby: async () => {} },
    };
    assert.throws(
      () => new ActiveStandby({ ...base, renewIntervalMs: 1_000 }),
      (e: unknown) =>
        e instanceof ValidationError && /activeStandby\.renewIntervalMs.*got 1000/.test(e.message),
    );
    assert.throws(() => new ActiveStandby({ ...base, renewIntervalMs: -1 }), ValidationError);
    assert.throws(
      () => new ActiveStandby({ ...base, renewIntervalMs: 10, storeCallTimeoutMs: 0 }),
      (e: unknown) =>
        e instanceof ValidationError && /activeStandby\.storeCallTimeoutMs.*got 0/.test(e.message),
    );
    assert.throws(
      () => new ActiveStandby({ ...base, renewIntervalMs: 10, retryIntervalMs: 0 }),
      (e: unknown) => e instanceof ValidationError && /activeStandby\.retryIntervalMs.*got 0/.test(e.message),
    );
    assert.throws(() => new ActiveStandby({ ...base, holder: 'a|b', renewIntervalMs: 10 }), /lease\.holder/);
  });
});
