/**
 * Order round trip through real processes (paper-venue + execution on NATS and Redis,
 * started like the e2e tests): PlaceOrder sent -> its ACCEPTED event seen on the log, as a
 * ratio to raw gRPC unary round trips to the same execution process measured in the same
 * run, interleaved so drift on a shared machine hits all alike:
 *   - grpc.health.v1.Health/Check (no auth, no domain code: the transport floor),
 *   - ExecutionService/GetOrder (auth + a lookup in memory: a unary call that does nothing),
 *   - the raw floor of a placement: the hops it cannot avoid, done raw one after another —
 *     gRPC Health/Check to execution and to the paper venue (the two unary calls), two
 *     JetStream publish-acks of a ~300 B message (write-ahead SUBMITTED, then ACCEPTED) and
 *     two Redis round trips (SET NX PX claim, then SET XX mark). PlaceOrder / floor is the
 *     ratio issue #16 targets (p50 <= 1.5x, p99 <= 2x).
 *
 * Also: each raw hop on its own (p50 and mean, next to execution's stage means from
 * /metrics), the venue call done raw (createOrder straight to the paper venue from here:
 * the venue hop with the venue's own work), and orders/s with 16 and 64 in flight with the
 * CPU each process spent per order (from /proc), which is what bounds throughput here; the
 * same in-flight orders through two execution processes behind a round-robin client, against
 * one process, in the same run.
 *
 *   node --import tsx --conditions=@perpmesh/source bench/orders.bench.ts
 *   ORDERS_BENCH_N=500 ... (orders per row, default 200)
 *   ORDERS_BENCH_AB_ROUNDS=0 ... (skip the off/on rows of a switch, default 1 round)
 *   ORDERS_BENCH_AB=publish-acks|venue-batching|publish-batching|redis-pipelining|mark-with-write-ahead
 *     (which switch the off/on rows test, default publish-acks: nats.js js.publish (off) or the
 *     shared ack subscription (on, libs/bus publish-acks.ts) for execution's publishes;
 *     venue-batching: concurrent orders to the paper venue one createOrder each (off) or one
 *     createOrders per turn (on, libs/execution venue-batcher.ts); mark-with-write-ahead: the
 *     claim's mark after the write-ahead (off) or at once with it (on); paper-stream-flush: the
 *     paper venue writes each stream event as its port emits it (off) or a turn's events after
 *     the turn's unary answers (on, libs/venues paper-service/server.ts), paper-venue restarted
 *     with it). The one-at-a-time rows
 *     of a switch time the raw floor interleaved with the orders, so each has its own ratio.
 *   ORDERS_BENCH_AB_INTERLEAVED=300 ... (an execution switch's off and on in two processes at
 *     once, lone orders alternating with the raw floor between them; default 0 = skip)
 *   ORDERS_BENCH_REPLICA_ROUNDS=0 ... (skip one vs two execution processes, default 1 round)
 *   ORDERS_BENCH_WARMUP=1024 ... (orders an execution process gets before its in-flight rows are timed)
 *   ORDERS_BENCH_IN_FLIGHT_PER_SLOT=32 ... (orders per in-flight slot in a timed in-flight row)
 *
 * Uses NATS_URL / REDIS_URL (else the local defaults), its own namespace, cleans up.
 * Prints numbers; asserts nothing about time.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client, credentials, type ServiceError } from '@grpc/grpc-js';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { NATS_PUBLISH_ACKS_ENV, NatsEventLog } from '@perpmesh/bus';
import {
  type CancelAllOrdersRequest,
  type CancelAllOrdersResponse,
  decodeEnvelope,
  type GetOrderRequest,
  type GetOrderResponse,
  type ListOpenOrdersRequest,
  type ListOpenOrdersResponse,
  OrderEventKind,
  type PlaceOrderRequest,
} from '@perpmesh/contracts';
import { Decimal } from '@perpmesh/core';
import {
  EXEC_MARK_WITH_WRITE_AHEAD_ENV,
  EXEC_PUBLISH_BATCHING_ENV,
  EXEC_VENUE_BATCHING_ENV,
} from '@perpmesh/execution';
import { REDIS_AUTO_PIPELINING_ENV } from '@perpmesh/state';
import { eventually } from '@perpmesh/testing';
import { PAPER_STREAM_FLUSH_ENV } from '@perpmesh/venues';
import { Redis } from 'ioredis';
import {
  ACCOUNT,
  BTC,
  call,
  E2eStack,
  type ExecutionClient,
  newClientOrderId,
  orderRequest,
  placeOrder,
} from '../tests/e2e/harness.js';
import { healthCheck } from './grpc-health.js';
import { cpuMs, ioSyscalls } from './proc-stats.js';

process.env.NATS_URL ??= 'nats://127.0.0.1:4222';
process.env.REDIS_URL ??= 'redis://127.0.0.1:6379';

const N = Number(process.env.ORDERS_BENCH_N ?? 200);
const WARMUP = 20;
const WINDOWS = [16, 64] as const;
/** Rounds of a switch's before/after (execution restarted with it off, then on, per round). */
const AB_ROUNDS = Number(process.env.ORDERS_BENCH_AB_ROUNDS ?? 1);
/** The switches the before/after can test: each an env var execution reads at start, its before and after value. */
const AB_SWITCHES = {
  'venue-batching': { env: EXEC_VENUE_BATCHING_ENV, off: 'off', on: 'on' },
  'publish-batching': { env: EXEC_PUBLISH_BATCHING_ENV, off: 'off', on: 'on' },
  'redis-pipelining': { env: REDIS_AUTO_PIPELINING_ENV, off: 'off', on: 'on' },
  'publish-acks': { env: NATS_PUBLISH_ACKS_ENV, off: 'nats-js', on: 'shared' },
  'mark-with-write-ahead': { env: EXEC_MARK_WITH_WRITE_AHEAD_ENV, off: 'sequential', on: 'concurrent' },
  // Read by paper-venue: it is restarted with the switch (a fresh hub), then execution.
  'paper-stream-flush': { env: PAPER_STREAM_FLUSH_ENV, off: 'event', on: 'turn', process: 'paper-venue' },
} as const;
const AB_SWITCH = (process.env.ORDERS_BENCH_AB ?? 'publish-acks') as keyof typeof AB_SWITCHES;
if (!(AB_SWITCH in AB_SWITCHES)) {
  throw new Error(`ORDERS_BENCH_AB must be one of ${Object.keys(AB_SWITCHES).join(', ')}, got ${AB_SWITCH}`);
}
const PUBLISH_BATCH_METRIC = 'perpmesh_exec_publish_batch_events';
const VENUE_BATCH_METRIC = 'perpmesh_exec_venue_batch_orders';
/**
 * Orders per setting of an execution switch timed in ONE phase: two execution processes, one
 * with the switch off and one with it on, lone orders alternating between them with the raw
 * floor timed between, so load changes hit both settings alike (0 = skip).
 */
const INTERLEAVED_N = Number(process.env.ORDERS_BENCH_AB_INTERLEAVED ?? 0);
/** Rounds of one execution process vs two behind a round-robin client. */
const REPLICA_ROUNDS = Number(process.env.ORDERS_BENCH_REPLICA_ROUNDS ?? 1);
/** Distinct prices of the resting bench orders (each far below the seeded market's ~60,000). */
const PRICE_LEVELS = 10_000;
/**
 * The price of the `n`th resting order from `base` up, in a cycle: a run of many rows places
 * tens of thousands, and a price climbing without end would reach the market.
 */
const restingPrice = (base: number, n: number): number => base + (n % PRICE_LEVELS);
/**
 * Orders per in-flight slot in a timed in-flight row (at least ORDERS_BENCH_N): 2,048 at 64 in
 * flight, about a second (512 before session 8: ~0.3 s, too short to say much on a shared machine).
 */
const IN_FLIGHT_ORDERS_PER_SLOT = Number(process.env.ORDERS_BENCH_IN_FLIGHT_PER_SLOT ?? 32);
/** The harness's paper venue that demands an increasing nonce per API key. */
const NONCE_VENUE = 'paper-lighter';

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

/** Waiters for the ACCEPTED event of a client order id, fed by one tail of the EXEC stream. */
class AcceptedWaiters {
  readonly #waiting = new Map<string, () => void>();
  readonly #seen = new Set<string>();

  onEvent(data: Uint8Array): void {
    const payload = decodeEnvelope(data).payload;
    if (payload?.$case !== 'orderEvent' || payload.value.kind !== OrderEventKind.ORDER_EVENT_KIND_ACCEPTED)
      return;
    const cid = payload.value.order?.clientOrderId ?? '';
    const resolve = this.#waiting.get(cid);
    if (resolve) {
      this.#waiting.delete(cid);
      resolve();
    } else {
      this.#seen.add(cid);
    }
  }

  // Generous: right after an execution restart (the off/on rows) it replays and reconciles.
  wait(cid: string, timeoutMs = 30_000): Promise<void> {
    if (this.#seen.delete(cid)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(cid);
        reject(new Error(`no ACCEPTED event for ${cid} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(cid, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** perpmesh_execution_order_stage_seconds as read from a /metrics page: per stage, sum, count and buckets. */
interface StageSnapshot {
  readonly sums: Map<string, number>;
  readonly counts: Map<string, number>;
  readonly buckets: Map<string, Array<{ le: number; count: number }>>;
}

async function readStages(httpUrl: string): Promise<StageSnapshot> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const read = (suffix: string): Map<string, number> => {
    const out = new Map<string, number>();
    const re = new RegExp(
      `^perpmesh_execution_order_stage_seconds_${suffix}\\{[^}]*stage="([a-z_]+)"[^}]*\\} (\\S+)$`,
      'gm',
    );
    for (const m of text.matchAll(re)) out.set(m[1] as string, Number(m[2]));
    return out;
  };
  const buckets = new Map<string, Array<{ le: number; count: number }>>();
  const bucketRe = /^perpmesh_execution_order_stage_seconds_bucket\{([^}]*)\} (\S+)$/gm;
  for (const m of text.matchAll(bucketRe)) {
    const stage = /stage="([a-z_]+)"/.exec(m[1] as string)?.[1];
    const le = /le="([^"]+)"/.exec(m[1] as string)?.[1];
    if (stage === undefined || le === undefined || le === '+Inf') continue;
    const list = buckets.get(stage) ?? [];
    list.push({ le: Number(le), count: Number(m[2]) });
    buckets.set(stage, list);
  }
  return { sums: read('sum'), counts: read('count'), buckets };
}

/**
 * Mean and p50 (interpolated inside its histogram bucket, so approximate) ms per stage of
 * perpmesh_execution_order_stage_seconds, read from a /metrics page: since the process
 * started, or of the orders between `since` and now.
 */
async function stageMeans(httpUrl: string, since?: StageSnapshot): Promise<string> {
  const now = await readStages(httpUrl);
  const minus = (m: Map<string, number>, base: Map<string, number> | undefined) =>
    new Map([...m].map(([stage, v]) => [stage, v - (base?.get(stage) ?? 0)]));
  const sums = minus(now.sums, since?.sums);
  const counts = minus(now.counts, since?.counts);
  const bucketsOf = (stage: string) =>
    (now.buckets.get(stage) ?? []).map(({ le, count }) => ({
      le,
      count: count - (since?.buckets.get(stage)?.find((b) => b.le === le)?.count ?? 0),
    }));
  const p50 = (stage: string, n: number): string => {
    let lower = 0;
    let below = 0;
    for (const { le, count } of bucketsOf(stage).sort((x, y) => x.le - y.le)) {
      if (count >= n / 2)
        return ((lower + ((n / 2 - below) / Math.max(1, count - below)) * (le - lower)) * 1000).toFixed(2);
      lower = le;
      below = count;
    }
    return `>${(lower * 1000).toFixed(0)}`;
  };
  return [...counts]
    .filter(([, n]) => n > 0)
    .map(
      ([stage, n]) =>
        `  ${stage.padEnd(20)} mean ${(((sums.get(stage) ?? 0) / n) * 1000).toFixed(3)} ms  p50 ~${p50(stage, n)} ms  (${n})`,
    )
    .join('\n');
}

/** Exec events and calls to the log so far (perpmesh_exec_publish_batch_events; 0 when not batching). */
/** A batch histogram of execution's /metrics: items (events, orders) and calls so far. */
async function batchCounts(httpUrl: string, histogram: string): Promise<{ items: number; calls: number }> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const read = (suffix: string): number =>
    Number(new RegExp(`^${histogram}_${suffix}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { items: read('sum'), calls: read('count') };
}

/** Items per call between two readings of a batch histogram, as a row's suffix. */
function perCall(
  before: { items: number; calls: number },
  after: { items: number; calls: number },
  what: string,
): string {
  const calls = after.calls - before.calls;
  return calls > 0 ? `, ${((after.items - before.items) / calls).toFixed(2)} ${what}` : '';
}

/** What the bench is doing, for the failure message. */
let phase = 'start';

async function main(): Promise<void> {
  const stack = await E2eStack.create({
    executionReplicas: REPLICA_ROUNDS > 0 || INTERLEAVED_N > 0 ? 2 : 1,
  });
  const health = new Client(`127.0.0.1:${stack.ports.execution[0]?.grpc}`, credentials.createInsecure());
  let log: NatsEventLog | undefined;
  const rawCleanup: Array<() => Promise<void>> = [];
  try {
    stack.paperVenue.start();
    await stack.paperVenue.waitReady();
    stack.execution.start();
    await stack.execution.waitReady();
    const exec: ExecutionClient = stack.executionClient();
    log = await NatsEventLog.connect({ servers: stack.natsUrl, name: 'orders-bench' });
    const waiters = new AcceptedWaiters();
    await log.tail(stack.filter('exec.order.>'), { from: 'new' }, async (msg) => waiters.onEvent(msg.data));

    // A resting order for GetOrder to find, far below the market so it never fills.
    let placed = 0;
    const nextOrder = (venue = 'paper'): PlaceOrderRequest =>
      orderRequest({
        venue,
        clientOrderId: newClientOrderId('bench'),
        price: String(restingPrice(30_000, placed++)),
      });
    const anchor = nextOrder();
    await placeOrder(exec, anchor);
    const getOrder = (): Promise<GetOrderResponse> =>
      call<GetOrderRequest, GetOrderResponse>(exec.getOrder.bind(exec), {
        venue: 'paper',
        account: ACCOUNT,
        instrument: BTC,
        orderId: { $case: 'clientOrderId', value: anchor.clientOrderId },
      });
    const roundTrip = async (
      venue = 'paper',
      client = exec,
    ): Promise<{ answerMs: number; eventMs: number }> => {
      const req = nextOrder(venue);
      const seen = waiters.wait(req.clientOrderId);
      const start = performance.now();
      await placeOrder(client, req);
      const answerMs = performance.now() - start;
      await seen.catch(async (err: unknown) => {
        // Say what execution knows of the order: answered but no event, or no order at all.
        const known = await call<GetOrderRequest, GetOrderResponse>(exec.getOrder.bind(exec), {
          venue,
          account: ACCOUNT,
          instrument: BTC,
          orderId: { $case: 'clientOrderId', value: req.clientOrderId },
        }).then(
          (r) =>
            `status ${String(r.order?.status)} (OrderStatus)${r.order?.reason ? `, reason ${JSON.stringify(r.order.reason)}` : ''}, price ${req.price}`,
          (e: unknown) => String((e as ServiceError).details ?? e),
        );
        throw new Error(`${(err as Error).message}; execution has it as ${known}`);
      });
      return { answerMs, eventMs: performance.now() - start };
    };
    const timed = async (op: () => Promise<unknown>): Promise<number> => {
      const start = performance.now();
      await op();
      return performance.now() - start;
    };

    // The raw floor's own connections and stream (deleted at the end).
    const venueHealth = new Client(`127.0.0.1:${stack.ports.paperVenue.grpc}`, credentials.createInsecure());
    const nc = await connect({ servers: stack.natsUrl, noAsyncTraces: true, name: 'orders-bench-raw' });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const rawStream = `BENCHRAW_${process.pid}`;
    const rawSubject = `benchraw.${process.pid}`;
    await jsm.streams.add({ name: rawStream, subjects: [rawSubject], storage: StorageType.File });
    const redis = new Redis(stack.redisUrl);
    const payload = new Uint8Array(300).fill(7);
    const redisKey = `bench:orders:${process.pid}`;
    rawCleanup.push(async () => {
      venueHealth.close();
      await jsm.streams.delete(rawStream).catch(() => undefined);
      await nc.close();
      await redis.del(redisKey).catch(() => undefined);
      redis.disconnect();
    });
    // Each hop of the floor timed on its own too (sequential phase only), to set beside the stage means.
    const HOPS = [
      'gRPC unary to execution',
      'Redis SET NX (claim)',
      'JetStream publish-ack (SUBMITTED)',
      'Redis SET XX (mark)',
      'gRPC unary to paper venue',
      'JetStream publish-ack (ACCEPTED)',
    ] as const;
    const hopMs: number[][] = HOPS.map(() => []);
    let timeHops = false;
    const hop = async (n: number, op: () => Promise<unknown>): Promise<void> => {
      const start = performance.now();
      await op();
      if (timeHops) hopMs[n]?.push(performance.now() - start);
    };
    /** The six hops one after another, with `venueHop` as the venue's. */
    const floorWith = (venueHop: () => Promise<unknown>) => async (): Promise<void> => {
      await hop(0, () => healthCheck(health));
      await hop(1, () => redis.set(redisKey, randomUUID(), 'PX', 60_000, 'NX'));
      await hop(2, () => js.publish(rawSubject, payload, { msgID: randomUUID() }));
      await hop(3, () => redis.set(redisKey, randomUUID(), 'PX', 60_000, 'XX'));
      await hop(4, venueHop);
      await hop(5, () => js.publish(rawSubject, payload, { msgID: randomUUID() }));
    };
    const rawFloor = floorWith(() => healthCheck(venueHealth));

    // The venue call done raw: createOrder straight to the paper venue (same account, a resting
    // order far below the market), i.e. the venue hop plus the venue's own work, without execution.
    const venue = await stack.venue('paper');
    let venuePrice = 0;
    const venueCreate = () =>
      venue.createOrder({
        instrument: BTC,
        clientOrderId: newClientOrderId('benchvenue'),
        side: 'buy',
        type: 'limit',
        timeInForce: 'gtc',
        price: new Decimal(restingPrice(20_000, venuePrice++)),
        size: new Decimal(anchor.size),
        reduceOnly: false,
      });

    // The same floor with the venue hop as the placement the path must make (the raw createOrder:
    // the hop plus the venue's own work, which a Health call leaves out); run while hops are untimed.
    const rawFloorWithVenueWork = floorWith(venueCreate);

    for (let i = 0; i < WARMUP; i++) {
      await rawFloor();
      await rawFloorWithVenueWork();
      await healthCheck(health);
      await getOrder();
      await venueCreate();
      await roundTrip();
    }

    const floorMs: number[] = [];
    const floorVenueWorkMs: number[] = [];
    const healthMs: number[] = [];
    const getOrderMs: number[] = [];
    const venueCreateMs: number[] = [];
    const answerMs: number[] = [];
    const eventMs: number[] = [];
    for (let i = 0; i < N; i++) {
      timeHops = true;
      floorMs.push(await timed(rawFloor));
      timeHops = false;
      floorVenueWorkMs.push(await timed(rawFloorWithVenueWork));
      healthMs.push(await timed(() => healthCheck(health)));
      getOrderMs.push(await timed(getOrder));
      venueCreateMs.push(await timed(venueCreate));
      const r = await roundTrip();
      answerMs.push(r.answerMs);
      eventMs.push(r.eventMs);
    }

    // Throughput with `window` calls in flight: orders (to ACCEPTED on the log) vs Health checks.
    const perSecond = async (window: number, total: number, op: () => Promise<unknown>): Promise<number> => {
      let issued = 0;
      const worker = async (): Promise<void> => {
        while (issued < total) {
          issued++;
          await op();
        }
      };
      const start = performance.now();
      await Promise.all(Array.from({ length: window }, worker));
      return total / ((performance.now() - start) / 1000);
    };
    // Read before the in-flight phase: these means are of one order at a time (plus warm-up).
    phase = 'after the sequential rows';
    const sequentialStages = await stageMeans(stack.execution.httpUrl);
    // Every bench order rests at the venue and holds margin: between phases the resting orders
    // are canceled (through execution, and the raw ones at the venue) and execution has seen
    // every cancel before the next phase is timed.
    const freeMargin = async (): Promise<void> => {
      for (const v of ['paper', NONCE_VENUE]) {
        await call<CancelAllOrdersRequest, CancelAllOrdersResponse>(exec.cancelAllOrders.bind(exec), {
          venue: v,
          account: ACCOUNT,
          instrument: '',
        });
      }
      // The raw createOrder ones (only on `paper`: the strict-nonce venue's are all execution's).
      await venue.cancelAllOrders(BTC);
      await eventually(
        'execution has no open order left after cancel-all',
        async () => {
          const open = await call<ListOpenOrdersRequest, ListOpenOrdersResponse>(
            exec.listOpenOrders.bind(exec),
            { venue: '', account: ACCOUNT, instrument: '' },
          );
          return open.orders.length === 0;
        },
        { timeoutMs: 120_000, intervalMs: 200 },
      );
    };
    // A fresh process spends far more CPU per order on its first thousand orders (JIT tiers,
    // lazily loaded code): CPU per order is compared only after this many, in flight as timed.
    const WARMUP_ORDERS = Number(process.env.ORDERS_BENCH_WARMUP ?? 1024);
    const warmUp = async (client: ExecutionClient): Promise<void> => {
      await freeMargin();
      await perSecond(64, WARMUP_ORDERS, () => roundTrip('paper', client));
      await freeMargin();
    };
    /** Orders/s with `window` in flight and the CPU ms per order of each process in `pids`. */
    const timedOrders = async (
      window: number,
      client: ExecutionClient,
      pids: ReadonlyArray<number | undefined>,
    ): Promise<{ ordersPerS: number; cpuPerOrder: string[]; writesPerOrder: string[] }> => {
      const total = Math.max(N, window * IN_FLIGHT_ORDERS_PER_SLOT);
      const before = pids.map(cpuMs);
      const ioBefore = pids.map(ioSyscalls);
      const ordersPerS = await perSecond(window, total, () => roundTrip('paper', client));
      const after = pids.map(cpuMs);
      const ioAfter = pids.map(ioSyscalls);
      const perOrder = (b: number | undefined, a: number | undefined): string =>
        b === undefined || a === undefined ? '?' : ((a - b) / total).toFixed(2);
      const cpuPerOrder = pids.map((_, i) => perOrder(before[i], after[i]));
      const writesPerOrder = pids.map((_, i) => perOrder(ioBefore[i]?.writes, ioAfter[i]?.writes));
      return { ordersPerS, cpuPerOrder, writesPerOrder };
    };
    // Before/after of one switch in this run (ORDERS_BENCH_AB): execution restarted with it
    // off, then on (alternating, so drift on a shared machine hits both), same in-flight orders.
    const abRows: string[] = [];
    for (let round = 1; round <= AB_ROUNDS; round++) {
      for (const setting of ['off', 'on'] as const) {
        phase = `${AB_SWITCH} ${setting}, round ${round}`;
        // The previous rows' ~800 resting orders canceled first: a restart then reconciles an
        // empty book (under load, reconciling them made the restart miss its readiness bound).
        await freeMargin();
        await stack.execution.stop();
        const abSwitch = AB_SWITCHES[AB_SWITCH];
        const { env, [setting]: value } = abSwitch;
        const label = `${setting} (${value})`;
        if ('process' in abSwitch) {
          await stack.paperVenue.stop();
          stack.paperVenue.start({ env: { [env]: value } });
          await stack.paperVenue.waitReady();
          stack.execution.start();
        } else stack.execution.start({ env: { [env]: value } });
        await stack.execution.waitReady();
        await warmUp(exec);
        // One at a time too: what the switch does to the latency of a lone order, stage by stage.
        const loneSince = await readStages(stack.execution.httpUrl);
        const lone: number[] = [];
        const loneFloor: number[] = [];
        for (let i = 0; i < Math.min(N, 100); i++) {
          loneFloor.push(await timed(rawFloor));
          lone.push((await roundTrip()).eventMs);
        }
        lone.sort((a, b) => a - b);
        loneFloor.sort((a, b) => a - b);
        abRows.push(
          `  round ${round}, ${AB_SWITCH} ${label}, one at a time: PlaceOrder -> ACCEPTED p50 ${quantile(lone, 0.5).toFixed(2)} ms, p99 ${quantile(lone, 0.99).toFixed(2)} ms (${lone.length}); raw floor interleaved p50 ${quantile(loneFloor, 0.5).toFixed(2)} ms, p99 ${quantile(loneFloor, 0.99).toFixed(2)} ms: p50 / floor ${(quantile(lone, 0.5) / quantile(loneFloor, 0.5)).toFixed(2)}, p99 / floor ${(quantile(lone, 0.99) / quantile(loneFloor, 0.99)).toFixed(2)}; its stages:`,
          await stageMeans(stack.execution.httpUrl, loneSince),
        );
        for (const window of WINDOWS) {
          const url = stack.execution.httpUrl;
          const publishesBefore = await batchCounts(url, PUBLISH_BATCH_METRIC);
          const venueCallsBefore = await batchCounts(url, VENUE_BATCH_METRIC);
          const { ordersPerS, cpuPerOrder, writesPerOrder } = await timedOrders(window, exec, [
            stack.execution.pid,
            stack.paperVenue.pid,
          ]);
          const events = perCall(
            publishesBefore,
            await batchCounts(url, PUBLISH_BATCH_METRIC),
            'events per log call',
          );
          const orders = perCall(
            venueCallsBefore,
            await batchCounts(url, VENUE_BATCH_METRIC),
            'orders per venue call',
          );
          abRows.push(
            `  round ${round}, ${AB_SWITCH} ${label}, ${window} in flight: ${ordersPerS.toFixed(0)} orders/s, CPU ms per order: execution ${cpuPerOrder[0]}, paper-venue ${cpuPerOrder[1]}; write syscalls per order: execution ${writesPerOrder[0]}, paper-venue ${writesPerOrder[1]}${events}${orders}`,
          );
        }
      }
    }
    // The same switch, both settings at once in two processes, lone orders alternating.
    const interleavedRows: string[] = [];
    const abSwitch = AB_SWITCHES[AB_SWITCH];
    const twin = stack.executions[1];
    if (INTERLEAVED_N > 0 && twin && !('process' in abSwitch)) {
      phase = `${AB_SWITCH} interleaved`;
      await freeMargin();
      await stack.execution.stop();
      stack.execution.start({ env: { [abSwitch.env]: abSwitch.on } });
      twin.start({ env: { [abSwitch.env]: abSwitch.off } });
      await stack.execution.waitReady();
      await twin.waitReady();
      const clients = { on: exec, off: stack.executionClient(1) } as const;
      for (const client of Object.values(clients)) await warmUp(client);
      const lone = { off: [] as number[], on: [] as number[] };
      const floorBetween: number[] = [];
      for (let i = 0; i < INTERLEAVED_N; i++) {
        floorBetween.push(await timed(rawFloor));
        for (const setting of i % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
          lone[setting].push((await roundTrip('paper', clients[setting])).eventMs);
        }
      }
      const floorSorted = [...floorBetween].sort((a, b) => a - b);
      for (const setting of ['off', 'on'] as const) {
        const xs = [...lone[setting]].sort((a, b) => a - b);
        interleavedRows.push(
          `  ${AB_SWITCH} ${setting} (${abSwitch[setting]}): PlaceOrder -> ACCEPTED p50 ${quantile(xs, 0.5).toFixed(2)} ms, p99 ${quantile(xs, 0.99).toFixed(2)} ms (${xs.length}): p50 / floor ${(quantile(xs, 0.5) / quantile(floorSorted, 0.5)).toFixed(2)}, p99 / floor ${(quantile(xs, 0.99) / quantile(floorSorted, 0.99)).toFixed(2)}`,
        );
      }
      interleavedRows.push(
        `  raw floor between them: p50 ${quantile(floorSorted, 0.5).toFixed(2)} ms, p99 ${quantile(floorSorted, 0.99).toFixed(2)} ms (${floorSorted.length})`,
      );
      await twin.stop();
    }
    // The same warm-up as a restarted process gets (the sequential rows are ~250 orders: CPU
    // per order was still ~1.7x a warm process's in the first in-flight rows, session 8).
    await warmUp(exec);
    const inFlight: string[] = [];
    for (const window of WINDOWS) {
      phase = `${window} in flight`;
      const total = Math.max(N, window * IN_FLIGHT_ORDERS_PER_SLOT);
      const healthPerS = await perSecond(window, total * 4, () => healthCheck(health));
      const floorPerS = await perSecond(window, total, rawFloor);
      const venueCreatePerS = await perSecond(window, total, venueCreate);
      // The raw createOrder row's resting orders hold the account's margin too.
      await freeMargin();
      const { ordersPerS, cpuPerOrder, writesPerOrder } = await timedOrders(window, exec, [
        stack.execution.pid,
        stack.paperVenue.pid,
      ]);
      // The same orders to a strict-nonce venue (one nonce sequence for the key): pipelined or not.
      const nonceOrdersPerS = await perSecond(window, total, () => roundTrip(NONCE_VENUE));
      inFlight.push(
        `${window} in flight: ${ordersPerS.toFixed(0)} orders/s to ACCEPTED vs ${healthPerS.toFixed(0)} Health checks/s (ratio ${(ordersPerS / healthPerS).toFixed(3)}); raw floor ${floorPerS.toFixed(0)}/s (orders / floor ${(ordersPerS / floorPerS).toFixed(2)}); venue createOrder raw ${venueCreatePerS.toFixed(0)}/s; CPU ms per order: execution ${cpuPerOrder[0]}, paper-venue ${cpuPerOrder[1]}; write syscalls per order: execution ${writesPerOrder[0]}, paper-venue ${writesPerOrder[1]}`,
        `${window} in flight to the strict-nonce venue ${NONCE_VENUE} (one API key): ${nonceOrdersPerS.toFixed(0)} orders/s to ACCEPTED (${(nonceOrdersPerS / ordersPerS).toFixed(2)}x the venue without nonces)`,
      );
    }

    // One execution process vs two behind a round-robin client (the claims make replicas safe),
    // alternating, the same in-flight orders; CPU per order summed over the execution processes.
    const replicaRows: string[] = [];
    const second = stack.executions[1];
    if (second) {
      const balanced = stack.roundRobinExecutionClient();
      for (let round = 1; round <= REPLICA_ROUNDS; round++) {
        for (const processes of [1, 2] as const) {
          phase = `${processes} execution process(es), round ${round}`;
          if (processes === 2) {
            second.start();
            await second.waitReady();
            await warmUp(balanced);
          } else await freeMargin();
          for (const window of WINDOWS) {
            const pids = processes === 2 ? [stack.execution.pid, second.pid] : [stack.execution.pid];
            const client = processes === 2 ? balanced : exec;
            const { ordersPerS, cpuPerOrder } = await timedOrders(window, client, [
              ...pids,
              stack.paperVenue.pid,
            ]);
            const execCpu = cpuPerOrder.slice(0, pids.length);
            const execSum = execCpu.every((c) => c !== '?')
              ? execCpu.reduce((sum, c) => sum + Number(c), 0).toFixed(2)
              : '?';
            replicaRows.push(
              `  round ${round}, ${processes} execution process${processes === 2 ? 'es' : ''}, ${window} in flight: ${ordersPerS.toFixed(0)} orders/s, CPU ms per order: execution ${execSum} (${execCpu.join(' + ')}), paper-venue ${cpuPerOrder.at(-1)}`,
            );
          }
          if (processes === 2) await second.stop();
        }
      }
    }

    const base = [...healthMs].sort((a, b) => a - b);
    const floor = [...floorMs].sort((a, b) => a - b);
    const rows = [
      ['Health/Check (baseline)', healthMs],
      ['raw floor (2 gRPC + 2 JS ack + 2 Redis)', floorMs],
      ['raw floor, venue hop = raw createOrder', floorVenueWorkMs],
      ['GetOrder', getOrderMs],
      ['venue createOrder, raw (no execution)', venueCreateMs],
      ['PlaceOrder answer', answerMs],
      ['PlaceOrder -> ACCEPTED on log', eventMs],
    ].map(([name, xs]) => {
      const s = [...(xs as number[])].sort((a, b) => a - b);
      return [
        name as string,
        quantile(s, 0.5).toFixed(2),
        quantile(s, 0.99).toFixed(2),
        (quantile(s, 0.5) / quantile(base, 0.5)).toFixed(1),
        (quantile(s, 0.99) / quantile(base, 0.99)).toFixed(1),
        (quantile(s, 0.5) / quantile(floor, 0.5)).toFixed(2),
        (quantile(s, 0.99) / quantile(floor, 0.99)).toFixed(2),
      ];
    });
    const header = [
      'round trip',
      'p50 ms',
      'p99 ms',
      'p50 / Health',
      'p99 / Health',
      'p50 / floor',
      'p99 / floor',
    ];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
    const line = (cells: string[]): string =>
      cells
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number)))
        .join('  ');
    console.log(
      `order round trip vs raw gRPC unary, execution + paper-venue processes, ${N} sequential calls each`,
    );
    console.log(line(header));
    for (const row of rows) console.log(line(row));
    const p50 = (xs: number[]) =>
      quantile(
        [...xs].sort((a, b) => a - b),
        0.5,
      );
    const p99 = (xs: number[]) =>
      quantile(
        [...xs].sort((a, b) => a - b),
        0.99,
      );
    console.log(
      `PlaceOrder -> ACCEPTED against the floor whose venue hop is the raw createOrder (the venue's own work counted as the venue's): p50 ${(p50(eventMs) / p50(floorVenueWorkMs)).toFixed(2)}, p99 ${(p99(eventMs) / p99(floorVenueWorkMs)).toFixed(2)}`,
    );
    for (const line of inFlight) console.log(line);
    if (abRows.length > 0) {
      console.log(`${AB_SWITCH} in execution, before (off) / after (on), venue without nonces:`);
      for (const line of abRows) console.log(line);
    }
    if (interleavedRows.length > 0) {
      console.log(
        `${AB_SWITCH} in two execution processes at once (off in one, on in the other), lone orders alternating:`,
      );
      for (const line of interleavedRows) console.log(line);
    }
    if (replicaRows.length > 0) {
      console.log('one execution process vs two behind a round-robin client, venue without nonces:');
      for (const line of replicaRows) console.log(line);
    }
    console.log('the raw floor hop by hop (one at a time), ms:');
    HOPS.forEach((name, n) => {
      const xs = [...(hopMs[n] ?? [])].sort((a, b) => a - b);
      console.log(`  ${name.padEnd(36)} p50 ${quantile(xs, 0.5).toFixed(3)}  mean ${mean(xs).toFixed(3)}`);
    });
    {
      const xs = [...venueCreateMs].sort((x, y) => x - y);
      console.log(
        `  ${'(venue createOrder raw, for venue_call)'.padEnd(36)} p50 ${quantile(xs, 0.5).toFixed(3)}  mean ${mean(xs).toFixed(3)}`,
      );
    }
    console.log(
      'where a placement spends its time (execution /metrics, per stage; p50 from histogram buckets):',
    );
    console.log(' one at a time:');
    console.log(sequentialStages);
    console.log(` all orders since the last execution restart, ${WINDOWS.join(' and ')} in flight included:`);
    console.log(await stageMeans(stack.execution.httpUrl));
  } catch (err) {
    // Which phase failed and what execution said: a bench failure must be diagnosable.
    console.error(`failed during: ${phase}\n${stack.execution.describe()}`);
    throw err;
  } finally {
    for (const cleanup of rawCleanup) await cleanup().catch(() => undefined);
    health.close();
    await log?.close();
    // A graceful stop first, so a profiled child (bench/cpu-profile-hook.mjs) writes its profile.
    await stack.execution.stop().catch(() => undefined);
    await stack.paperVenue.stop().catch(() => undefined);
    await stack.close();
  }
}

main().catch((err: unknown) => {
  console.error((err as ServiceError).details ?? err);
  process.exit(1);
});
