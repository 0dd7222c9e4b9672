/**
 * One active account-service instance (ARCHITECTURE §7), on both backends: two instances
 * on one log and store; only the lease holder polls the venue, follows the user stream and
 * publishes acct.*; the standby polls nothing, publishes nothing, says who holds the lease
 * and refuses queries; it takes over at once on a clean stop, and after the TTL when the
 * holder stalls (which stops working once its lease expired, without waiting for its store).
 *
 * Lease time is the paper hub's manual clock; renewals tick every few real ms. "Nothing
 * happened" is asserted only after a witness that it could have: more standby passes ran.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { decodeEnvelope } from '@perpmesh/contracts';
import { createLogger, HealthRegistry } from '@perpmesh/runtime';
import type { StateStore } from '@perpmesh/state';
import { eventually, openTestBackend, TEST_BACKEND_KINDS, type TestBackend } from '@perpmesh/testing';
import { PaperVenueHub, StaticVenueDirectory, type VenuePort } from '@perpmesh/venues';
import { AccountStandbyError } from './errors.js';
import { pausable, T0, TEST_SETTINGS } from './scenarios.test-helper.js';
import { type AccountService, accountComponents, buildAccountService } from './service.js';

const TTL_MS = 10_000;

/** Counts the venue calls one instance makes. */
function countingPort(inner: VenuePort): { port: VenuePort; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const port = new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { port, calls };
}

/** Counts lease acquisition attempts: one per standby pass (a witness that passes ran). */
function countingClaims(store: StateStore): { store: StateStore; claims: () => number } {
  let claims = 0;
  const proxy = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop === 'claimIdempotencyKey') claims++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy as StateStore, claims: () => claims };
}

// The embedded log is one process's (its store is locked to it), so the stalled-holder case,
// two live consumers of one durable, exists only on NATS JetStream + Redis.
for (const kind of TEST_BACKEND_KINDS) {
  const distributed = kind === 'nats-redis';
  describe(`account service lease (${kind})`, () => {
    let backend: TestBackend | undefined;
    let hub: PaperVenueHub | undefined;
    const services: AccountService[] = [];
    let partition: ReturnType<typeof pausable> | undefined;
    afterEach(async () => {
      partition?.resume();
      partition = undefined;
      for (const s of services.splice(0)) await s.stop();
      hub?.close();
      await backend?.close();
    });

    async function setup() {
      backend = await openTestBackend(kind, { prefix: 'ACCL' });
      const b = backend;
      const h = new PaperVenueHub({
        seed: 7,
        clock: { kind: 'manual' },
        startMs: T0,
        venues: [{ venueId: 'paper' }],
        accounts: [{ venueId: 'paper', accountId: 'main', deposit: '100000' }],
      });
      hub = h;
      const instance = (name: string, store: StateStore = b.state) => {
        const { port, calls } = countingPort(h.venue('paper', 'main'));
        const { store: leaseStore, claims } = countingClaims(store);
        const health = new HealthRegistry({ nowMs: () => h.nowMs });
        const service = buildAccountService({
          log: b.log,
          state: b.state,
          venues: new StaticVenueDirectory([port]),
          subjects: b.subjects,
          streamPrefix: b.streamPrefix,
          health,
          logger: createLogger({
            service: 'account',
            level: (process.env.LEASE_TEST_LOG ?? 'silent') as 'silent',
          }),
          nowMs: () => h.nowMs,
          source: `account/${name}`,
          config: { ...TEST_SETTINGS, leaseTtlMs: TTL_MS, leaseRenewIntervalMs: 10 },
          lease: { store: leaseStore, holder: `account/${name}` },
        });
        services.push(service);
        const leaseReason = () => health.component(accountComponents.lease)?.reason ?? '';
        return { service, calls, health, leaseReason, claims };
      };
      /** Every acct.* event: its producer and id. */
      const acctEvents = async () => {
        const out: Array<{ source: string; id: string; kind: string | undefined }> = [];
        for await (const msg of b.log.read({ stream: b.stream('ACCT') })) {
          const e = decodeEnvelope(msg.data);
          out.push({ source: e.source, id: e.id, kind: e.payload?.$case });
        }
        return out;
      };
      return { hub: h, instance, acctEvents };
    }

    test('one active instance; the standby polls and publishes nothing; a clean stop hands over at once', async () => {
      const { hub: h, instance, acctEvents } = await setup();
      const a = instance('a');
      await a.service.start();
      assert.equal(a.service.active, true);
      assert.equal(a.health.component(accountComponents.lease)?.ready, true);
      const b = instance('b');
      await b.service.start();
      assert.equal(b.service.active, false);
      assert.match(b.leaseReason(), /^standby: account\/a holds the lease until 2026-01-01T00:00:10\.000Z$/);
      assert.equal(b.health.isReady(), false);
      assert.throws(
        () => b.service.balances(),
        (err: unknown) =>
          err instanceof AccountStandbyError &&
          err.code === 'UNAVAILABLE' &&
          /account\/a holds/.test(err.message),
      );
      assert.throws(() => b.service.positions(), AccountStandbyError);

      await a.service.refresh();
      await b.service.refresh();
      await a.service.idle();
      // Many standby passes later (each one an acquisition attempt), the standby is still one.
      const passes = b.claims();
      await eventually('ten more standby passes', () => b.claims() >= passes + 10);
      assert.equal(b.service.active, false);
      assert.equal(b.calls.get('fetchBalances'), undefined, 'the standby never polls');
      assert.equal(b.calls.get('watchUserStream'), undefined, 'the standby never follows the user stream');
      assert.ok((a.calls.get('fetchBalances') ?? 0) > 0, 'the holder polls');
      assert.equal(a.calls.get('watchUserStream'), 1);
      const before = await acctEvents();
      assert.ok(
        before.some((e) => e.kind === 'balance'),
        'the holder published acct.balance',
      );
      assert.deepEqual([...new Set(before.map((e) => e.source))], ['account/a']);

      await a.service.stop();
      await eventually('the standby to take over', () => b.service.active);
      const aPolls = a.calls.get('fetchBalances');
      h.advanceTo(T0 + 1_000);
      h.deposit('paper', 'main', '250'); // a balance change: a new fact for the new holder to publish
      await b.service.refresh();
      await b.service.idle();
      assert.equal(b.service.balances()[0]?.total.toFixed(), '100250');
      assert.equal(b.health.component(accountComponents.lease)?.ready, true);
      assert.equal(a.calls.get('fetchBalances'), aPolls, 'the stopped instance polls no more');
      const after = await acctEvents();
      assert.ok(
        after.some((e) => e.source === 'account/b' && e.kind === 'balance'),
        'the new holder publishes acct.balance',
      );
      assert.equal(new Set(after.map((e) => e.id)).size, after.length, 'no acct event twice');
    });

    test('a stalled holder loses the lease after the TTL and stops working; the standby takes over', {
      skip: distributed ? false : 'one process per embedded log',
    }, async () => {
      const { hub: h, instance } = await setup();
      const stalled = pausable((backend as TestBackend).state);
      partition = stalled;
      const a = instance('a', stalled.store);
      await a.service.start();
      const b = instance('b');
      await b.service.start();
      assert.equal(a.service.active, true);
      assert.equal(b.service.active, false);

      stalled.pause(); // a's renewals hang
      h.advanceTo(T0 + TTL_MS - 1);
      // Two attempts started after the clock moved: the first ran to its end at that time.
      const passes = b.claims();
      await eventually('two standby passes at TTL - 1 ms', () => b.claims() >= passes + 2);
      assert.equal(b.service.active, false, 'not before the lease lapses');
      assert.equal(a.service.active, true, 'the holder works until its lease expires');
      h.advanceTo(T0 + TTL_MS + 1);
      await eventually('the standby to take over after the TTL', () => b.service.active);
      assert.ok((b.calls.get('fetchBalances') ?? 0) > 0, 'the new holder polls');
      // Fenced by its own clock: the stalled holder stops while its renewal is still pending.
      await eventually('the stale holder to step down', () => !a.service.active);
      assert.match(a.leaseReason(), /^standby: lease expired at .* while its renewal was pending$/);

      stalled.resume(); // a's pending renewal finds b's lease
      await eventually('the ex-holder to name the new holder', () =>
        /^standby: account\/b holds the lease until /.test(a.leaseReason()),
      );
      assert.equal(a.service.active, false);
      const aPolls = a.calls.get('fetchBalances');
      await a.service.refresh();
      assert.equal(a.calls.get('fetchBalances'), aPolls, 'the ex-holder polls no more');
      assert.throws(() => a.service.summary(), AccountStandbyError);
      assert.equal(b.service.balances()[0]?.venue, 'paper');
    });
  });
}
