/**
 * Two execution replicas (one process, each with its own gRPC server, one log and one state
 * store) on a strict-nonce paper venue (paper-lighter: a nonce not above the key's last is
 * refused): orders through BOTH replicas on one API key reach the venue from one owner,
 * so each is sent once and the venue sees its nonces strictly increasing. When the owner dies
 * (its store cut, its server gone: it renews nothing), the other takes the key once the lease
 * lapses, resyncs the counter from the venue, sets the account's leverage from config (as the
 * first owner did at its start), and keeps sending.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import type { EventLog } from '@perpmesh/bus';
import {
  type CancelAllOrdersResponse,
  ExecutionServiceClient,
  OrderStatus,
  OrderType,
  type PlaceOrderRequest,
  type PlaceOrderResponse,
  Side,
  TimeInForce,
} from '@perpmesh/contracts';
import { dec } from '@perpmesh/core';
import {
  bearerAuthInterceptor,
  createLogger,
  type RunningGrpcServer,
  Secret,
  startGrpcServer,
} from '@perpmesh/runtime';
import type { StateStore } from '@perpmesh/state';
import { eventually, freePort, openTestBackend, type TestBackend } from '@perpmesh/testing';
import { StaticVenueDirectory } from '@perpmesh/venues';
import { EXEC_FORWARDED_METADATA } from './forwarding.js';
import {
  BTC,
  type Exchange,
  newExchange,
  newService,
  type ServiceUnderTest,
  SpyVenue,
} from './harness.test-helper.js';
import { nonceKeyName } from './nonce-ownership.js';
import { cid } from './scenarios.test-helper.js';

const PROTO_ROOT = new URL('../../../proto/', import.meta.url).pathname;
const TOKEN = 'test-token-not-a-secret';
const VENUE = 'paper-lighter';
const TTL_MS = 3_000;
const RENEW_MS = 500;

type Client = InstanceType<typeof ExecutionServiceClient>;

interface Replica {
  readonly name: string;
  readonly svc: ServiceUnderTest;
  readonly server: RunningGrpcServer;
  readonly client: Client;
  /** A dead process: its store calls fail from now on (no renewal, no send) and its server is gone. */
  kill(): Promise<void>;
}

/** A store whose every call fails once cut (the process holding it is gone or partitioned). */
function cuttableStore(store: StateStore): { store: StateStore; cut(): void } {
  let cut = false;
  const proxy = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        cut
          ? Promise.reject(new Error('state store unreachable (replica killed)'))
          : value.apply(target, args);
    },
  });
  return { store: proxy, cut: () => (cut = true) };
}

describe('strict-nonce API keys: one owner replica, the others forward', () => {
  let backend: TestBackend;
  let ex: Exchange;
  const replicas: Replica[] = [];
  let key: string;

  async function startReplica(
    name: string,
    log: EventLog,
    state: StateStore,
    directory: StaticVenueDirectory,
  ): Promise<Replica> {
    const port = await freePort();
    const cuttable = cuttableStore(state);
    const svc = newService({
      ...backend,
      log,
      state: cuttable.store,
      directory,
      instance: name,
      realTime: true,
      // Set by the key's owner only: the first owner at its start, the survivor on takeover.
      settings: { accountSettings: [{ venue: VENUE, account: 'main', instrument: BTC, leverage: dec(5) }] },
      nonceLease: {
        store: cuttable.store,
        holder: `execution/${name}`,
        ttlMs: TTL_MS,
        renewIntervalMs: RENEW_MS,
        maxReplicas: 4,
        forward: { address: `127.0.0.1:${port}`, authToken: new Secret(TOKEN), timeoutMs: 5_000 },
      },
    });
    const server = await startGrpcServer({
      host: '127.0.0.1',
      port,
      services: [svc.service.grpc],
      protoFiles: ['perpmesh/v1/execution.proto'],
      includeDirs: [PROTO_ROOT],
      authToken: new Secret(TOKEN),
      logger: createLogger({ service: 'execution', level: 'silent' }),
      health: svc.health,
    });
    await svc.service.start();
    const client = new ExecutionServiceClient(server.address, credentials.createInsecure(), {
      interceptors: [bearerAuthInterceptor(new Secret(TOKEN))],
    });
    const replica: Replica = {
      name,
      svc,
      server,
      client,
      kill: async () => {
        cuttable.cut();
        await server.close(0);
      },
    };
    replicas.push(replica);
    return replica;
  }

  /**
   * The replica owning the key once ownership has settled: every live replica sees the same
   * members and exactly one of them owns the key (a joiner may take it from the first one).
   */
  async function settledOwner(live: readonly Replica[]): Promise<Replica> {
    let owner: Replica | undefined;
    await eventually(
      'one settled owner of the key',
      () => {
        const owners = live.filter((r) => r.svc.service.nonceKeys?.owned.includes(key));
        const seen = live.every((r) => r.svc.service.nonceKeys?.members.length === live.length);
        owner = owners.length === 1 && seen ? owners[0] : undefined;
        return owner !== undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    return owner as Replica;
  }

  /** PlaceOrder through `client`, retried while it is UNAVAILABLE (ownership moving, a dead peer). */
  async function place(client: Client, req: PlaceOrderRequest): Promise<{ res: PlaceOrderResponse }> {
    const answer = await eventually(
      `${req.clientOrderId} answered (retried while UNAVAILABLE)`,
      () =>
        new Promise<{ res: PlaceOrderResponse } | { err: ServiceError } | undefined>((resolve) =>
          client.placeOrder(req, (err: ServiceError | null, r?: PlaceOrderResponse) => {
            if (!err) resolve({ res: r as PlaceOrderResponse });
            else resolve(err.code === status.UNAVAILABLE ? undefined : { err });
          }),
        ),
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    if ('err' in answer) throw answer.err;
    return answer;
  }

  const limitBuy = async (n: number, tag: string): Promise<PlaceOrderRequest[]> => {
    const { bid } = await ex.top(VENUE);
    return Array.from({ length: n }, () => ({
      clientOrderId: cid(tag),
      venue: VENUE,
      account: 'main',
      instrument: BTC,
      side: Side.SIDE_BUY,
      type: OrderType.ORDER_TYPE_LIMIT,
      timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
      price: bid.minus(1000).toFixed(),
      size: '0.001',
      reduceOnly: false,
      correlationId: '',
    }));
  };

  /** The nonces that reached the venue since `from`, in arrival order. */
  const noncesSince = (from: number) =>
    ex
      .spy(VENUE)
      .created.slice(from)
      .map((r) => r.nonce as bigint);

  const assertStrictlyIncreasing = (nonces: bigint[]) => {
    for (let i = 1; i < nonces.length; i++)
      assert.ok(
        (nonces[i] as bigint) > (nonces[i - 1] as bigint),
        `nonce ${nonces[i]} arrived after ${nonces[i - 1]}`,
      );
  };

  before(async () => {
    backend = await openTestBackend('embedded', { prefix: 'EXNOWN' });
    ex = newExchange();
    const spy = ex.spy(VENUE);
    assert.equal(spy.capabilities.strictNonceOrder, true, 'paper-lighter is a strict-nonce venue');
    key = nonceKeyName(spy);
    await startReplica('a', backend.log, backend.state, ex.directory);
    // Replica b reaches the venue over a slower link (its orders arrive 20 ms after they are
    // sent, in order): without one owner, a nonce b took before a's arrives after it and is
    // refused as stale. The shared spy records what ARRIVES, in arrival order.
    const slow = new SpyVenue(spy);
    slow.linkDelayMs = 20;
    const bDirectory = new StaticVenueDirectory([new SpyVenue(ex.spy('paper')), slow]);
    await startReplica('b', await backend.secondLog(), await backend.secondState(), bDirectory);
    await settledOwner(replicas);
  });

  after(async () => {
    for (const r of replicas) {
      r.client.close();
      await r.server.close(0);
      await r.svc.service.stop();
    }
    ex.hub.close();
    await backend.close();
  });

  test('concurrent orders through both replicas on one key: each sent once, nonces strictly increasing at the venue', async () => {
    const owner = await settledOwner(replicas);
    const other = replicas.find((r) => r !== owner) as Replica;
    const before = ex.spy(VENUE).created.length;
    const requests = await limitBuy(40, 'own');
    const results = await Promise.all(
      requests.map((req, i) => place((i % 2 === 0 ? owner : other).client, req)),
    );
    for (const { res } of results) assert.equal(res.order?.status, OrderStatus.ORDER_STATUS_ACCEPTED);
    const nonces = noncesSince(before);
    assert.equal(nonces.length, requests.length, 'every order sent once: no stale-nonce refusal, no resend');
    assertStrictlyIncreasing(nonces);
    // Both replicas know every order (the log), whichever one sent it.
    for (const r of replicas)
      await eventually(`${r.name} follows every order`, () =>
        requests.every((q) =>
          r.svc.service.engine
            .listOpenOrders({ venue: VENUE })
            .some((o) => o.state.clientOrderId === q.clientOrderId),
        ),
      );
  });

  test('a cancel-all through the replica that does not own the key is done by the owner; a forwarded call is never forwarded again', async () => {
    const owner = await settledOwner(replicas);
    const other = replicas.find((r) => r !== owner) as Replica;
    const [req] = await limitBuy(1, 'hop');
    const marked = new Metadata();
    marked.set(EXEC_FORWARDED_METADATA, '1');
    // A call marked as forwarded reaching a replica that does not own the key: UNAVAILABLE
    // naming the owner, nothing sent (one hop only).
    const sent = ex.spy(VENUE).created.length;
    await assert.rejects(
      new Promise((resolve, reject) =>
        other.client.placeOrder(req as PlaceOrderRequest, marked, (err: ServiceError | null, r?: unknown) =>
          err ? reject(err) : resolve(r),
        ),
      ),
      (err: ServiceError) => {
        assert.equal(err.code, status.UNAVAILABLE);
        assert.match(err.details, new RegExp(`replica execution/${owner.name} owns this API key`));
        return true;
      },
    );
    assert.equal(ex.spy(VENUE).created.length, sent, 'nothing sent');
    const canceled = await new Promise<CancelAllOrdersResponse>((resolve, reject) =>
      other.client.cancelAllOrders(
        { venue: VENUE, account: 'main', instrument: '', correlationId: '' },
        (err: ServiceError | null, r?: CancelAllOrdersResponse) =>
          err ? reject(err) : resolve(r as CancelAllOrdersResponse),
      ),
    );
    assert.ok(canceled.orders.length > 0, 'the open orders of the account');
    const open = await ex.spy(VENUE).inner.fetchOpenOrders(BTC);
    assert.equal(open.length, 0, 'nothing left open at the venue');
  });

  test('the owner dies: the survivor takes the key within the lease TTL, resyncs, sets the account settings, and keeps sending', async () => {
    const owner = await settledOwner(replicas);
    const survivor = replicas.find((r) => r !== owner) as Replica;
    const spy = ex.spy(VENUE);
    const before = spy.created.length;
    const resyncsBefore = spy.calls.filter((c) => c === 'fetchNextNonce').length;
    // Every call of either replica to the strict venue reaches this spy (b's through its slow link).
    const leverageBefore = spy.leverageSet.length;
    assert.ok(leverageBefore > 0, 'the first owner set the leverage at its start');
    await owner.kill();
    await eventually(
      'the survivor owns the key',
      () => survivor.svc.service.nonceKeys?.owned.includes(key) === true,
      { timeoutMs: TTL_MS + 10_000, intervalMs: 50 },
    );
    assert.ok(
      spy.calls.filter((c) => c === 'fetchNextNonce').length > resyncsBefore,
      "the counter was resynced from the venue's next nonce before the first send",
    );
    await eventually(
      'the survivor sets the leverage from config',
      () => spy.leverageSet.length > leverageBefore,
      {
        timeoutMs: 5_000,
        intervalMs: 50,
      },
    );
    assert.equal(spy.leverageSet.at(-1), `${BTC}=5`);
    const requests = await limitBuy(20, 'after');
    const results = await Promise.all(requests.map((req) => place(survivor.client, req)));
    for (const { res } of results) assert.equal(res.order?.status, OrderStatus.ORDER_STATUS_ACCEPTED);
    const nonces = noncesSince(before);
    assert.equal(nonces.length, requests.length, 'each sent once after the takeover');
    assertStrictlyIncreasing([...noncesSince(0).slice(0, before).slice(-1), ...nonces]);
  });
});
