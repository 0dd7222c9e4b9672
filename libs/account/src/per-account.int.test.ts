/**
 * `account.ownership: per_account` on NATS JetStream + Redis: two replicas, two paper
 * accounts, each replica owns one. The other's account is NOT_FOUND naming its owner. One
 * replica dies (its store hangs: it renews nothing, like kill -9); within the lease TTL the
 * survivor owns both, and the dead one's projection continues from the log: the positions
 * equal the venue's. A clean stop hands over at once.
 *
 * Lease time is the paper hub's manual clock; lease rounds run every few real ms.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { publishEnvelope } from '@perpmesh/contracts';
import { dec } from '@perpmesh/core';
import { createLogger, HealthRegistry } from '@perpmesh/runtime';
import { preferredOwner, type StateStore } from '@perpmesh/state';
import { eventually, openTestBackend, type TestBackend } from '@perpmesh/testing';
import { PaperVenueHub, StaticVenueDirectory } from '@perpmesh/venues';
import { AccountNotOwnedError } from './errors.js';
import {
  BTC,
  fillEnvelope,
  marketOrder,
  pausable,
  sizeOf,
  T0,
  TEST_SETTINGS,
} from './scenarios.test-helper.js';
import { type AccountService, accountComponents, buildAccountService } from './service.js';

const TTL_MS = 10_000;
const ACCOUNTS = ['main', 'alt'] as const;

/** Two holder names the rendezvous hash splits the two accounts between (one each). */
function splittingHolders(): [string, string] {
  for (let i = 0; ; i++) {
    const a = `account/a${i}`;
    const b = `account/b${i}`;
    const owners = ACCOUNTS.map((acc) => preferredOwner(`paper|${acc}`, [a, b]));
    if (owners[0] !== owners[1]) return owners[0] === a ? [a, b] : [b, a];
  }
}

describe('account service, per-account ownership (nats-redis)', () => {
  let backend: TestBackend | undefined;
  let hub: PaperVenueHub | undefined;
  const services: AccountService[] = [];
  let dying: ReturnType<typeof pausable> | undefined;
  afterEach(async () => {
    dying?.resume();
    dying = undefined;
    for (const s of services.splice(0)) await s.stop();
    hub?.close();
    await backend?.close();
  });

  async function setup() {
    backend = await openTestBackend('nats-redis', { prefix: 'ACCO' });
    const b = backend;
    const h = new PaperVenueHub({
      seed: 7,
      clock: { kind: 'manual' },
      startMs: T0,
      venues: [{ venueId: 'paper' }],
      accounts: ACCOUNTS.map((accountId) => ({ venueId: 'paper', accountId, deposit: '100000' })),
    });
    hub = h;
    const replica = (holder: string, store: StateStore = b.state) => {
      const health = new HealthRegistry({ nowMs: () => h.nowMs });
      const service = buildAccountService({
        log: b.log,
        state: b.state,
        venues: new StaticVenueDirectory(ACCOUNTS.map((acc) => h.venue('paper', acc))),
        subjects: b.subjects,
        streamPrefix: b.streamPrefix,
        health,
        logger: createLogger({
          service: 'account',
          level: (process.env.LEASE_TEST_LOG ?? 'silent') as 'silent',
        }),
        nowMs: () => h.nowMs,
        source: holder,
        config: { ...TEST_SETTINGS, ownership: 'per_account', leaseTtlMs: TTL_MS, leaseRenewIntervalMs: 10 },
        lease: { store, holder },
      });
      services.push(service);
      return { service, health };
    };
    /** A market order on the venue, its fills published on exec.fill as execution would. */
    const trade = async (account: string, clientOrderId: string, size: string) => {
      const port = h.venue('paper', account);
      const order = await port.createOrder(marketOrder(clientOrderId, 'buy', size));
      const fills = (await port.fetchFills(T0)).filter((f) => f.venueOrderId === order.venueOrderId);
      assert.ok(fills.length > 0, `order ${clientOrderId} filled`);
      for (const f of fills) await publishEnvelope(b.log, fillEnvelope('paper', account, f), b.subjects);
      return sizeOf(fills);
    };
    const venueSize = async (account: string) =>
      (await h.venue('paper', account).fetchPositions()).find((p) => p.instrument === BTC)?.size.toFixed();
    const projectedSize = (svc: AccountService, account: string) => {
      const [p] = svc.positions({ venue: 'paper', account, instrument: BTC });
      return p?.source === 'projection' ? p.size.toFixed() : undefined;
    };
    return { replica, trade, venueSize, projectedSize };
  }

  test('each replica owns one account; the survivor takes a dead one’s account within the TTL, its projection continues', async () => {
    const { replica, trade, venueSize, projectedSize } = await setup();
    const [holderA, holderB] = splittingHolders(); // holderA is preferred for main, holderB for alt
    const dead = pausable((backend as TestBackend).state);
    dying = dead;
    const a = replica(holderA);
    await a.service.start();
    const b = replica(holderB, dead.store);
    await b.service.start();
    const ownedOf = (svc: AccountService) => svc.summary().map((s) => s.account);
    await eventually('one account each', () => {
      assert.deepEqual(ownedOf(a.service), ['main']);
      assert.deepEqual(ownedOf(b.service), ['alt']);
      return true;
    });
    assert.throws(
      () => a.service.balances({ venue: 'paper', account: 'alt' }),
      (err: unknown) =>
        err instanceof AccountNotOwnedError && err.code === 'NOT_FOUND' && err.message.includes(holderB),
    );
    assert.equal(a.health.component(accountComponents.balances('paper', 'alt')), undefined);

    // alt trades while b owns it: b's projection has it.
    const altFirst = await trade('alt', 'alt-1', '0.01');
    await eventually('b projects alt', () => projectedSize(b.service, 'alt') === altFirst);

    // b dies: it renews nothing. Before the TTL a keeps to its own account; after it, a owns both.
    dead.pause();
    (hub as PaperVenueHub).advanceTo(T0 + TTL_MS - 1_000);
    await a.service.refresh();
    assert.deepEqual(ownedOf(a.service), ['main'], 'not before the lease lapses');
    const altSecond = await trade('alt', 'alt-2', '0.02'); // published while nobody live owns alt
    (hub as PaperVenueHub).advanceTo(T0 + TTL_MS + 1);
    await eventually('a owns both after the TTL', () => {
      assert.deepEqual(ownedOf(a.service).sort(), ['alt', 'main']);
      return true;
    });
    // b's last good round may have completed after the clock moved to TTL - 1 s (a round in
    // flight when its store paused still finishes): a full TTL past that, by its own clock,
    // its leases have certainly lapsed.
    (hub as PaperVenueHub).advanceTo(T0 + 2 * TTL_MS + 1);
    await eventually('the dead one steps down by its own clock', () => !b.service.active);

    // alt's projection continued from the log (first fill from b's snapshot, second from the log).
    const expected = await venueSize('alt');
    assert.ok(dec(expected ?? '0').eq(dec(altFirst).plus(altSecond)), `venue size ${expected}`);
    await eventually(
      'a projects alt as the venue has it',
      () => projectedSize(a.service, 'alt') === expected,
    );
    assert.equal(a.health.component(accountComponents.lease)?.ready, true);
    assert.equal(a.service.balances({ venue: 'paper', account: 'alt' }).length > 0, true);
  });

  test('a replica whose store hung past the TTL steps down, then owns its accounts again with their readiness', async () => {
    const { replica } = await setup();
    const hung = pausable((backend as TestBackend).state);
    dying = hung;
    const a = replica('account/only', hung.store);
    await a.service.start();
    const ownedOf = (svc: AccountService) => svc.summary().map((s) => s.account);
    const fullyReady = () =>
      ACCOUNTS.every(
        (acc) => a.health.component(accountComponents.ownedProjection('paper', acc))?.ready === true,
      ) && a.health.isReady();
    await eventually('owns both, ready', () => ownedOf(a.service).length === 2 && fullyReady());

    // The store hangs: the renewal round stays pending; past the TTL by its own clock the
    // replica steps down (its accounts' work stopping while the store still hangs).
    hung.pause();
    (hub as PaperVenueHub).advanceTo(T0 + 2 * TTL_MS + 1);
    await eventually('stepped down', () => ownedOf(a.service).length === 0);
    // The store answers: the pending round renews (nobody else took the accounts) and the
    // stop of the old work finishes too. The new work must not lose its readiness to that stop.
    hung.resume();
    await eventually('owns both again, every owned component ready', () => {
      assert.deepEqual(ownedOf(a.service).sort(), ['alt', 'main']);
      assert.ok(fullyReady(), JSON.stringify(a.health.readiness()));
      return true;
    });
  });

  test('a clean stop hands the account over at once', async () => {
    const { replica } = await setup();
    const [holderA, holderB] = splittingHolders();
    const a = replica(holderA);
    await a.service.start();
    const b = replica(holderB);
    await b.service.start();
    await eventually('b owns alt', () => {
      assert.deepEqual(
        b.service.summary().map((s) => s.account),
        ['alt'],
      );
      return true;
    });
    await b.service.stop();
    // No clock move: the released leases are taken on a's next rounds, not after the TTL.
    await eventually('a owns both', () => {
      assert.deepEqual(
        a.service
          .summary()
          .map((s) => s.account)
          .sort(),
        ['alt', 'main'],
      );
      return true;
    });
  });
});
