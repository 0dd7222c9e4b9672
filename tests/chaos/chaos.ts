/**
 * One chaos run: start the system (system.ts), drive it (load clients through both
 * execution replicas, the funding arb on its own), inject the seeded fault schedule
 * (invariants.ts `faultSchedule`), restart what was killed, then check every invariant from
 * the venue's truth and the log. `runChaos` returns the report; `formatReport` prints it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CallOptions, Metadata, type ServiceError, status as Status } from '@grpc/grpc-js';
import {
  type CancelOrderRequest,
  type CancelOrderResponse,
  type GetBalancesRequest,
  type GetBalancesResponse,
  type GetPositionsRequest,
  type GetPositionsResponse,
  namespaceFor,
  OrderType,
  type PlaceOrderRequest,
  type PlaceOrderResponse,
  PositionSide,
  Side,
  TimeInForce,
} from '@perpmesh/contracts';
import { type Decimal, dec, errorText, sleep } from '@perpmesh/core';
import { eventually } from '@perpmesh/testing';
import type { VenuePort } from '@perpmesh/venues';
import { EventRecorder } from '../e2e/harness.js';
import type { VenueFaultKind } from '../e2e/venue-faults.js';
import {
  type AckedEvent,
  type ArbActivity,
  type ArbDecision,
  arbActivity,
  arbTimeline,
  type Breach,
  checkAckedEventsKept,
  checkAmountsEqual,
  checkArbTraded,
  checkFillsOnceInLog,
  checkLegImbalance,
  checkNoCanary,
  checkNoncesUnique,
  checkOneVenueOrderPerClientId,
  checkRecoveries,
  FAULT_TARGETS,
  type FaultTarget,
  type FillRef,
  faultSchedule,
  INVARIANTS,
  type InvariantName,
  type LegSample,
  type LoggedFill,
  type PlannedFault,
  type PlannedVenueFault,
  percentile,
  positionsFromLoggedFills,
  type Recovery,
  seededRandom,
  type VenueOrderSeen,
  venueClockSkews,
  venueFaultSchedule,
  withLoggedPositions,
} from './invariants.js';
import {
  ARB_ACCOUNT,
  ChaosSystem,
  type ChaosVenueKind,
  type ChaosVenueSet,
  EMULATED_VENUE_SET,
  IMBALANCE_BUDGET,
  LOAD_ACCOUNT,
  PAPER_VENUE_SET,
} from './system.js';

export interface ChaosOptions {
  seed: number;
  /** How long faults are injected, ms (the run then settles and is checked). */
  durationMs: number;
  /** How many faults (each one target or two at once). */
  faults: number;
  /** Every service ready again within this many ms of a restart. */
  recoveryBoundMs: number;
  /** Concurrent load clients (each alternates between the two execution replicas). */
  loadClients: number;
  /** What the faults may hit (default all). */
  targets?: readonly FaultTarget[];
  /** Run the strategy service with the funding arb (default true). */
  strategy?: boolean;
  /** The failure switch: execution replicas from this test entry, with its env. */
  executionEntry?: { entry: string; env: Record<string, string> };
  /** Client order id prefix of the load orders (default `load<seed>`). */
  loadPrefix?: string;
  /**
   * Venue faults the proxy injects over the run (rate limits, 5xx, lost answers of accepted
   * writes, stream drops, book gaps), beside the process faults; with any, every venue's
   * clock is also skewed for the whole run. Default 0: none, no skew.
   */
  venueFaults?: number;
  /** Which venue fault kinds (default all). */
  venueFaultKinds?: readonly VenueFaultKind[];
  /**
   * Trade on the paper venues (default; venue faults through the proxy) or on the venue
   * emulators of libs/emulators (their own fault injection, one clock skew for both, the
   * load clients on an account of their own), the truth read from the emulators.
   */
  venues?: ChaosVenueKind;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface InvariantResult {
  invariant: InvariantName;
  breaches: Breach[];
}

export interface ChaosReport {
  seed: number;
  options: ChaosOptions;
  schedule: PlannedFault[];
  /** The venue fault windows (empty without venue faults). */
  venueSchedule: PlannedVenueFault[];
  /** Each venue's clock skew for the run, ms (empty without venue faults). */
  venueClockSkewMs: Record<string, number>;
  /** `kill9 execution`, `restart nats-server`, `venue rate_limit paper` ... -> count. */
  faultsByKind: Map<string, number>;
  recoveries: Recovery[];
  /** Services that exited without being asked, restarted as a supervisor would. */
  selfExits: Map<string, number>;
  results: InvariantResult[];
  breaches: Breach[];
  stats: {
    loadOrders: number;
    loadAcked: number;
    loadErrors: number;
    loadRefused: number;
    /** Load orders unanswered after every retry, by the fault in progress when they were sent. */
    unanswered: Map<string, number>;
    loadLatenciesMs: number[];
    /** How long the load clients ran, ms (throughput = acknowledged orders over it). */
    loadMs: number;
    /** Cancels of the load's resting orders: answered, and failed by gRPC code. */
    loadCancels: number;
    loadCancelErrors: Map<string, number>;
    venueFills: number;
    arbOrders: number;
    /** The arb account's fills at the venue, per leg venue. */
    arbLegFills: Map<string, number>;
    /** What the arb decided (STRAT stream); undefined without the strategy. */
    arb: ArbActivity | undefined;
    /** The arb's decisions, printed when its legs breached the imbalance budget. */
    arbTimeline: string[];
    /** The leg samples (venue truth) of one-legged moments, printed with the timeline. */
    oneLeggedSamples: string[];
    nonceSends: number;
    resyncs: number;
    /** Calls the venue faults answered (book gaps: deltas dropped), by `<kind> <venue>`. */
    venueFaultHits: Map<string, number>;
    worstImbalance: string;
    ackedEvents: number;
    wallMs: number;
  };
}

/** A unary call with a deadline, as a promise. */
function unary<Req, Res>(
  fn: (
    req: Req,
    meta: Metadata,
    opts: Partial<CallOptions>,
    cb: (err: ServiceError | null, res: Res) => void,
  ) => unknown,
  req: Req,
  timeoutMs: number,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn(req, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

/** Codes of a call that may not have reached a live replica: retried on the other one. */
const RETRIED = new Set<number>([
  Status.UNAVAILABLE,
  Status.DEADLINE_EXCEEDED,
  Status.CANCELLED,
  Status.UNKNOWN,
  Status.INTERNAL,
  Status.ABORTED,
  Status.RESOURCE_EXHAUSTED,
]);

const key3 = (a: string, b: string, c: string) => `${a}/${b}/${c}`;

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const withStrategy = options.strategy ?? true;
  const venueFaults = options.venueFaults ?? 0;
  const venueSet = options.venues === 'emulated' ? EMULATED_VENUE_SET : PAPER_VENUE_SET;
  // With venue faults, the venues' clocks are skewed for the whole run: each paper venue's
  // by the proxy, the emulators' by their own clock (one world: one skew for both).
  const venueClockSkewMs = venueFaults > 0 ? clockSkewsOf(options.seed, venueSet) : {};
  const emulatorClockSkewMs =
    venueSet.kind === 'emulated' ? venueClockSkewMs[venueSet.venues[0] ?? ''] : undefined;
  const venueSchedule = venueFaultSchedule(
    options.seed,
    venueFaults,
    options.durationMs,
    venueSet.faultVenues,
    options.venueFaultKinds,
  );
  const { arbVenues, loadVenues, instruments } = venueSet;
  const instrumentOf = (venue: string) => instruments[venue] ?? '';
  const oneInstrument = new Set(arbVenues.map(instrumentOf)).size === 1;
  const system = await ChaosSystem.create({
    seed: options.seed,
    strategy: withStrategy,
    compressedFunding: true,
    ...(Object.keys(venueClockSkewMs).length > 0 && venueSet.kind === 'paper' ? { venueClockSkewMs } : {}),
    ...(emulatorClockSkewMs === undefined ? {} : { emulatorClockSkewMs }),
    venues: venueSet.kind,
    ...(options.executionEntry ? { executionEntry: options.executionEntry } : {}),
  });
  const ns = namespaceFor('chaos');
  const execStream = `${ns.prefix}EXEC`;
  const execFilter = `${ns.subjectRoot}.exec.>`;
  const schedule = faultSchedule(
    options.seed,
    options.faults,
    options.durationMs,
    options.targets ?? FAULT_TARGETS,
  );
  const pickReplica = seededRandom(options.seed ^ 0x5eed);
  const faultsByKind = new Map<string, number>();
  const recoveries: Recovery[] = [];
  const selfExits = new Map<string, number>();
  const acked: AckedEvent[] = [];
  const legSamples: LegSample[] = [];
  const loadAcked: Array<{ venue: string; clientOrderId: string; venueOrderId: string }> = [];
  const loadLatenciesMs: number[] = [];
  let loadOrders = 0;
  let loadErrors = 0;
  let loadCancels = 0;
  const loadCancelErrors = new Map<string, number>();
  let loadMs = 0;
  /** Load orders refused (not retried): each a bug of the load or of validation. */
  let loadRefused = 0;
  /** Processes deliberately down right now (not restarted by the supervisor). */
  const down = new Set<string>();
  let faultActive = false;
  /** The fault in progress (`kill9 redis-server`), '' between faults. */
  let currentFault = '';
  /** The venue fault in force (`venue rate_limit paper`), '' between them. */
  let currentVenueFault = '';
  const faultsNow = () => [currentFault, currentVenueFault].filter((f) => f !== '').join(' & ');
  /** Load orders no replica answered within the retries, by the fault in progress at the time. */
  const unanswered = new Map<string, number>();
  let running = true;

  try {
    log(
      `seed ${options.seed}: starting the system under ${system.dir} (services ${system.compiled ? 'compiled' : 'from the sources'})`,
    );
    await system.start();
    log(
      `system ready in ${Date.now() - started} ms; ${schedule.length} faults over ${options.durationMs} ms`,
    );
    const truth = new Map<string, VenuePort>();
    for (const venue of venueSet.venues) {
      for (const account of venueSet.accounts)
        truth.set(`${venue}/${account}`, await system.venue(venue, account));
    }
    const clients = system.executions.map((_, i) => system.executionClient(i));

    // ---- the supervisor: a service that exits on its own is restarted, and counted ----------
    const supervisor = (async () => {
      while (running) {
        for (const { process } of system.services()) {
          if (!process.running && !down.has(process.label)) {
            selfExits.set(process.label, (selfExits.get(process.label) ?? 0) + 1);
            log(`${process.label} exited on its own: restarted\n${process.describe(8)}`);
            process.start();
          }
        }
        await sleep(250);
      }
    })();

    // ---- load: orders and cancels through both replicas, retried on the other one -----------
    const prefix = options.loadPrefix ?? `load${options.seed}`;
    const loadRandom = seededRandom(options.seed ^ 0x10ad);
    /** The last error of each client order id that failed an attempt (for the report). */
    const lastError = new Map<string, string>();
    const place = async (req: PlaceOrderRequest, first: number): Promise<PlaceOrderResponse | undefined> => {
      for (let attempt = 0; attempt < 6 && running; attempt++) {
        const client = clients[(first + attempt) % clients.length];
        if (!client) return undefined;
        const t0 = Date.now();
        try {
          const res = await unary<PlaceOrderRequest, PlaceOrderResponse>(
            client.placeOrder.bind(client),
            req,
            5_000,
          );
          loadLatenciesMs.push(Date.now() - t0);
          return res;
        } catch (err) {
          const code = (err as Partial<ServiceError>).code ?? -1;
          lastError.set(req.clientOrderId, Status[code] ?? String(code));
          // Only a call that may not have reached a live replica is retried; a refusal is final.
          if (!RETRIED.has(code)) {
            loadRefused += 1;
            return undefined;
          }
          loadErrors += 1;
          await sleep(300);
        }
      }
      return undefined;
    };
    const loadClient = async (n: number) => {
      for (let i = 0; running && loadVenues.length > 0; i++) {
        const venue = loadVenues[i % loadVenues.length] as string;
        const resting = loadRandom() < 0.3;
        const req: PlaceOrderRequest = {
          clientOrderId: `${prefix}-${n}-${i}`,
          venue,
          account: LOAD_ACCOUNT,
          instrument: instrumentOf(venue),
          side: loadRandom() < 0.5 ? Side.SIDE_BUY : Side.SIDE_SELL,
          type: resting ? OrderType.ORDER_TYPE_LIMIT : OrderType.ORDER_TYPE_MARKET,
          timeInForce: resting ? TimeInForce.TIME_IN_FORCE_GTC : TimeInForce.TIME_IN_FORCE_IOC,
          price: resting ? '20000' : '',
          // Above the venue's 100 USDC minimum notional at the resting price and at market.
          size: resting ? '0.01' : '0.003',
          reduceOnly: false,
          correlationId: '',
        };
        if (resting) req.side = Side.SIDE_BUY;
        loadOrders += 1;
        const faultAtStart = faultsNow();
        const res = await place(req, n + i);
        if (!res && running) {
          const during = `${faultAtStart || faultsNow() || 'no fault'} (${lastError.get(req.clientOrderId) ?? '?'})`;
          unanswered.set(during, (unanswered.get(during) ?? 0) + 1);
        }
        if (res?.order) {
          loadAcked.push({ venue, clientOrderId: req.clientOrderId, venueOrderId: res.order.venueOrderId });
          acked.push({ stream: 'EXEC', id: `order:${venue}/${req.clientOrderId}` });
          if (resting) {
            const client = clients[(n + i + 1) % clients.length];
            if (client) {
              await unary<CancelOrderRequest, CancelOrderResponse>(
                client.cancelOrder.bind(client),
                {
                  venue,
                  account: LOAD_ACCOUNT,
                  instrument: instrumentOf(venue),
                  orderId: { $case: 'clientOrderId', value: req.clientOrderId },
                },
                5_000,
              ).then(
                () => {
                  loadCancels += 1;
                },
                (err: unknown) => {
                  const code = (err as Partial<ServiceError>).code ?? -1;
                  const name = `${Status[code] ?? String(code)}`;
                  loadCancelErrors.set(name, (loadCancelErrors.get(name) ?? 0) + 1);
                },
              );
            }
          }
        }
        await sleep(150);
      }
    };
    const loadStarted = Date.now();
    const loads = Array.from({ length: options.loadClients }, (_, n) => loadClient(n));

    // ---- leg sampler: the arb account's signed notional per venue, from the truth -------------
    const sampler = (async () => {
      while (running) {
        try {
          const legs: Array<{ size: Decimal; mark: Decimal } | undefined> = [];
          for (const venue of arbVenues) {
            const positions = await (truth.get(`${venue}/${ARB_ACCOUNT}`) as VenuePort).fetchPositions();
            const p = positions.find((x) => x.instrument === instrumentOf(venue));
            legs.push(p ? { size: p.size, mark: p.markPrice } : undefined);
          }
          // Legs of one exposure on different instruments (USDT vs USDC) are valued at one
          // price, or the marks' basis would read as imbalance while the sizes hedge.
          const oneMark = oneInstrument ? undefined : legs.find((l) => l !== undefined)?.mark;
          const notionals = legs.map((l) => (l ? l.size.times(oneMark ?? l.mark).toString() : '0'));
          const strategyDown = system.strategy ? !system.strategy.running : false;
          legSamples.push({
            atMs: Date.now(),
            instrument: [...new Set(arbVenues.map(instrumentOf))].join('~'),
            notionals,
            paused: faultActive || strategyDown,
          });
        } catch {
          // The venue is never killed; a slow answer skips one sample.
        }
        await sleep(500);
      }
    })();

    // ---- checkpoints of the log: every event seen stored must still be there at the end ------
    const checkpoint = async (what: string) => {
      try {
        const ids = await logIds(system.natsUrl, execFilter, execStream);
        for (const id of ids) acked.push({ stream: 'EXEC', id });
        log(`checkpoint ${what}: ${ids.length} exec events stored`);
      } catch (err) {
        log(`checkpoint ${what} skipped: ${errorText(err)}`);
      }
    };

    // ---- the faults ---------------------------------------------------------------------------
    const faultStart = Date.now();
    /** How long until every service is ready again after a fault (undefined: never). */
    const measureRecovery = async (label: string): Promise<number | undefined> => {
      const t0 = Date.now();
      let ms: number | undefined;
      let slowest = '';
      try {
        slowest = (await system.waitRecovered(options.recoveryBoundMs * 2)).slowest;
        ms = Date.now() - t0;
      } catch (err) {
        log(`not ready after ${label}: ${errorText(err).slice(0, 2000)}`);
      }
      if (ms === undefined || ms > options.recoveryBoundMs) {
        // What the slow process waited for: its last /readyz and log lines.
        for (const { process } of system.services()) {
          if (ms === undefined || process.label === slowest) log(`slow recovery: ${process.describe(30)}`);
        }
      }
      recoveries.push({ fault: label, ms, ...(slowest ? { slowest } : {}) });
      log(`  ready again after ${ms ?? 'never'} ms${slowest ? ` (last ready: ${slowest})` : ''}`);
      return ms;
    };
    // Venue faults run beside the process faults, on their own clock: the proxy holds each
    // in force for its window, then the services must be ready again within the bound.
    const venueFaultRun = (async () => {
      for (const [i, planned] of venueSchedule.entries()) {
        const wait = faultStart + planned.atMs - Date.now();
        if (wait > 0) await sleep(wait);
        if (!running) return;
        const label = `venue ${planned.fault.kind} ${planned.fault.venue}`;
        faultsByKind.set(label, (faultsByKind.get(label) ?? 0) + 1);
        currentVenueFault = label;
        log(
          `venue fault ${i + 1}/${venueSchedule.length} at +${Date.now() - faultStart} ms: ${label} for ${planned.durationMs} ms`,
        );
        const end = system.injectVenueFault(planned.fault);
        await sleep(planned.durationMs);
        end();
        currentVenueFault = '';
        // A process fault in progress owns the wait that follows (its recovery is measured):
        // counting it again here would charge a venue fault with a process restart.
        if (currentFault) log(`  ${label} ended during ${currentFault}: its recovery is that fault's`);
        else await measureRecovery(label);
      }
    })();
    for (const [i, fault] of schedule.entries()) {
      const wait = faultStart + fault.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      faultActive = true;
      const label = `${fault.kind} ${fault.targets.join('+')}`;
      currentFault = label;
      log(`fault ${i + 1}/${schedule.length} at +${Date.now() - faultStart} ms: ${label}`);
      for (const target of fault.targets) {
        faultsByKind.set(`${fault.kind} ${target}`, (faultsByKind.get(`${fault.kind} ${target}`) ?? 0) + 1);
      }
      const hit = fault.targets.map((target) => resolveTarget(system, target, pickReplica));
      for (const h of hit) down.add(h.label);
      await Promise.all(
        hit.map(async (h) => {
          if (fault.kind === 'kill9') await h.kill9();
          else await h.stop().catch((err: unknown) => log(`${h.label} unclean stop: ${errorText(err)}`));
        }),
      );
      await sleep(fault.downMs);
      // Servers first: the services come back onto them.
      for (const h of hit.filter((x) => x.server)) await h.start();
      for (const h of hit.filter((x) => !x.server)) await h.start();
      for (const h of hit) down.delete(h.label);
      await measureRecovery(label);
      faultActive = false;
      currentFault = '';
      if (fault.targets.includes('nats-server')) await checkpoint(`after fault ${i + 1}`);
    }
    const rest = faultStart + options.durationMs - Date.now();
    if (rest > 0) await sleep(rest);
    await venueFaultRun;

    // ---- settle: stop the load and the strategy, then read the truth -------------------------
    running = false;
    await Promise.all([...loads, sampler, supervisor]);
    loadMs = Date.now() - loadStarted;
    await system.waitRecovered(options.recoveryBoundMs * 2).catch((err: unknown) => log(errorText(err)));
    if (system.strategy) {
      await system.strategy.stop(20_000).catch((err: unknown) => log(`strategy stop: ${errorText(err)}`));
    }
    await checkpoint('final');

    // The venue's fills and orders.
    const venueFills: Array<FillRef & { clientOrderId: string; venueOrderId: string }> = [];
    const orders: VenueOrderSeen[] = [];
    for (const [key, port] of truth) {
      const [venue, account] = key.split('/') as [string, string];
      for (const f of await port.fetchFills(0)) {
        venueFills.push({
          venue,
          account,
          tradeId: f.tradeId,
          clientOrderId: f.clientOrderId,
          venueOrderId: f.venueOrderId,
        });
        orders.push({ venue, account, clientOrderId: f.clientOrderId, venueOrderId: f.venueOrderId });
      }
      for (const o of await port.fetchOpenOrders()) {
        orders.push({ venue, account, clientOrderId: o.clientOrderId, venueOrderId: o.venueOrderId });
      }
    }
    for (const a of loadAcked) {
      if (a.venueOrderId !== '') {
        orders.push({
          venue: a.venue,
          account: LOAD_ACCOUNT,
          clientOrderId: a.clientOrderId,
          venueOrderId: a.venueOrderId,
        });
      }
    }

    // exec.fill: the log catches up with the venue (reconciliation) within a bound.
    let fillBreaches: Breach[] = [];
    let finalIds = new Set<string>();
    await eventually(
      'exec.fill to hold every venue fill',
      async () => {
        const read = await readLog(system.natsUrl, execFilter, execStream);
        finalIds = read.ids;
        fillBreaches = checkFillsOnceInLog(venueFills, read.fills);
        return fillBreaches.length === 0 ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 1_000 },
    ).catch(() => undefined);

    // Account = venue, read at the same time (retried until equal, within a bound).
    let positionBreaches: Breach[] = [];
    let balanceBreaches: Breach[] = [];
    const accountClient = system.accountClient();
    await eventually(
      'the account service to equal the venue',
      async () => {
        const venuePositions = new Map<string, string>();
        const venueBalances = new Map<string, string>();
        for (const [key, port] of truth) {
          const [venue, account] = key.split('/') as [string, string];
          for (const p of await port.fetchPositions())
            venuePositions.set(key3(venue, account, p.instrument), p.size.toString());
          for (const b of await port.fetchBalances())
            venueBalances.set(key3(venue, account, b.asset), b.total.toString());
        }
        const positions = await unary<GetPositionsRequest, GetPositionsResponse>(
          accountClient.getPositions.bind(accountClient),
          { venue: '', account: '', instrument: '' },
          5_000,
        );
        const balances = await unary<GetBalancesRequest, GetBalancesResponse>(
          accountClient.getBalances.bind(accountClient),
          { venue: '', account: '' },
          5_000,
        );
        const accountPositions = new Map<string, string>();
        for (const v of positions.positions) {
          const p = v.position;
          if (!p) continue;
          const size: Decimal = dec(p.size === '' ? '0' : p.size);
          accountPositions.set(
            key3(p.venue, p.account, p.instrument),
            (p.side === PositionSide.POSITION_SIDE_SHORT ? size.neg() : size).toString(),
          );
        }
        const accountBalances = new Map<string, string>();
        for (const v of balances.balances) {
          const b = v.balance;
          if (b) accountBalances.set(key3(b.venue, b.account, b.currency), b.total);
        }
        positionBreaches = checkAmountsEqual('account positions = venue', accountPositions, venuePositions);
        balanceBreaches = checkAmountsEqual('account balances = venue', accountBalances, venueBalances);
        return positionBreaches.length + balanceBreaches.length === 0 ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    ).catch(() => undefined);

    // Client-acknowledged orders: some order event of theirs is on the log.
    const read = await readLog(system.natsUrl, execFilter, execStream);
    for (const id of read.ids) finalIds.add(id);
    positionBreaches = withLoggedPositions(positionBreaches, positionsFromLoggedFills(read.fills));

    const sends = (system.proxy?.sent ?? []).filter((s) => s.nonce !== '');
    const nonces = checkNoncesUnique(sends, new Set(sends.map((s) => `${s.venue}/${s.clientOrderId}`)).size);
    const legs = checkLegImbalance(legSamples, IMBALANCE_BUDGET);
    const arbFills = venueFills.filter((f) => f.account === ARB_ACCOUNT && arbVenues.includes(f.venue));
    const arbLegFills = new Map<string, number>(arbVenues.map((v) => [v, 0]));
    for (const f of arbFills) arbLegFills.set(f.venue, (arbLegFills.get(f.venue) ?? 0) + 1);
    const decisions = withStrategy ? await readArbDecisions(system.natsUrl) : [];
    const arb = withStrategy ? arbActivity(decisions) : undefined;
    // Without the strategy there is no arb to have traded: that invariant is not checked.
    const checked = INVARIANTS.filter((n) => withStrategy || n !== 'the arb traded');
    const byInvariant = new Map<InvariantName, Breach[]>(checked.map((n) => [n, []]));
    const add = (list: Breach[]) => {
      for (const b of list) byInvariant.get(b.invariant)?.push(b);
    };
    add(checkOneVenueOrderPerClientId(orders));
    add(fillBreaches);
    add(checkAckedEventsKept(acked, finalIds));
    add(nonces.breaches);
    add(positionBreaches);
    add(balanceBreaches);
    add(legs.breaches);
    add(checkRecoveries(recoveries, options.recoveryBoundMs));
    // The canary: the bearer token every process got reaches no log line, stderr or event.
    const outputs = [system.paperVenue, ...system.services().map((s) => s.process)].flatMap((p) => [
      { where: `${p.label} log`, text: JSON.stringify(p.logs) },
      { where: `${p.label} stderr`, text: p.stderr() },
    ]);
    outputs.push({ where: 'the exec events', text: read.texts.join('\n') });
    for (const file of filesUnder(system.dir))
      outputs.push({ where: file, text: readFileSync(file, 'latin1') });
    add(checkNoCanary(outputs, system.token));
    if (withStrategy) add(checkArbTraded(arbFills, arbVenues));
    const results = [...byInvariant].map(([invariant, breaches]) => ({ invariant, breaches }));
    return {
      seed: options.seed,
      options,
      schedule,
      venueSchedule,
      venueClockSkewMs,
      faultsByKind,
      recoveries,
      selfExits,
      results,
      breaches: results.flatMap((r) => r.breaches),
      stats: {
        loadOrders,
        loadAcked: loadAcked.length,
        loadErrors,
        loadRefused,
        unanswered,
        loadLatenciesMs,
        loadMs,
        loadCancels,
        loadCancelErrors,
        venueFills: venueFills.length,
        arbOrders: new Set(venueFills.filter((f) => f.account === ARB_ACCOUNT).map((f) => f.clientOrderId))
          .size,
        arbLegFills,
        arb,
        arbTimeline: legs.breaches.length > 0 ? arbTimeline(decisions) : [],
        oneLeggedSamples:
          legs.breaches.length > 0
            ? legSamples
                .filter((x) =>
                  x.notionals
                    .reduce((a, n) => a.plus(dec(n)), dec(0))
                    .abs()
                    .gt(1),
                )
                .slice(-60)
                .map(
                  (x) =>
                    `${new Date(x.atMs).toISOString().slice(11, 23)} ${x.notionals.join(' / ')}${x.paused ? ' (paused)' : ''}`,
                )
            : [],
        nonceSends: sends.length,
        resyncs: nonces.resyncs,
        venueFaultHits: system.venueFaultHits(),
        worstImbalance: legs.worst.toFixed(0),
        ackedEvents: new Set(acked.map((a) => a.id)).size,
        wallMs: Date.now() - started,
      },
    };
  } finally {
    running = false;
    await system.close();
  }
}

/**
 * The venues' clock skews of a run: one per paper venue, one for every emulator (they run
 * on one world clock), the same seeded stream either way.
 */
function clockSkewsOf(seed: number, venueSet: ChaosVenueSet): Record<string, number> {
  if (venueSet.kind === 'paper') return venueClockSkews(seed, venueSet.venues);
  const skew = venueClockSkews(seed, ['emulators']).emulators ?? 0;
  return Object.fromEntries(venueSet.venues.map((venue) => [venue, skew]));
}

/** Every file under `dir` (the servers' data, the config): the canary must be in none. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

interface FaultHandle {
  label: string;
  server: boolean;
  kill9(): Promise<unknown>;
  stop(): Promise<unknown>;
  start(): Promise<unknown>;
}

function resolveTarget(system: ChaosSystem, target: FaultTarget, random: () => number): FaultHandle {
  if (target === 'nats-server' || target === 'redis-server') {
    const server = target === 'nats-server' ? system.nats : system.redis;
    return {
      label: target,
      server: true,
      kill9: () => server.kill9(),
      stop: () => server.stop(),
      start: () => server.start(),
    };
  }
  const candidates = system.services().filter((s) => s.target === target);
  const chosen = candidates[Math.floor(random() * candidates.length)] ?? candidates[0];
  if (!chosen) throw new Error(`no process for fault target ${target}`);
  const p = chosen.process;
  return {
    label: p.label,
    server: false,
    kill9: () => p.kill9(),
    stop: () => p.stop(20_000),
    start: async () => p.start(),
  };
}

/** Every envelope id on the exec stream, and the fills on it, read from the start. */
async function readLog(
  natsUrl: string,
  filter: string,
  stream: string,
): Promise<{ ids: Set<string>; fills: LoggedFill[]; texts: string[] }> {
  const recorder = await EventRecorder.open(natsUrl, filter);
  try {
    await recorder.caughtUp(stream, 15_000);
    const ids = new Set<string>();
    const fills: LoggedFill[] = [];
    const texts: string[] = [];
    for (const { envelope } of recorder.events) {
      texts.push(JSON.stringify(envelope, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
      ids.add(envelope.id);
      const p = envelope.payload;
      if (p?.$case === 'fill')
        fills.push({
          venue: p.value.venue,
          account: p.value.account,
          tradeId: p.value.tradeId,
          instrument: p.value.instrument,
          side: p.value.side === Side.SIDE_SELL ? 'sell' : 'buy',
          size: p.value.size,
        });
      if (p?.$case === 'orderEvent' && p.value.order) {
        ids.add(`order:${p.value.order.venue}/${p.value.order.clientOrderId}`);
      }
    }
    return { ids, fills, texts };
  } finally {
    await recorder.close();
  }
}

/** The strategy's decisions on the STRAT stream, read from the start. */
async function readArbDecisions(natsUrl: string): Promise<ArbDecision[]> {
  const ns = namespaceFor('chaos');
  const recorder = await EventRecorder.open(natsUrl, `${ns.subjectRoot}.strat.>`);
  try {
    await recorder.caughtUp(`${ns.prefix}STRAT`, 15_000);
    return recorder.events.flatMap(({ envelope }) =>
      envelope.payload?.$case === 'strategyDecision'
        ? [
            {
              atMs: envelope.tsInit,
              kind: envelope.payload.value.kind,
              reasonCode: envelope.payload.value.reasonCode,
              message: envelope.payload.value.reason,
              inputs: envelope.payload.value.inputs,
            },
          ]
        : [],
    );
  } finally {
    await recorder.close();
  }
}

async function logIds(natsUrl: string, filter: string, stream: string): Promise<string[]> {
  return [...(await readLog(natsUrl, filter, stream)).ids].filter((id) => !id.startsWith('order:'));
}

/** The report as a table: faults per kind, recovery times, each invariant held or breached. */
export function formatReport(report: ChaosReport): string {
  const lines: string[] = [];
  const { stats } = report;
  const recovered = report.recoveries.flatMap((r) => (r.ms === undefined ? [] : [r.ms]));
  lines.push(
    `chaos run: seed ${report.seed}, ${report.options.venues ?? 'paper'} venues, ${report.options.durationMs / 1000} s of faults, ${report.schedule.length} faults, ${report.venueSchedule.length} venue faults, ${(stats.wallMs / 1000).toFixed(0)} s wall`,
  );
  lines.push('');
  lines.push('| fault | count |');
  lines.push('|---|---|');
  for (const [kind, n] of [...report.faultsByKind].sort()) lines.push(`| ${kind} | ${n} |`);
  lines.push(
    `| faults hitting two targets at once | ${report.schedule.filter((f) => f.targets.length === 2).length} |`,
  );
  const skews = Object.entries(report.venueClockSkewMs);
  if (skews.length > 0) {
    const text = skews.map(([venue, ms]) => `${venue} ${ms > 0 ? '+' : ''}${ms}`).join(', ');
    lines.push(`| venue clock skew for the whole run, ms | ${text} |`);
  }
  lines.push('');
  lines.push('| recovery (restart -> every service ready) | ms |');
  lines.push('|---|---|');
  lines.push(`| p50 | ${percentile(recovered, 50)} |`);
  lines.push(`| p99 | ${percentile(recovered, 99)} |`);
  lines.push(`| max | ${recovered.length ? Math.max(...recovered) : 0} |`);
  lines.push(`| never ready | ${report.recoveries.length - recovered.length} |`);
  // Venue faults that ended during a process fault are not measured (that fault's recovery is).
  const afterVenueAlone = report.recoveries.flatMap((r) =>
    r.fault.startsWith('venue ') && r.ms !== undefined ? [r.ms] : [],
  );
  if (report.venueSchedule.length > 0)
    lines.push(
      `| after a venue fault alone: p50 / max (${afterVenueAlone.length}) | ${percentile(afterVenueAlone, 50)} / ${afterVenueAlone.length ? Math.max(...afterVenueAlone) : 0} |`,
    );
  lines.push(`| bound | ${report.options.recoveryBoundMs} |`);
  lines.push('');
  lines.push('| invariant | result |');
  lines.push('|---|---|');
  for (const r of report.results)
    lines.push(
      `| ${r.invariant} | ${r.breaches.length === 0 ? 'held' : `BREACHED (${r.breaches.length})`} |`,
    );
  lines.push('');
  lines.push('| traffic | count |');
  lines.push('|---|---|');
  lines.push(
    `| load orders (acknowledged / refused / failed calls retried) | ${stats.loadOrders} (${stats.loadAcked} / ${stats.loadRefused} / ${stats.loadErrors}) |`,
  );
  const byFault = [...stats.unanswered]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  lines.push(
    `| load orders unanswered (retries spent or refused), by fault in progress (last code) | ${byFault || 'none'} |`,
  );
  lines.push(
    `| load PlaceOrder latency p50 / p99 ms | ${percentile(stats.loadLatenciesMs, 50)} / ${percentile(stats.loadLatenciesMs, 99)} |`,
  );
  const loadSeconds = stats.loadMs / 1000;
  lines.push(
    `| load throughput, acknowledged orders/s (${report.options.loadClients} clients over ${loadSeconds.toFixed(0)} s) | ${loadSeconds > 0 ? (stats.loadAcked / loadSeconds).toFixed(1) : '0'} |`,
  );
  const cancelErrors = [...stats.loadCancelErrors]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  lines.push(
    `| load cancels of resting orders: answered / failed (by code) | ${stats.loadCancels} / ${cancelErrors || 'none'} |`,
  );
  lines.push(`| venue fills checked | ${stats.venueFills} |`);
  if (stats.arb) {
    const { entered, adopted, adoptions, opened, closed, skips } = stats.arb;
    lines.push(
      `| arbs entered / adopted at a start / open (both legs filled) / closed | ${entered} / ${adopted} / ${opened} / ${closed} |`,
    );
    if (adoptions.length > 0) lines.push(`| arbs adopted | ${adoptions.join('; ')} |`);
    const why = [...skips]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    lines.push(`| arb skip decisions, by reason | ${why || 'none'} |`);
  }
  const legFills = [...stats.arbLegFills].map(([venue, n]) => `${venue} ${n}`).join(', ');
  lines.push(`| arb leg fills at the venue | ${legFills} |`);
  lines.push(`| arb orders filled | ${stats.arbOrders} |`);
  lines.push(`| nonce sends / resyncs | ${stats.nonceSends} / ${stats.resyncs} |`);
  if (report.venueSchedule.length > 0) {
    const hits = [...stats.venueFaultHits]
      .sort()
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    const what =
      report.options.venues === 'emulated'
        ? 'emulator faults armed (rate limit / 5xx: 5 requests each)'
        : 'calls answered by venue faults (book_gap: deltas dropped)';
    lines.push(`| ${what} | ${hits || 'none'} |`);
  }
  lines.push(`| acknowledged events checked | ${stats.ackedEvents} |`);
  lines.push(
    `| worst arb imbalance episode (quote x s, budget ${IMBALANCE_BUDGET}) | ${stats.worstImbalance} |`,
  );
  const exits = [...report.selfExits].map(([k, v]) => `${k} ${v}`).join(', ');
  lines.push(`| services that exited on their own (restarted) | ${exits || 'none'} |`);
  if (report.breaches.length > 0) {
    lines.push('');
    lines.push(`BREACHES (${report.breaches.length}), reproduce with CHAOS_SEED=${report.seed}:`);
    for (const b of report.breaches.slice(0, 30)) lines.push(`  ${b.invariant}: ${b.detail}`);
  }
  if (stats.arbTimeline.length > 0) {
    lines.push('');
    lines.push(
      `the arb's decisions (UTC; ${[...stats.arbLegFills.keys()].join(' / ')} leg notionals below):`,
    );
    for (const line of stats.arbTimeline) lines.push(`  ${line}`);
    lines.push('one-legged samples at the venue (UTC, signed notional per leg venue):');
    for (const line of stats.oneLeggedSamples) lines.push(`  ${line}`);
  }
  return lines.join('\n');
}
