/**
 * tick -> order: from a book change at the venue to the strategy's order ACCEPTED on the
 * log, through real processes: market-data, account, execution and strategy (the scalper)
 * as child processes on NATS and Redis (started like the e2e tests), the paper venue's hub
 * in this process (served over gRPC as services/paper-venue serves it), so the book change
 * has an exact time: the moment the bench's market order sweeps the leader's book.
 *
 * The scalper follows the leader `paper-lighter` and trades the follower `paper`: when the
 * leader's mid moves by >= ENTRY_BPS over its signal window it enters on the follower (a
 * limit IOC), holds for MAX_HOLD and exits reduce-only. Each sample: the bench's market
 * order sweeps the leader's book, sized from the book so the mid moves at least
 * SWEEP_MOVE_BPS (4 bps against the 2.5 bps threshold; bench/sweep.ts says why a fixed size
 * does not do), alternating buy and sell, and times sweep -> the strategy's entry ACCEPTED
 * (seen by a tail of the EXEC stream), i.e.
 * venue -> market-data -> md.book -> strategy (decide, persist) -> execution -> venue -> ACCEPTED.
 * Only an entry decided on the swept book counts (its decision's leader mid is the venue's
 * mid after the sweep): the market maker's requote at the next market step moves the mid
 * back, and an entry on that, or on a later move, is not this sweep's.
 * A sweep without such an entry gets a line saying why (the scalper's signal as the bench
 * rebuilds it from the same md.books, the strategy's decisions during the sample).
 *
 * Baselines in the same run, interleaved with the samples:
 *   - the raw floor the issue names: one NATS hop (js.publish -> a raw ordered consumer, a
 *     md.book-sized payload), one Redis round trip (SET), one gRPC unary (Health/Check to
 *     execution), done one after another with raw clients;
 *   - PlaceOrder -> ACCEPTED sent straight to execution (the order path alone, i.e. the
 *     part of tick -> order after the strategy's decision; bench/orders.bench.ts has its
 *     own raw floor), so the market-data + strategy part is the difference.
 * Also: where the time goes — the first md.book of the leader that shows the sweep (its
 * sequence at or past the venue's after the sweep), as a tail of the MD stream sees it
 * (venue -> market-data -> log), the strategy's and
 * execution's stage histograms (/metrics), the CPU each process spent per sample, and the
 * strategy's decisions by reason (why a sweep made no entry).
 *
 *   node --import tsx --conditions=@perpmesh/source bench/tick-order.bench.ts
 *   TICK_ORDER_BENCH_N=60 (samples, default 60; each takes ~1.5 s: the hold and the cooldown)
 *   TICK_ORDER_BENCH_BOOK_INTERVAL=0ms (market-data's md.book conflation of every book,
 *     marketData.bookPublishInterval; default the shipped 100 ms)
 *   TICK_ORDER_BENCH_LEADER_BOOK_INTERVAL=0ms (the override for the book the scalper
 *     follows, marketData.bookPublishIntervalOverrides, as a latency strategy's book is
 *     configured; default 0ms; `none`: no override, the leader's book at the default)
 *   TICK_ORDER_BENCH_SWEEP_MOVE_BPS=4 (how far each sweep moves the leader's mid)
 *   TICK_ORDER_BENCH_SWEEP_SIZE=2.4 (a fixed sweep size instead: session 6's sweep)
 *
 * Uses NATS_URL / REDIS_URL (else the local defaults), its own namespace, cleans up.
 * Prints numbers; asserts nothing about time.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, credentials } from '@grpc/grpc-js';
import { DeliverPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { PROTO_DIR } from '@perpmesh/app';
import { NatsEventLog } from '@perpmesh/bus';
import { decodeEnvelope, OrderEventKind, PaperVenueServiceService } from '@perpmesh/contracts';
import { Decimal, readingObservedAtMs, type Side, sleep } from '@perpmesh/core';
import { createLogger, HealthRegistry, type RunningGrpcServer, startGrpcServer } from '@perpmesh/runtime';
import { midMoveBps, recordMid } from '@perpmesh/strategy';
import { eventually, freePort } from '@perpmesh/testing';
import { PaperVenueHub, PUBLIC_ACCOUNT, paperVenueGrpcService, type SimulatedVenue } from '@perpmesh/venues';
import { Redis } from 'ioredis';
import {
  ACCOUNT,
  BTC,
  E2eStack,
  LIGHTER_API_KEY,
  newClientOrderId,
  orderRequest,
  placeOrder,
  REPO_ROOT,
  type ServiceName,
  ServiceProcess,
  TOKEN_ENV,
} from '../tests/e2e/harness.js';
import { healthCheck } from './grpc-health.js';
import { cpuMs, loadAverage, quantile } from './proc-stats.js';
import { bpsMove, midOfBook, planSweep } from './sweep.js';

process.env.NATS_URL ??= 'nats://127.0.0.1:4222';
process.env.REDIS_URL ??= 'redis://127.0.0.1:6379';

const N = Number(process.env.TICK_ORDER_BENCH_N ?? 60);
const WARMUP = 5;
const LEADER = 'paper-lighter';
const FOLLOWER = 'paper';
const STRATEGY_ID = 'scalp-bench';
const BENCH_ACCOUNT = 'bench';
const ENTRY_BPS = '2.5';
/** The leader's mid moves at least this much at each sweep (the sweep is sized from the book, bench/sweep.ts). */
const SWEEP_MOVE_BPS = new Decimal(process.env.TICK_ORDER_BENCH_SWEEP_MOVE_BPS ?? '4');
/** A fixed sweep size instead (session 6 swept 2.4 BTC: the mid moved 2.0-3.5 bps). */
const FIXED_SWEEP_SIZE = process.env.TICK_ORDER_BENCH_SWEEP_SIZE;
const SIGNAL_WINDOW_MS = 400;
const MAX_HOLD_MS = 300;
const COOLDOWN_MS = 600;
const ACCEPTED_TIMEOUT_MS = 10_000;
/** A sweep's md.book later than this is reported on its own line. */
const LATE_MD_BOOK_MS = 1_000;
const BOOK_INTERVAL = process.env.TICK_ORDER_BENCH_BOOK_INTERVAL;
const LEADER_BOOK_INTERVAL = process.env.TICK_ORDER_BENCH_LEADER_BOOK_INTERVAL ?? '0ms';

type Accepted = { atMs: number; clientOrderId: string };
type MidSample = { atMs: number; mid: Decimal };
/** The scalper's signal over its window: leader move, follower move, their difference (bps). */
type Signal = { leaderBps: Decimal; followerBps: Decimal; lagBps: Decimal };
/**
 * Wall-clock stamps of an md.book (every process on this host reads the same clock, ms):
 * market data applied its last change (`observedAtMs`), built the envelope at the flush
 * (`tsInit`), the bench's tail got it.
 */
type MdStamps = { observedAtMs: number; builtAtMs: number; arrivedAtMs: number };
/** The first md.book showing a sweep: when it reached the log, its mid's move, the signal then. */
type MdSeen = { atMs: number; moveBps: Decimal | undefined; signal: Signal | undefined; stamps: MdStamps };

/** The strategy's ACCEPTED order events (entry = not reduce-only), as they reach the tail. */
class StrategyOrders {
  readonly #waiters: Array<{ reduceOnly: boolean; resolve: (accepted: Accepted) => void }> = [];
  lastAcceptedMs = 0;

  onEvent(data: Uint8Array): void {
    const at = performance.now();
    const payload = decodeEnvelope(data).payload;
    if (payload?.$case !== 'orderEvent' || payload.value.kind !== OrderEventKind.ORDER_EVENT_KIND_ACCEPTED)
      return;
    const order = payload.value.order;
    if (!order?.clientOrderId.startsWith(STRATEGY_ID)) return;
    this.lastAcceptedMs = at;
    const i = this.#waiters.findIndex((w) => w.reduceOnly === order.reduceOnly);
    if (i >= 0) this.#waiters.splice(i, 1)[0]?.resolve({ atMs: at, clientOrderId: order.clientOrderId });
  }

  /** The next ACCEPTED entry (or exit) as it arrives; undefined after `timeoutMs`. */
  next(reduceOnly: boolean, timeoutMs = ACCEPTED_TIMEOUT_MS): Promise<Accepted | undefined> {
    return new Promise((resolve) => {
      const waiter = { reduceOnly, resolve: (accepted: Accepted) => resolve(accepted) };
      this.#waiters.push(waiter);
      setTimeout(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) {
          this.#waiters.splice(i, 1);
          resolve(undefined);
        }
      }, timeoutMs).unref();
    });
  }
}

/** Per-stage mean ms of a `<metric>_sum/_count{stage=...}` histogram on a /metrics page. */
async function stageMeans(
  httpUrl: string,
  metric: string,
): Promise<Map<string, { mean: number; n: number }>> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const read = (suffix: string) => {
    const out = new Map<string, number>();
    const re = new RegExp(`^${metric}_${suffix}\\{[^}]*stage="([a-z_]+)"[^}]*\\} (\\S+)$`, 'gm');
    for (const m of text.matchAll(re)) out.set(m[1] as string, (out.get(m[1] as string) ?? 0) + Number(m[2]));
    return out;
  };
  const sums = read('sum');
  const out = new Map<string, { mean: number; n: number }>();
  for (const [stage, n] of read('count'))
    if (n > 0) out.set(stage, { mean: ((sums.get(stage) ?? 0) / n) * 1000, n });
  return out;
}

async function main(): Promise<void> {
  const paperPort = await freePort();
  const stack = await E2eStack.create({ paperAddress: `127.0.0.1:${paperPort}`, balanceStaleAfter: '10s' });
  const logger = createLogger({ service: 'tick-order-bench', level: 'silent' });
  const hub = new PaperVenueHub({
    seed: 11,
    clock: { kind: 'realtime', tickIntervalMs: 250 },
    venues: [{ venueId: FOLLOWER }, { venueId: LEADER }],
    accounts: [
      { venueId: FOLLOWER, accountId: ACCOUNT, deposit: '100000' },
      { venueId: LEADER, accountId: ACCOUNT, deposit: '100000', apiKeyId: LIGHTER_API_KEY },
      { venueId: LEADER, accountId: BENCH_ACCOUNT, deposit: '10000000' },
    ],
  });
  let server: RunningGrpcServer | undefined;
  let log: NatsEventLog | undefined;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const strategyHttp = await freePort();
  const strategy = new ServiceProcess({
    service: 'strategy' as ServiceName,
    label: 'strategy',
    entry: join(REPO_ROOT, 'services/strategy/src/main.ts'),
    configPath: join(stack.dir, 'strategy.yaml'),
    httpPort: strategyHttp,
    env: { [TOKEN_ENV]: stack.token, NATS_URL: stack.natsUrl, REDIS_URL: stack.redisUrl },
  });
  try {
    hub.start();
    const marketPorts = new Map<string, SimulatedVenue>();
    server = await startGrpcServer({
      host: '127.0.0.1',
      port: paperPort,
      services: [
        {
          definition: PaperVenueServiceService as never,
          implementation: paperVenueGrpcService((venue, account) => {
            // One port per account with its API key, as services/paper-venue serves them.
            if (account !== PUBLIC_ACCOUNT) {
              if (!hub.hasAccount(venue, account)) return undefined;
              return hub.venue(
                venue,
                account,
                venue === LEADER && account === ACCOUNT ? LIGHTER_API_KEY : undefined,
              );
            }
            let port = marketPorts.get(venue);
            if (port === undefined) {
              port = hub.marketVenue(venue);
              marketPorts.set(venue, port);
            }
            return port;
          }) as never,
        },
      ],
      protoFiles: ['perpmesh/v1/paper_venue.proto'],
      includeDirs: [PROTO_DIR],
      logger,
      health: new HealthRegistry(),
    });

    // The strategy's config: the stack's (same namespace, venues, auth) plus its own section.
    const config = JSON.parse(readFileSync(stack.configPath, 'utf8')) as Record<string, unknown>;
    if (BOOK_INTERVAL !== undefined || LEADER_BOOK_INTERVAL !== 'none') {
      // Every service reads the stack's file: market data takes its conflation from it.
      const md = config.marketData as Record<string, unknown>;
      if (BOOK_INTERVAL !== undefined) md.bookPublishInterval = BOOK_INTERVAL;
      if (LEADER_BOOK_INTERVAL !== 'none')
        md.bookPublishIntervalOverrides = [
          { venue: LEADER, instrument: BTC, interval: LEADER_BOOK_INTERVAL },
        ];
      writeFileSync(stack.configPath, JSON.stringify(config, null, 2));
    }
    config.strategy = {
      grpcHost: '127.0.0.1',
      grpcPort: await freePort(),
      http: { host: '127.0.0.1', port: strategyHttp },
      executionAddress: `127.0.0.1:${stack.ports.execution[0]?.grpc}`,
      accountAddress: `127.0.0.1:${stack.ports.account.grpc}`,
      tickInterval: '100ms',
      balancePollInterval: '500ms',
      instances: [
        {
          id: STRATEGY_ID,
          kind: 'scalper',
          mode: 'live',
          leader: { venue: LEADER, instrument: BTC },
          follower: { venue: FOLLOWER, account: ACCOUNT, instrument: BTC },
          signalWindowMs: `${SIGNAL_WINDOW_MS}ms`,
          entryThresholdBps: ENTRY_BPS,
          orderSize: '0.01',
          takeProfitBps: '1000',
          stopLossBps: '1000',
          maxHoldMs: `${MAX_HOLD_MS}ms`,
          cooldownMs: `${COOLDOWN_MS}ms`,
          orderType: 'limit_ioc',
          maxSlippageBps: '20',
          maxBookAgeMs: '60s',
          risk: {
            leverage: '5',
            maxLeverage: '10',
            maxNotionalPerInstrument: '20000',
            maxNotionalPerVenue: '50000',
            orderRateCapacity: 20,
            orderRatePerSecond: 10,
          },
        },
      ],
    };
    writeFileSync(strategy.options.configPath, JSON.stringify(config, null, 2));

    for (const p of [stack.marketData, stack.account, stack.execution]) p.start();
    for (const p of [stack.marketData, stack.account, stack.execution]) await p.waitReady();
    strategy.start();
    cleanups.push(() => strategy.kill9());
    await strategy.waitReady({ timeoutMs: 60_000 });

    log = await NatsEventLog.connect({ servers: stack.natsUrl, name: 'tick-order-bench' });
    const orders = new StrategyOrders();
    const benchOrders = new Map<string, (atMs: number) => void>();
    await log.tail(stack.filter('exec.order.>'), { from: 'new' }, async (msg) => {
      orders.onEvent(msg.data);
      const payload = decodeEnvelope(msg.data).payload;
      if (
        payload?.$case === 'orderEvent' &&
        payload.value.kind === OrderEventKind.ORDER_EVENT_KIND_ACCEPTED
      ) {
        const cid = payload.value.order?.clientOrderId ?? '';
        benchOrders.get(cid)?.(performance.now());
        benchOrders.delete(cid);
      }
    });

    // Both books' md.book as the log carries them: the mid samples the scalper's signal is made
    // of (kept as the scalper keeps them), and who waits for the md.book showing a sweep.
    const mids = { leader: [] as MidSample[], follower: [] as MidSample[] };
    let leaderMd: { seq: number; mid: Decimal; atMs: number; stamps: MdStamps } | undefined;
    let mdWaiter: { seq: number; resolve: (seen: MdSeen) => void } | undefined;
    /** The scalper's signal over its window, from the same md.books (its step runs a few ms later). */
    const signalAt = (nowMs: number): Signal | undefined => {
      const leader = midMoveBps(mids.leader, nowMs, SIGNAL_WINDOW_MS);
      const follower = midMoveBps(mids.follower, nowMs, SIGNAL_WINDOW_MS);
      return leader && follower
        ? { leaderBps: leader.bps, followerBps: follower.bps, lagBps: leader.bps.minus(follower.bps) }
        : undefined;
    };
    const onBook = (which: keyof typeof mids) => async (msg: { data: Uint8Array }) => {
      const atMs = performance.now();
      const envelope = decodeEnvelope(msg.data);
      const p = envelope.payload;
      if (p?.$case !== 'orderBook' || p.value.instrument !== BTC) return;
      const bid = p.value.bids[0]?.price;
      const ask = p.value.asks[0]?.price;
      if (!bid || !ask) return;
      const mid = new Decimal(bid).plus(ask).div(2);
      const nowMs = Date.now();
      // Timed as the scalper times them: when market data observed the change.
      recordMid(mids[which], readingObservedAtMs(p.value), mid, nowMs - 2 * SIGNAL_WINDOW_MS);
      if (which !== 'leader') return;
      const before = leaderMd;
      const stamps = {
        observedAtMs: p.value.observedAtMs ?? 0,
        builtAtMs: envelope.tsInit,
        arrivedAtMs: nowMs,
      };
      leaderMd = { seq: p.value.sequence, mid, atMs, stamps };
      if (mdWaiter && p.value.sequence >= mdWaiter.seq) {
        mdWaiter.resolve({
          atMs,
          moveBps: before ? bpsMove(before.mid, mid) : undefined,
          signal: signalAt(nowMs),
          stamps,
        });
        mdWaiter = undefined;
      }
    };
    await log.tail(stack.subjects.mdBook(LEADER, BTC), { from: 'new' }, onBook('leader'));
    await log.tail(stack.subjects.mdBook(FOLLOWER, BTC), { from: 'new' }, onBook('follower'));
    /** The first md.book of the leader at or past the venue's sequence `seq`; undefined after the timeout. */
    const mdShowing = (seq: number): Promise<MdSeen | undefined> =>
      new Promise((resolve) => {
        if (leaderMd !== undefined && leaderMd.seq >= seq) {
          resolve({
            atMs: leaderMd.atMs,
            moveBps: undefined,
            signal: signalAt(Date.now()),
            stamps: leaderMd.stamps,
          });
          return;
        }
        mdWaiter = { seq, resolve };
        setTimeout(() => resolve(undefined), ACCEPTED_TIMEOUT_MS).unref();
      });
    const decisions = new Map<string, number>();
    /** The leader mid each entry (by client order id) was decided on. */
    const entryLeaderMids = new Map<string, Decimal>();
    /** The strategy's decisions during the current sample. */
    let sampleDecisions: string[] = [];
    // The scalper is flat again after a `closed` (or an entry that did not fill); its cooldown
    // starts then, at the strategy's step, which may be well after the exit's ACCEPTED.
    const scalper = { flat: true, flatSinceMs: 0 };
    await log.tail(stack.filter('strat.>'), { from: 'new' }, async (msg) => {
      const p = decodeEnvelope(msg.data).payload;
      if (p?.$case !== 'strategyDecision' || p.value.strategyId !== STRATEGY_ID) return;
      const key = `${p.value.kind}/${p.value.reasonCode}`;
      decisions.set(key, (decisions.get(key) ?? 0) + 1);
      sampleDecisions.push(key);
      if (p.value.kind === 'enter') {
        scalper.flat = false;
        // Which leader mid the entry was decided on: the swept book's, or another.
        const leaderMid = p.value.inputs.leader_mid;
        for (const intent of p.value.orderIntents)
          if (leaderMid !== undefined) entryLeaderMids.set(intent.clientOrderId, new Decimal(leaderMid));
      }
      if (p.value.kind === 'closed' || key === 'signal/entry_not_filled') {
        scalper.flat = true;
        scalper.flatSinceMs = performance.now();
      }
    });

    // The raw floor's own clients and stream.
    const execHealth = new Client(
      `127.0.0.1:${stack.ports.execution[0]?.grpc}`,
      credentials.createInsecure(),
    );
    const nc = await connect({ servers: stack.natsUrl, noAsyncTraces: true, name: 'tick-order-raw' });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const rawStream = `BENCHTICK_${process.pid}`;
    const rawSubject = `benchtick.${process.pid}`;
    await jsm.streams.add({ name: rawStream, subjects: [rawSubject], storage: StorageType.File });
    const consumer = await js.consumers.get(rawStream, { deliver_policy: DeliverPolicy.New });
    const rawMessages = await consumer.consume({ max_messages: 256 });
    const rawWaiting = new Map<string, () => void>();
    void (async () => {
      for await (const m of rawMessages) {
        const id = m.headers?.get('Nats-Msg-Id') ?? '';
        rawWaiting.get(id)?.();
        rawWaiting.delete(id);
      }
    })();
    const redis = new Redis(stack.redisUrl);
    const redisKey = `bench:tick-order:${process.pid}`;
    cleanups.push(async () => {
      rawMessages.stop();
      execHealth.close();
      await jsm.streams.delete(rawStream).catch(() => undefined);
      await nc.close();
      await redis.del(redisKey).catch(() => undefined);
      redis.disconnect();
    });
    const payload = new Uint8Array(1200).fill(7); // about a top-20 md.book envelope
    let rawN = 0;
    const hops = { nats: [] as number[], redis: [] as number[], grpc: [] as number[] };
    const rawFloor = async (): Promise<number> => {
      const id = `raw-${process.pid}-${rawN++}`;
      const t0 = performance.now();
      const seen = new Promise<void>((resolve) => rawWaiting.set(id, resolve));
      await js.publish(rawSubject, payload, { msgID: id });
      await seen;
      const t1 = performance.now();
      await redis.set(redisKey, id, 'PX', 60_000);
      const t2 = performance.now();
      await healthCheck(execHealth);
      const t3 = performance.now();
      hops.nats.push(t1 - t0);
      hops.redis.push(t2 - t1);
      hops.grpc.push(t3 - t2);
      return t3 - t0;
    };

    // The order path alone: PlaceOrder straight to execution, a resting buy far below the market.
    const exec = stack.executionClient();
    let restingPrice = 30_000;
    const placeToAccepted = async (): Promise<number> => {
      const req = orderRequest({
        venue: FOLLOWER,
        clientOrderId: newClientOrderId('benchtick'),
        price: String(restingPrice++),
      });
      const seen = new Promise<number>((resolve) => benchOrders.set(req.clientOrderId, resolve));
      const start = performance.now();
      await placeOrder(exec, req);
      return (await seen) - start;
    };

    // The book change: the bench's market order sweeps the leader's book, sized from it so the
    // mid moves at least SWEEP_MOVE_BPS (bench/sweep.ts), alternating buy and sell.
    const sweeper = hub.venue(LEADER, BENCH_ACCOUNT);
    const leaderBook = () => hub.exchange(LEADER).bookSnapshot(BTC, 50);
    let sweeps = 0;
    const sweep = async () => {
      sweeps++;
      const side: Side = sweeps % 2 ? 'buy' : 'sell';
      const before = leaderBook();
      // No await between the book read and the order: no market step runs in between.
      const size =
        FIXED_SWEEP_SIZE === undefined
          ? planSweep(before, side, SWEEP_MOVE_BPS).size
          : new Decimal(FIXED_SWEEP_SIZE);
      const start = performance.now();
      const startWallMs = Date.now();
      await sweeper.createOrder({
        clientOrderId: newClientOrderId('sweep'),
        instrument: BTC,
        side,
        type: 'market',
        timeInForce: 'ioc',
        size,
        reduceOnly: false,
        nonce: BigInt(sweeps),
      });
      const after = leaderBook();
      const [midBefore, midAfter] = [midOfBook(before), midOfBook(after)];
      return {
        start,
        startWallMs,
        side,
        size,
        // The venue's sequence once swept: the first md.book at or past it shows the sweep.
        seq: after.seq,
        midAfter,
        venueMoveBps: midBefore && midAfter ? bpsMove(midBefore, midAfter) : undefined,
      };
    };

    /** Waits (at most 20 s) until the scalper is flat and past its cooldown and signal window. */
    const settle = async (): Promise<void> => {
      const deadline = performance.now() + 20_000;
      const need = COOLDOWN_MS + SIGNAL_WINDOW_MS + 200;
      while (performance.now() < deadline) {
        const quietMs = performance.now() - Math.max(scalper.flatSinceMs, orders.lastAcceptedMs);
        if (scalper.flat && quietMs >= need) return;
        await sleep(Math.max(50, need - quietMs));
      }
    };

    const pids = {
      'market-data': stack.marketData.pid,
      strategy: strategy.pid,
      execution: stack.execution.pid,
    };
    const tickMs: number[] = [];
    const floorMs: number[] = [];
    const orderMs: number[] = [];
    const toMdMs: number[] = [];
    const mdToOrderMs: number[] = [];
    let missed = 0;
    let lateMd = 0;
    /** Where each sweep's md.book spent its time (wall clock, ms): see mdHops. */
    const mdHopMs = { stream: [] as number[], conflation: [] as number[], log: [] as number[] };
    /**
     * The md.book's hops: the venue's stream to market data applying the change, the
     * conflation (applied -> the envelope built at the flush), the log (publish-ack and the
     * consumer's delivery to this tail).
     */
    const mdHops = (sweptAtMs: number, st: MdStamps) => ({
      stream: st.observedAtMs - sweptAtMs,
      conflation: st.builtAtMs - st.observedAtMs,
      log: st.arrivedAtMs - st.builtAtMs,
    });
    const hopsText = (sweptAtMs: number, st: MdStamps) =>
      Object.entries(mdHops(sweptAtMs, st))
        .map(([hop, ms]) => `${hop} ${ms} ms`)
        .join(', ');
    const venueMoves: number[] = [];
    const noEntry = new Map<string, number>();
    const bps = (x: Decimal | undefined) => (x === undefined ? '?' : x.toFixed(2));
    /** Why a sweep made no entry, as far as the bench can tell from the log. */
    const noEntryReason = (md: MdSeen | undefined): string => {
      if (md === undefined) return 'no md.book showing the sweep';
      if (md.signal === undefined) return 'no signal yet (the bench has no mid samples over the window)';
      if (md.signal.lagBps.abs().lt(ENTRY_BPS)) return `lag below ${ENTRY_BPS} bps`;
      const denied = sampleDecisions.filter((d) => !d.startsWith('enter/'));
      return denied.length > 0 ? `signal met; decided ${denied.join(', ')}` : 'signal met; no decision';
    };
    const describeSweep = (
      i: number,
      swept: Awaited<ReturnType<typeof sweep>>,
      md: MdSeen | undefined,
      outcome: string,
    ): string =>
      `sample ${i}: ${swept.side} ${swept.size.toFixed()} BTC moved the leader's mid ${bps(swept.venueMoveBps)} bps at the venue (seq ${swept.seq}); ${
        md === undefined
          ? `no md.book at or past it within ${ACCEPTED_TIMEOUT_MS} ms`
          : `its md.book reached the log after ${(md.atMs - swept.start).toFixed(1)} ms (${hopsText(swept.startWallMs, md.stamps)}; mid ${bps(md.moveBps)} bps); the scalper's signal then: leader ${bps(md.signal?.leaderBps)}, follower ${bps(md.signal?.followerBps)}, lag ${bps(md.signal?.lagBps)} bps (threshold ${ENTRY_BPS})`
      }; decisions: ${sampleDecisions.join(', ') || 'none'}; ${outcome}`;
    let cpuSpent: Record<string, number> = {};
    const loadBefore = loadAverage();
    for (let i = 0; i < WARMUP + N; i++) {
      if (i === WARMUP) {
        for (const [name, pid] of Object.entries(pids)) cpuSpent[name] = -(cpuMs(pid) ?? Number.NaN);
        for (const k of Object.keys(hops) as Array<keyof typeof hops>) hops[k].length = 0;
      }
      await settle();
      sampleDecisions = [];
      const entry = orders.next(false);
      const swept = await sweep();
      const [accepted, md] = await Promise.all([entry, mdShowing(swept.seq)]);
      mdWaiter = undefined;
      venueMoves.push(swept.venueMoveBps?.abs().toNumber() ?? Number.NaN);
      const mdLate = md === undefined || md.atMs - swept.start > LATE_MD_BOOK_MS;
      if (mdLate) lateMd++;
      // Every sweep's md.book counts, with an entry or without (a late one may be why there is none).
      if (i >= WARMUP && md !== undefined) {
        toMdMs.push(md.atMs - swept.start);
        const h = mdHops(swept.startWallMs, md.stamps);
        mdHopMs.stream.push(h.stream);
        mdHopMs.conflation.push(h.conflation);
        mdHopMs.log.push(h.log);
      }
      // An entry is the sweep's when it was decided on the swept book: its leader mid is the
      // venue's mid after the sweep (not the market maker's requote after it, nor a later move).
      const decidedMid =
        accepted &&
        (await eventually('the entry decision', () => entryLeaderMids.get(accepted.clientOrderId), {
          timeoutMs: 2_000,
          intervalMs: 5,
        }).catch(() => undefined));
      if (accepted === undefined || !decidedMid || !swept.midAfter || !decidedMid.eq(swept.midAfter)) {
        missed++;
        // Why the swept book made no entry; an entry that came anyway was decided on another book.
        const why = noEntryReason(md);
        noEntry.set(why, (noEntry.get(why) ?? 0) + 1);
        const outcome =
          accepted === undefined
            ? `no entry within ${ACCEPTED_TIMEOUT_MS} ms (${why})`
            : `no entry on the swept book (${why}); the entry ACCEPTED after ${(accepted.atMs - swept.start).toFixed(1)} ms was decided on another leader mid, ${decidedMid ? decidedMid.toFixed() : '?'} (the swept book's ${swept.midAfter?.toFixed() ?? '?'})`;
        console.log(describeSweep(i, swept, md, outcome));
      } else {
        if (mdLate)
          console.log(
            describeSweep(
              i,
              swept,
              md,
              `entry ACCEPTED after ${(accepted.atMs - swept.start).toFixed(1)} ms`,
            ),
          );
        if (i >= WARMUP) {
          tickMs.push(accepted.atMs - swept.start);
          if (md !== undefined) mdToOrderMs.push(accepted.atMs - md.atMs);
        }
      }
      // The baselines while the strategy holds: the raw floor and the order path alone.
      const floor = await rawFloor();
      const order = await placeToAccepted();
      if (i >= WARMUP) {
        floorMs.push(floor);
        orderMs.push(order);
      }
    }
    cpuSpent = Object.fromEntries(
      Object.entries(pids).map(([name, pid]) => [name, (cpuMs(pid) ?? Number.NaN) + (cpuSpent[name] ?? 0)]),
    );

    const ms = (x: number) => x.toFixed(2).padStart(8);
    const row = (name: string, xs: number[]) =>
      console.log(
        `${name.padEnd(64)}${ms(quantile(xs, 0.5))}${ms(quantile(xs, 0.99))}${`${(quantile(xs, 0.5) / quantile(floorMs, 0.5)).toFixed(2)}x`.padStart(10)}${`${(quantile(xs, 0.99) / quantile(floorMs, 0.99)).toFixed(2)}x`.padStart(10)}`,
      );
    console.log(
      `tick -> order: ${tickMs.length} samples (${missed} sweeps without an entry on the swept book within ${ACCEPTED_TIMEOUT_MS} ms${missed > 0 ? `: ${[...noEntry].map(([why, n]) => `${why} x${n}`).join(', ')}` : ''}; ${lateMd} whose md.book reached the log later than ${LATE_MD_BOOK_MS} ms), sweeps ${FIXED_SWEEP_SIZE === undefined ? `sized to move the leader's mid >= ${SWEEP_MOVE_BPS.toFixed()} bps` : `of ${FIXED_SWEEP_SIZE} BTC`} (moved ${quantile(venueMoves, 0).toFixed(2)}-${quantile(venueMoves, 1).toFixed(2)} bps, p50 ${quantile(venueMoves, 0.5).toFixed(2)}), scalper ${LEADER} -> ${FOLLOWER}, md.book conflation per book ${BOOK_INTERVAL ?? '100ms (default)'}, the leader's book ${LEADER_BOOK_INTERVAL === 'none' ? 'the same' : LEADER_BOOK_INTERVAL}, processes market-data, account, execution, strategy; load average ${loadBefore} -> ${loadAverage()}`,
    );
    console.log(
      `${'path'.padEnd(64)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'p50/floor'.padStart(10)}${'p99/floor'.padStart(10)}`,
    );
    row('raw floor (NATS hop + Redis SET + gRPC unary)', floorMs);
    row('  NATS hop: js.publish -> ordered consumer', hops.nats);
    row('  Redis SET', hops.redis);
    row('  gRPC Health/Check to execution', hops.grpc);
    row('PlaceOrder -> ACCEPTED (order path alone)', orderMs);
    row('book change at the venue -> strategy order ACCEPTED', tickMs);
    row('  venue -> market-data -> md.book seen on the log (every sweep)', toMdMs);
    row('  md.book seen -> strategy order ACCEPTED', mdToOrderMs);
    console.log(
      `md.book of every sweep: p90 ${quantile(toMdMs, 0.9).toFixed(2)} ms, max ${quantile(toMdMs, 1).toFixed(2)} ms; its hops (wall clock, ms, p50 / p99 / max): ${Object.entries(
        mdHopMs,
      )
        .map(([hop, xs]) => `${hop} ${quantile(xs, 0.5)} / ${quantile(xs, 0.99)} / ${quantile(xs, 1)}`)
        .join(', ')}`,
    );
    console.log(
      `tick -> order minus the order path alone (market data + strategy), p50: ${(quantile(tickMs, 0.5) - quantile(orderMs, 0.5)).toFixed(2)} ms`,
    );
    const perSample = (name: string) => ((cpuSpent[name] ?? Number.NaN) / N).toFixed(2);
    console.log(
      `CPU ms per sample (a tick -> order, a raw floor and a direct order; the hold and exit included): market-data ${perSample('market-data')}, strategy ${perSample('strategy')}, execution ${perSample('execution')}`,
    );
    console.log(
      `strategy decisions by kind/reason: ${[...decisions].map(([k, n]) => `${k} ${n}`).join(', ')}`,
    );
    console.log('strategy stages (strategy /metrics, mean ms, whole run):');
    for (const [stage, s] of await stageMeans(strategy.httpUrl, 'perpmesh_strategy_stage_seconds'))
      console.log(`  ${stage.padEnd(20)} ${s.mean.toFixed(3)} ms (${s.n})`);
    console.log('execution stages (execution /metrics, mean ms, whole run):');
    for (const [stage, s] of await stageMeans(
      stack.execution.httpUrl,
      'perpmesh_execution_order_stage_seconds',
    ))
      console.log(`  ${stage.padEnd(20)} ${s.mean.toFixed(3)} ms (${s.n})`);
  } catch (err) {
    console.error(`${strategy.describe()}\n${stack.execution.describe()}\n${stack.marketData.describe()}`);
    throw err;
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
    await log?.close();
    for (const p of [stack.execution, stack.account, stack.marketData]) await p.stop().catch(() => undefined);
    await server?.close(100);
    hub.close();
    await stack.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
