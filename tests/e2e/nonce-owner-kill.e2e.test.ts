/**
 * Issue 15: kill -9 of the execution PROCESS owning a strict-nonce API key, mid-stream.
 *
 * Three execution processes on one account of the strict-nonce venue (`paper-lighter`: a
 * nonce not above the key's last is refused), a recording proxy in front of the paper-venue
 * service (the nonce of every CreateOrder that really arrived, in arrival order), and client
 * workers placing orders without pause through all three replicas in turn. The key's owner is
 * killed with SIGKILL while orders are in flight on it and forwarded to it. The nonce-key
 * lease lasts 60 s here: only the early takeover of a provably dead owner (same host and pid
 * namespace, its pid gone; libs/execution nonce-ownership.ts) lets the survivors take the key
 * within the workers' 30 s retry bound. Checked from the venue's truth:
 * - every acknowledged order is at the venue exactly once, and nothing else is;
 * - the nonces that reached the venue are strictly increasing, none used twice;
 * - a survivor took the key from the dead holder's unexpired lease (the takeover time is
 *   printed, not asserted);
 * - a call to a survivor during the takeover either succeeds or is UNAVAILABLE "ownership is
 *   moving" (never INTERNAL, never another code); only calls to the killed process itself see
 *   transport errors (UNAVAILABLE too), and the client retries each with the same id;
 * - every order, including those in flight on the killed owner, leaves SUBMITTED within a
 *   bound (the survivors settle a dead replica's orders through the venue, finding 2).
 */
import assert from 'node:assert/strict';
import { loadavg } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  type GetOrderRequest,
  type GetOrderResponse,
  OrderStatus,
  type PlaceOrderRequest,
  type PlaceOrderResponse,
} from '@perpmesh/contracts';
import { sleep } from '@perpmesh/core';
import { eventually, freePort } from '@perpmesh/testing';
import type { PaperVenueClient } from '@perpmesh/venues';
import {
  ACCOUNT,
  BTC,
  call,
  E2eStack,
  type ExecutionClient,
  LIGHTER_API_KEY,
  newClientOrderId,
  orderRequest,
  type ReadyzComponent,
  type ServiceProcess,
} from './harness.js';
import { RecordingVenueProxy } from './venue-proxy.js';

const REPLICAS = 3;
const WORKERS = 4;
const VENUE = 'paper-lighter';
const KEY = `${VENUE}|${ACCOUNT}|${LIGHTER_API_KEY}`;
/**
 * The nonce-key lease: far longer than the workers retry, so waiting for the dead owner's
 * lease to lapse fails the test. `notFoundAfter`: how long the venue must not know an order
 * whose placement may have been sent before it is REJECTED (default 60 s): an order the
 * killed owner marked sent and never got out waits for it (finding 2's bound).
 */
const EXECUTION_ENV = {
  PERPMESH__EXECUTION__NONCE_KEYS__LEASE_TTL: '60s',
  PERPMESH__EXECUTION__NONCE_KEYS__LEASE_RENEW_INTERVAL: '1s',
  PERPMESH__EXECUTION__NOT_FOUND_AFTER: '8s',
};
const ACKS_BEFORE_KILL = 12;
const ACKS_AFTER_KILL = 24;
/** How long a worker retries one order (same client order id) while it is UNAVAILABLE. */
const RETRY_BOUND_MS = 30_000;
const CALL_DEADLINE_MS = 10_000;
/** A client's pause before retrying an UNAVAILABLE on the next replica (load behaviour, not a wait for a condition). */
const CLIENT_RETRY_BACKOFF_MS = 50;
/**
 * An order in flight on the killed owner is settled by a survivor within this: found
 * unhandled after `pendingClaimTakeover` (5 s), then asked at the venue for `notFoundAfter`
 * (8 s) when its claim says it may have been sent; plus the load's slack.
 */
const SETTLE_BOUND_MS = 40_000;

interface Attempt {
  replica: number;
  startedMs: number;
  endedMs: number;
  code?: number;
  details?: string;
}

interface PlacedOrder {
  req: PlaceOrderRequest;
  firstTriedMs: number;
  attempts: Attempt[];
  answer?: PlaceOrderResponse;
  /** Set when the worker gave up (an error other than UNAVAILABLE, or the retry bound). */
  failure?: string;
}

/** The nonce-keys readiness component of a replica, or undefined when it does not answer. */
async function nonceKeys(replica: ServiceProcess): Promise<ReadyzComponent | undefined> {
  const seen = await replica.readyz();
  return seen?.body.components.find((c) => c.name === 'execution/nonce-keys');
}

function ownsKey(component: ReadyzComponent | undefined): boolean {
  const detail = component?.detail as { owns?: string[] } | undefined;
  return detail?.owns?.includes(KEY) === true;
}

describe('kill -9 of the execution process owning a strict-nonce key, mid-stream', () => {
  let stack: E2eStack;
  let proxy: RecordingVenueProxy;
  let lighter: PaperVenueClient;
  let clients: ExecutionClient[];

  before(async () => {
    const proxyPort = await freePort();
    stack = await E2eStack.create({ executionReplicas: REPLICAS, paperAddress: `127.0.0.1:${proxyPort}` });
    stack.paperVenue.start();
    await stack.paperVenue.waitReady({ timeoutMs: 60_000 });
    proxy = await RecordingVenueProxy.start(stack.paperAddress, proxyPort);
    stack.onClose(() => proxy.close());
    for (const replica of stack.executions) replica.start({ env: EXECUTION_ENV });
    await Promise.all(stack.executions.map((replica) => replica.waitReady({ timeoutMs: 60_000 })));
    lighter = await stack.venue(VENUE);
    clients = stack.executions.map((_, i) => stack.executionClient(i));
  });

  after(async () => {
    await stack?.close();
  });

  test('the survivors take the key from the dead owner at once; every acknowledged order is at the venue once, nonces strictly increasing, nothing stuck', async (t) => {
    // One owner, seen by all three as a member.
    let ownerIndex = -1;
    await eventually(
      'one replica owns the key and every replica sees three members',
      async () => {
        const views = await Promise.all(stack.executions.map(nonceKeys));
        const owners = views.flatMap((v, i) => (ownsKey(v) ? [i] : []));
        const members = views.map((v) => (v?.detail as { members?: string[] } | undefined)?.members?.length);
        ownerIndex = owners.length === 1 ? (owners[0] as number) : -1;
        return ownerIndex >= 0 && members.every((n) => n === REPLICAS);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const owner = stack.executions[ownerIndex] as ServiceProcess;
    const survivors = stack.executions.filter((_, i) => i !== ownerIndex);
    const nextNonceBefore = (await lighter.fetchNextNonce?.()) ?? 0n;

    const orders: PlacedOrder[] = [];
    let killedAtMs: number | undefined;
    let stopping = false;
    const acked = () => orders.filter((o) => o.answer !== undefined);
    const ackedAfterKill = () =>
      orders.filter((o) => o.answer !== undefined && killedAtMs !== undefined && o.firstTriedMs > killedAtMs);

    /** One order to the end: the same client order id through the replicas in turn while UNAVAILABLE. */
    const placeOne = async (worker: number, n: number): Promise<void> => {
      const req = orderRequest({
        venue: VENUE,
        clientOrderId: newClientOrderId(`own${worker}`),
        price: String(35_000 + (orders.length % 500)),
      });
      const order: PlacedOrder = { req, firstTriedMs: Date.now(), attempts: [] };
      orders.push(order);
      for (let tries = 0; Date.now() - order.firstTriedMs < RETRY_BOUND_MS; tries++) {
        const replica = (worker + n + tries) % REPLICAS;
        const attempt: Attempt = { replica, startedMs: Date.now(), endedMs: 0 };
        order.attempts.push(attempt);
        const client = clients[replica] as ExecutionClient;
        try {
          order.answer = await new Promise<PlaceOrderResponse>((resolve, reject) =>
            client.placeOrder(
              req,
              new Metadata(),
              { deadline: new Date(Date.now() + CALL_DEADLINE_MS) },
              (err, res) => (err ? reject(err) : resolve(res as PlaceOrderResponse)),
            ),
          );
          attempt.endedMs = Date.now();
          return;
        } catch (err) {
          const e = err as ServiceError;
          Object.assign(attempt, { endedMs: Date.now(), code: e.code, details: e.details });
          if (e.code !== 14) {
            order.failure = `${e.code} ${e.details}`;
            return;
          }
          await sleep(CLIENT_RETRY_BACKOFF_MS);
        }
      }
      order.failure = `still UNAVAILABLE after ${RETRY_BOUND_MS} ms`;
    };
    const worker = async (w: number) => {
      for (let n = 0; !stopping; n++) await placeOne(w, n);
    };
    const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));

    await eventually(
      `${ACKS_BEFORE_KILL} orders acknowledged before the kill`,
      () => acked().length >= ACKS_BEFORE_KILL,
      {
        timeoutMs: 30_000,
        intervalMs: 20,
      },
    );
    const inFlightAtKill = orders.filter((o) => o.answer === undefined && o.failure === undefined).length;
    killedAtMs = Date.now();
    await owner.kill9();
    await eventually(
      `${ACKS_AFTER_KILL} orders first tried after the kill acknowledged`,
      () => ackedAfterKill().length >= ACKS_AFTER_KILL || orders.some((o) => o.failure !== undefined),
      { timeoutMs: RETRY_BOUND_MS + CALL_DEADLINE_MS, intervalMs: 20 },
    );
    stopping = true;
    await Promise.all(workers);
    const killedAt = killedAtMs;

    // --- the takeover: from the dead holder's unexpired lease, timed for the record ----------
    const takenOver = survivors.flatMap((s) =>
      s.logs.filter(
        (l) => l.msg === 'nonce key taken over' && l.key === KEY && Date.parse(String(l.time)) >= killedAt,
      ),
    );
    const provedDead = survivors.flatMap((s) =>
      s.logs.filter((l) => String(l.msg).startsWith('execution replica provably dead')),
    );
    const ownedAgain = survivors
      .flatMap((s) =>
        s.logs.filter(
          (l) =>
            l.msg === 'nonce key owned: counter resynced from the venue; sending from here' &&
            Date.parse(String(l.time)) >= killedAt,
        ),
      )
      .map((l) => Date.parse(String(l.time)))
      .sort((a, b) => a - b);
    const firstAckAfterKill = ackedAfterKill()
      .map((o) => o.attempts.at(-1)?.endedMs ?? Number.POSITIVE_INFINITY)
      .sort((a, b) => a - b)[0];
    const takeoverMs = (ownedAgain[0] ?? Number.NaN) - killedAt;
    t.diagnostic(
      `load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(
          ' ',
        )}; owner ${owner.label} killed with ${inFlightAtKill} order(s) in flight; a survivor owned the key ${takeoverMs} ms after the kill (lease TTL 60 s); first order placed after the kill acknowledged after ${(firstAckAfterKill ?? Number.NaN) - killedAt} ms`,
    );
    assert.equal(provedDead.length > 0, true, 'a survivor proved the killed owner dead');
    assert.equal(takenOver.length, 1, 'one survivor took the key over from the dead holder');
    assert.match(String(takenOver[0]?.from), / \(host \S+ pid \d+ start \d+ boot \S+ pidns \d+\)$/);
    assert.equal(ownedAgain.length, 1, 'one survivor owns the key afterwards');

    // --- what the clients were told -----------------------------------------------------------
    const failures = orders
      .filter((o) => o.failure !== undefined)
      .map((o) => `${o.req.clientOrderId}: ${o.failure}`);
    assert.deepEqual(
      failures,
      [],
      'every order was answered within the retry bound, never with another code',
    );
    const errors = orders.flatMap((o) => o.attempts.filter((a) => a.code !== undefined));
    const fromSurvivors = errors.filter((a) => a.replica !== ownerIndex);
    const fromKilled = errors.filter((a) => a.replica === ownerIndex);
    t.diagnostic(
      `${orders.length} orders, ${acked().length} acknowledged; errors: ${fromSurvivors.length} from survivors (${[
        ...new Set(
          fromSurvivors.map((a) => a.details?.replace(/[0-9a-f]{6} \(host.*?\)/g, '<holder>').slice(0, 120)),
        ),
      ].join(' | ')}), ${fromKilled.length} from the killed process`,
    );
    for (const a of fromSurvivors) {
      assert.equal(a.code, 14, `UNAVAILABLE, not ${a.code}: ${a.details}`);
      assert.match(String(a.details), /ownership is moving/, 'a survivor says the key is moving');
    }
    for (const a of fromKilled) assert.equal(a.code, 14, `the killed process: ${a.code} ${a.details}`);

    // --- nobody stuck SUBMITTED: GetOrder through a survivor ---------------------------------
    const survivorClient = clients[
      stack.executions.indexOf(survivors[0] as ServiceProcess)
    ] as ExecutionClient;
    /** Why a settled order ended as it did (a REJECTED one's reason). */
    const reasons = new Map<string, string>();
    const statusOf = async (o: PlacedOrder) => {
      const { order } = await call<GetOrderRequest, GetOrderResponse>(
        survivorClient.getOrder.bind(survivorClient),
        {
          venue: VENUE,
          account: ACCOUNT,
          instrument: BTC,
          orderId: { $case: 'clientOrderId', value: o.req.clientOrderId },
        },
      );
      if (order?.reason) reasons.set(o.req.clientOrderId, order.reason);
      return order?.status;
    };
    const final = new Map<string, OrderStatus | undefined>();
    const lastSeen = new Map<string, string>();
    try {
      await eventually(
        'every order settled (none SUBMITTED)',
        async () => {
          for (const o of orders) {
            if (final.has(o.req.clientOrderId)) continue;
            const s = await statusOf(o).catch((err: unknown) => {
              lastSeen.set(o.req.clientOrderId, String((err as ServiceError).details ?? err));
              return undefined;
            });
            if (s !== undefined) lastSeen.set(o.req.clientOrderId, OrderStatus[s]);
            if (s !== undefined && s !== OrderStatus.ORDER_STATUS_SUBMITTED)
              final.set(o.req.clientOrderId, s);
          }
          return final.size === orders.length;
        },
        { timeoutMs: SETTLE_BOUND_MS, intervalMs: 250 },
      );
    } catch (err) {
      const open = new Set((await lighter.fetchOpenOrders(BTC)).map((o) => o.clientOrderId));
      const stuck = orders
        .filter((o) => !final.has(o.req.clientOrderId))
        .map((o) => {
          const cid = o.req.clientOrderId;
          const tries = o.attempts.map((a) => `${a.replica}:${a.code ?? 'ok'}`).join(',');
          const answer = o.answer?.order
            ? `${OrderStatus[o.answer.order.status]} replayed=${o.answer.replayed}`
            : 'none';
          return `${cid}: now ${lastSeen.get(cid)}; answer ${answer}; tries ${tries}; at venue ${open.has(cid)}; sent ${proxy.sent.filter((s) => s.clientOrderId === cid).length}`;
        });
      throw new Error(
        `${String(err)}\n${stuck.join('\n')}\nkilled ${ownerIndex}\n${survivors.map((s) => s.describe(40)).join('\n')}`,
      );
    }

    // --- the venue's truth --------------------------------------------------------------------
    const open = (await lighter.fetchOpenOrders(BTC)).map((o) => o.clientOrderId);
    const openOnce = new Set(open);
    assert.equal(open.length, openOnce.size, 'no client order id twice at the venue');
    const accepted = orders
      .filter((o) => final.get(o.req.clientOrderId) === OrderStatus.ORDER_STATUS_ACCEPTED)
      .map((o) => o.req.clientOrderId);
    assert.deepEqual([...open].sort(), [...accepted].sort(), 'the venue holds exactly the accepted orders');
    for (const o of acked()) {
      if (o.answer?.order?.status === OrderStatus.ORDER_STATUS_ACCEPTED)
        assert.ok(
          openOnce.has(o.req.clientOrderId),
          `${o.req.clientOrderId} acknowledged ACCEPTED is at the venue`,
        );
    }
    const rejected = orders.filter(
      (o) => final.get(o.req.clientOrderId) === OrderStatus.ORDER_STATUS_REJECTED,
    );
    t.diagnostic(
      `${accepted.length} accepted and open at the venue; ${rejected.length} rejected (${rejected
        .map((o) => reasons.get(o.req.clientOrderId) ?? '')
        .join('; ')})`,
    );

    const sent = proxy.sent.filter((s) => s.venue === VENUE);
    const nonces = sent.map((s) => BigInt(s.nonce));
    const twice = nonces.filter((n, i) => nonces.indexOf(n) !== i);
    assert.deepEqual(twice, [], 'no nonce reached the venue twice');
    for (let i = 1; i < nonces.length; i++)
      assert.ok(
        (nonces[i] as bigint) > (nonces[i - 1] as bigint),
        `nonce ${nonces[i]} arrived after ${nonces[i - 1]}`,
      );
    assert.ok(
      nonces.every((n) => n >= nextNonceBefore),
      'no nonce below the venue next nonce at the start',
    );
    const sentCids = sent.map((s) => s.clientOrderId);
    t.diagnostic(
      `${sent.length} CreateOrder sends for ${orders.length} orders (${sentCids.length - new Set(sentCids).size} resends)`,
    );

    for (const s of survivors) await s.stop();
    await stack.paperVenue.stop();
  });
});
