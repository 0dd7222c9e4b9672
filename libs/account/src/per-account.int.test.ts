/**
 * `account.ownership: per_account` on NATS JetStream + Redis: two replicas, two paper
 * accounts, each replica owns one. The other's account is NOT_FOUND naming its owner. One
 * replica dies (its store hangs: it renews nothing, like kill -9); within the lease TTL the
 * survivor owns both, and the dead one's projection continues from the log: the positions
 * equal the venue's. A clean stop hands over at once.
 *
 * Over gRPC (one Service in front of both): a read for either account sent to either replica
 * answers the owner's figures (forwarded); after the owner stops, the new owner answers.
 *
 * Lease time is the paper hub's manual clock; lease rounds run every few real ms.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  AccountServiceClient,
  type GetAccountSummaryResponse,
  type GetBalancesResponse,
  type GetPositionsResponse,
  publishEnvelope,
} from '@perpmesh/contracts';
import { dec } from '@perpmesh/core';
import {
  bearerAuthInterceptor,
  createLogger,
  HealthRegistry,
  type RunningGrpcServer,
  Secret,
  startGrpcServer,
} from '@perpmesh/runtime';
import { preferredOwner, type StateStore } from '@perpmesh/state';
import { eventually, freePort, openTestBackend, type TestBackend } from '@perpmesh/testing';
import { PaperVenueHub, StaticVenueDirectory } from '@perpmesh/venues';
import { AccountNotOwnedError } from './errors.js';
import type { AccountForwarding } from './forwarding.js';
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
const PROTO_DIR = new URL('../../../proto', import.meta.url).pathname;
const TOKEN = new Secret('test-token-account-forwarding');
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
  const closers: Array<() => Promise<unknown> | unknown> = [];
  let dying: ReturnType<typeof pausable> | undefined;
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
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
    const replica = (
      holder: string,
      store: StateStore = b.state,
      forward?: AccountForwarding,
      overrides: { maxReplicas?: number; leaseRenewIntervalMs?: number } = {},
    ) => {
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
        config: {
          ...TEST_SETTINGS,
          ownership: 'per_account',
          leaseTtlMs: TTL_MS,
          leaseRenewIntervalMs: 10,
          ...overrides,
        },
        lease: { store, holder, ...(forward ? { forward } : {}) },
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
    /** A replica behind its own gRPC server, forwarding reads for accounts it does not own. */
    const servedReplica = async (
      holder: string,
      store: StateStore = b.state,
      overrides: { maxReplicas?: number; leaseRenewIntervalMs?: number } = {},
    ) => {
      const port = await freePort();
      const r = replica(
        holder,
        store,
        { address: `127.0.0.1:${port}`, authToken: TOKEN, timeoutMs: 5_000 },
        overrides,
      );
      await r.service.start();
      const server: RunningGrpcServer = await startGrpcServer({
        host: '127.0.0.1',
        port,
        services: [r.service.grpc],
        protoFiles: ['perpmesh/v1/account.proto'],
        includeDirs: [PROTO_DIR],
        authToken: TOKEN,
        logger: createLogger({ service: 'account', level: 'silent' }),
        health: r.health,
      });
      closers.push(() => server.close(100));
      const client = new AccountServiceClient(server.address, grpc.credentials.createInsecure(), {
        interceptors: [bearerAuthInterceptor(TOKEN)],
      });
      closers.push(() => client.close());
      return { ...r, server, client };
    };
    return { replica, servedReplica, trade, venueSize, projectedSize };
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
      assert.deepEqual(ownedOf(b.service), ['alt']);
      return true;
    });
    await b.service.stop();
    // No clock move: the released leases are taken on a's next rounds, not after the TTL.
    await eventually('a owns both', () => {
      assert.deepEqual(ownedOf(a.service).sort(), ['alt', 'main']);
      return true;
    });
  });

  test('over gRPC, either replica answers for both accounts (forwarded to the owner); after the owner stops, the new owner answers', async () => {
    const { servedReplica, trade, venueSize } = await setup();
    const [holderA, holderB] = splittingHolders();
    const a = await servedReplica(holderA);
    const b = await servedReplica(holderB);
    await eventually('one account each', () => {
      assert.deepEqual(ownedOf(a.service), ['main']);
      assert.deepEqual(ownedOf(b.service), ['alt']);
      return true;
    });
    await trade('main', 'main-1', '0.01');
    await trade('alt', 'alt-1', '0.02');
    const expected = { main: (await venueSize('main')) ?? '', alt: (await venueSize('alt')) ?? '' };
    assert.ok(expected.main && expected.alt, 'both accounts hold a position');
    const sameSize = (size: string | undefined, want: string) =>
      size !== undefined && dec(size).eq(dec(want));

    const positionVia = async (client: AccountServiceClient, account: 'main' | 'alt') => {
      const res = await unary<GetPositionsResponse>(client, 'getPositions', {
        venue: 'paper',
        account,
        instrument: BTC,
      });
      const views = res.positions.filter((v) => v.position?.account === account);
      assert.equal(views.length, res.positions.length, 'only the account asked for');
      return views.find((v) => v.position?.instrument === BTC)?.position?.size;
    };
    for (const [via, client] of [
      ['a', a.client],
      ['b', b.client],
    ] as const) {
      for (const account of ACCOUNTS) {
        await eventually(`${account} through ${via} answers the owner's projection`, async () =>
          sameSize(await positionVia(client, account), expected[account]),
        );
        const balances = await unary<GetBalancesResponse>(client, 'getBalances', { venue: 'paper', account });
        assert.ok(balances.balances.length > 0, `${account} balances through ${via}`);
        assert.ok(balances.balances.every((v) => v.balance?.account === account));
      }
      // Every account, gathered from both owners, with totals over both.
      const all = await unary<GetAccountSummaryResponse>(client, 'getAccountSummary', {
        venue: '',
        account: '',
      });
      assert.deepEqual(all.accounts.map((x) => x.account).sort(), ['alt', 'main'], `summary through ${via}`);
      assert.equal(all.totals.length, 1);
      assert.ok(
        dec(all.totals[0]?.equity ?? '0').eq(all.accounts.reduce((sum, x) => sum.plus(x.equity), dec(0))),
      );
    }

    // b stops (its server too): a owns alt and answers it itself.
    await b.server.close(100);
    await b.service.stop();
    await eventually('alt through a answers after b stopped', async () =>
      sameSize(await positionVia(a.client, 'alt').catch(() => undefined), expected.alt),
    );
    assert.deepEqual(ownedOf(a.service).sort(), ['alt', 'main']);
  });

  test('while nobody holds an account (its owner died, the lease lapsed, no one took it yet) a read for it is UNAVAILABLE naming it, not NOT_FOUND', async () => {
    const { servedReplica } = await setup();
    const dead = pausable((backend as TestBackend).state);
    dying = dead;
    // b takes the one member slot and owns both; a gets no slot and its next round is ~10 s
    // away: it cannot take the accounts over during the test.
    const b = await servedReplica('account/b', dead.store, { maxReplicas: 1 });
    const a = await servedReplica('account/a', undefined, {
      maxReplicas: 1,
      leaseRenewIntervalMs: TTL_MS - 1,
    });
    assert.deepEqual(ownedOf(b.service).sort(), ['alt', 'main']);
    const viaA = await unary<GetBalancesResponse>(a.client, 'getBalances', {
      venue: 'paper',
      account: 'main',
    });
    assert.ok(viaA.balances.length > 0, 'forwarded to b while it owns main');

    dead.pause(); // b renews nothing
    (hub as PaperVenueHub).advanceTo(T0 + TTL_MS + 1);
    await assert.rejects(
      unary(a.client, 'getPositions', { venue: 'paper', account: 'main', instrument: '' }),
      (err: grpc.ServiceError) =>
        err.code === grpc.status.UNAVAILABLE &&
        err.details.includes('paper/main') &&
        err.details.includes('ownership is moving'),
    );
    // A read over every account fails the same way rather than leaving accounts out.
    await assert.rejects(
      unary(a.client, 'getAccountSummary', { venue: '', account: '' }),
      (err: grpc.ServiceError) =>
        err.code === grpc.status.UNAVAILABLE && /ownership is moving/.test(err.details),
    );
  });
});

/** The accounts a replica answers for itself (those it owns). */
function ownedOf(svc: AccountService): string[] {
  return svc.summary().map((s) => s.account);
}

function unary<Res>(
  client: AccountServiceClient,
  method: 'getBalances' | 'getPositions' | 'getAccountSummary',
  request: object,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    (
      client[method] as unknown as (r: object, cb: (err: grpc.ServiceError | null, res: Res) => void) => void
    ).call(client, request, (err, res) => (err ? reject(err) : resolve(res)));
  });
}
