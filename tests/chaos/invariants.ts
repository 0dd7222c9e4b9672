/**
 * The chaos suite's invariants as pure functions over what was read from the venue (the
 * truth), the event log and the harness's own records. Each returns the breaches it found
 * (empty = held), so invariants.unit.test.ts can prove each one catches a crafted breach.
 */
import { Decimal, dec } from '@perpmesh/core';
import { VENUE_FAULT_KINDS, type VenueFault, type VenueFaultKind } from '../e2e/venue-faults.js';

export const INVARIANTS = [
  'one venue order per client order id',
  'every venue fill once in exec.fill',
  'acknowledged events kept',
  'no nonce twice per key',
  'account positions = venue',
  'account balances = venue',
  'arb legs within imbalance budget',
  'ready again within bound',
  'no secret in logs or events',
  'the arb traded',
] as const;
export type InvariantName = (typeof INVARIANTS)[number];

export interface Breach {
  invariant: InvariantName;
  detail: string;
}

const breach = (invariant: InvariantName, detail: string): Breach => ({ invariant, detail });

/** An order the venue holds (open, or known through its fills). */
export interface VenueOrderSeen {
  venue: string;
  account: string;
  clientOrderId: string;
  venueOrderId: string;
}

/** One client order id of one account maps to at most one venue order. */
export function checkOneVenueOrderPerClientId(orders: readonly VenueOrderSeen[]): Breach[] {
  const byClientId = new Map<string, Set<string>>();
  for (const o of orders) {
    if (o.clientOrderId === '') continue;
    const key = `${o.venue}/${o.account}/${o.clientOrderId}`;
    const ids = byClientId.get(key) ?? new Set<string>();
    ids.add(o.venueOrderId);
    byClientId.set(key, ids);
  }
  return [...byClientId]
    .filter(([, ids]) => ids.size > 1)
    .map(([key, ids]) =>
      breach(
        'one venue order per client order id',
        `${key} is ${ids.size} venue orders: ${[...ids].join(', ')}`,
      ),
    );
}

export interface FillRef {
  venue: string;
  account: string;
  tradeId: string;
}

/** Every venue fill appears exactly once in exec.fill; the log holds no fill the venue does not. */
export function checkFillsOnceInLog(venueFills: readonly FillRef[], logFills: readonly FillRef[]): Breach[] {
  const key = (f: FillRef) => `${f.venue}/${f.account}/${f.tradeId}`;
  const counts = new Map<string, number>();
  for (const f of logFills) counts.set(key(f), (counts.get(key(f)) ?? 0) + 1);
  const out: Breach[] = [];
  const truth = new Set(venueFills.map(key));
  for (const k of truth) {
    const n = counts.get(k) ?? 0;
    if (n !== 1)
      out.push(breach('every venue fill once in exec.fill', `venue fill ${k} is ${n} times in exec.fill`));
  }
  for (const k of counts.keys()) {
    if (!truth.has(k))
      out.push(breach('every venue fill once in exec.fill', `exec.fill ${k} is no venue fill`));
  }
  return out;
}

/** An event seen acknowledged during the run: by id, with the stream it was on. */
export interface AckedEvent {
  stream: string;
  id: string;
}

/** Every event that was acknowledged (seen stored, or promised to a client) is still in the log. */
export function checkAckedEventsKept(acked: readonly AckedEvent[], finalIds: ReadonlySet<string>): Breach[] {
  const missing = acked.filter((e) => !finalIds.has(e.id));
  if (missing.length === 0) return [];
  return [
    breach(
      'acknowledged events kept',
      `${missing.length} acknowledged event(s) missing from the log, e.g. ${missing
        .slice(0, 3)
        .map((e) => `${e.stream}:${e.id}`)
        .join(', ')}`,
    ),
  ];
}

export interface NonceSend {
  venue: string;
  apiKeyId: string;
  nonce: string;
}

/**
 * No nonce sent twice for one key. Sends beyond one per order are resyncs (a stale nonce
 * refused, retried with a fresh one): counted, not failed.
 */
export function checkNoncesUnique(
  sends: readonly NonceSend[],
  ordersPlaced: number,
): { breaches: Breach[]; resyncs: number } {
  const seen = new Set<string>();
  const breaches: Breach[] = [];
  let withNonce = 0;
  for (const s of sends) {
    if (s.nonce === '') continue;
    withNonce += 1;
    const key = `${s.venue}/${s.apiKeyId}/${s.nonce}`;
    if (seen.has(key)) breaches.push(breach('no nonce twice per key', `nonce ${key} was sent twice`));
    seen.add(key);
  }
  return { breaches, resyncs: Math.max(0, withNonce - ordersPlaced) };
}

/** A fill on the log with what it did to the position: its side and size (decimal text). */
export interface LoggedFill extends FillRef {
  instrument: string;
  side: 'buy' | 'sell';
  size: string;
}

/** The position the log's fills add up to, per `venue/account/instrument` (each trade id once). */
export function positionsFromLoggedFills(fills: readonly LoggedFill[]): Map<string, string> {
  const seen = new Set<string>();
  const sums = new Map<string, Decimal>();
  for (const f of fills) {
    const trade = `${f.venue}/${f.account}/${f.tradeId}`;
    if (seen.has(trade)) continue;
    seen.add(trade);
    const key = `${f.venue}/${f.account}/${f.instrument}`;
    const signed = f.side === 'buy' ? dec(f.size) : dec(f.size).neg();
    sums.set(key, (sums.get(key) ?? new Decimal(0)).plus(signed));
  }
  return new Map([...sums].map(([k, v]) => [k, v.toString()]));
}

/**
 * Position breaches with what the log's fills add up to beside them: log = venue means the
 * projection lagged or skipped a fill; log = account means a fill is missing from the log.
 */
export function withLoggedPositions(breaches: readonly Breach[], logged: Amounts): Breach[] {
  return breaches.map((b) => {
    if (b.invariant !== 'account positions = venue') return b;
    const key = b.detail.slice(0, b.detail.indexOf(': '));
    return {
      ...b,
      detail: `${b.detail}; the log's fills add up to ${dec(logged.get(key) ?? '0').toString()}`,
    };
  });
}

/** Amounts keyed by `venue/account/instrument-or-asset`, decimal text. */
export type Amounts = ReadonlyMap<string, string>;

/**
 * The account service's view equals the venue's at the same as-of: every key, zero when
 * absent on one side.
 */
export function checkAmountsEqual(
  invariant: 'account positions = venue' | 'account balances = venue',
  account: Amounts,
  venue: Amounts,
): Breach[] {
  const out: Breach[] = [];
  for (const key of new Set([...account.keys(), ...venue.keys()])) {
    const a = dec(account.get(key) ?? '0');
    const v = dec(venue.get(key) ?? '0');
    if (!a.eq(v)) out.push(breach(invariant, `${key}: account ${a.toString()} vs venue ${v.toString()}`));
  }
  return out;
}

/** One sample of the arb's legs: the signed quote notional per venue of one instrument. */
export interface LegSample {
  atMs: number;
  instrument: string;
  /** Signed notional per venue (long > 0); the arb is hedged when they sum to zero. */
  notionals: readonly string[];
  /** A fault was active (a process down or not yet ready): nobody could hedge, not counted. */
  paused: boolean;
}

/**
 * The imbalance (|sum of the legs' signed notional|) integrated over time, in quote x
 * seconds, per episode (an episode ends when the legs are balanced within `tolerance`
 * notional); no episode may spend more than `budget`. Paused intervals are not counted.
 */
export function checkLegImbalance(
  samples: readonly LegSample[],
  budget: string,
  tolerance = '1',
): { breaches: Breach[]; worst: Decimal } {
  const limit = dec(budget);
  const tol = dec(tolerance);
  const byInstrument = new Map<string, LegSample[]>();
  for (const s of samples) byInstrument.set(s.instrument, [...(byInstrument.get(s.instrument) ?? []), s]);
  const breaches: Breach[] = [];
  let worst = new Decimal(0);
  for (const [instrument, list] of byInstrument) {
    const sorted = [...list].sort((a, b) => a.atMs - b.atMs);
    let spent = new Decimal(0);
    let reported = false;
    for (let i = 0; i + 1 < sorted.length; i++) {
      const s = sorted[i] as LegSample;
      const next = sorted[i + 1] as LegSample;
      const imbalance = s.notionals.reduce((sum, n) => sum.plus(dec(n)), new Decimal(0)).abs();
      if (imbalance.lte(tol)) {
        spent = new Decimal(0);
        reported = false;
        continue;
      }
      if (s.paused) continue;
      spent = spent.plus(imbalance.times(next.atMs - s.atMs).div(1000));
      if (spent.gt(worst)) worst = spent;
      if (spent.gt(limit) && !reported) {
        reported = true;
        breaches.push(
          breach(
            'arb legs within imbalance budget',
            `${instrument}: ${spent.toFixed(0)} quote x s one-legged by ${new Date(next.atMs).toISOString()} (budget ${limit.toString()})`,
          ),
        );
      }
    }
  }
  return { breaches, worst };
}

export interface Recovery {
  /** What was faulted, e.g. `execution+redis-server`. */
  fault: string;
  /** From the restart to every service ready; undefined = never ready. */
  ms: number | undefined;
  /** The process that was ready last (the one that set `ms`). */
  slowest?: string;
}

/** Every service ready again within `boundMs` of a fault's restart. */
export function checkRecoveries(recoveries: readonly Recovery[], boundMs: number): Breach[] {
  return recoveries
    .filter((r) => r.ms === undefined || r.ms > boundMs)
    .map((r) =>
      breach(
        'ready again within bound',
        `after ${r.fault}: ${r.ms === undefined ? 'never ready' : `ready after ${r.ms} ms`}${r.slowest ? `, ${r.slowest} last` : ''} (bound ${boundMs} ms)`,
      ),
    );
}

/** A text the run produced: a service's log lines or stderr, the events on the log. */
export interface Output {
  where: string;
  text: string;
}

/** The canary secret (the bearer token every service was given) appears in no output. */
export function checkNoCanary(outputs: readonly Output[], canary: string): Breach[] {
  if (canary.length < 8) throw new Error('canary: at least 8 characters, or it matches by chance');
  return outputs
    .filter((o) => o.text.includes(canary))
    .map((o) => breach('no secret in logs or events', `the canary secret appears in ${o.where}`));
}

/** A fill of the arb's account at the venue (the truth). */
export interface ArbLegFill {
  venue: string;
  tradeId: string;
}

/**
 * The arb traded: its account has fills on every leg venue. Without them the leg-imbalance
 * invariant and the arb's part of the others held without being exercised, so the run
 * proves nothing about the arb: that is a breach, not a pass.
 */
export function checkArbTraded(fills: readonly ArbLegFill[], legVenues: readonly string[]): Breach[] {
  return legVenues
    .filter((venue) => !fills.some((f) => f.venue === venue))
    .map((venue) =>
      breach(
        'the arb traded',
        `no arb leg filled on ${venue} (${fills.length} arb fill(s) in all); read the strategy's skip decisions on the STRAT stream`,
      ),
    );
}

/** A decision of the arb as published on the STRAT stream (the fields the counts need). */
export interface ArbDecision {
  /** When the strategy made it (the envelope's creation time), ms since epoch. */
  atMs: number;
  kind: string;
  reasonCode: string;
  message: string;
  inputs: Readonly<Record<string, string>>;
}

export interface ArbActivity {
  /** Arbs whose entry was decided (both legs ordered). */
  entered: number;
  /**
   * Arbs taken over at a start from venue positions no saved arb accounted for (adoption):
   * closed without an entry of their own; each one's decision message is in `adoptions`.
   */
  adopted: number;
  adoptions: string[];
  /** Arbs open: both legs filled (in full, in part, or after unwinding to a matched size). */
  opened: number;
  /** Arbs closed (both legs out). */
  closed: number;
  /** Skip decisions by reason code: why the arb did not enter when it did not. */
  skips: Map<string, number>;
}

/** Decisions too frequent to tell the arb's story: skips and each settled payment. */
const ROUTINE = new Set(['skip:', 'signal:funding_settled']);

/**
 * The arb's story for a leg-imbalance breach: every decision but the routine ones, in
 * time order, as `HH:MM:SS.mmm kind reason arb: message`, at most `max` (the last ones).
 */
export function arbTimeline(decisions: readonly ArbDecision[], max = 60): string[] {
  return [...decisions]
    .filter((d) => !ROUTINE.has(`${d.kind}:`) && !ROUTINE.has(`${d.kind}:${d.reasonCode}`))
    .sort((a, b) => a.atMs - b.atMs)
    .slice(-max)
    .map(
      (d) =>
        `${new Date(d.atMs).toISOString().slice(11, 23)} ${d.kind} ${d.reasonCode} ${d.inputs.arb_id ?? ''}: ${d.message.slice(0, 200)}`,
    );
}

/** The funding arb's signals that an arb is open (its management.ts `markOpen` reasons). */
const ARB_OPEN_REASONS = new Set(['legs_filled', 'legs_filled_partially', 'unwound_to_matched_size']);

/**
 * What the arb did, from its decisions: each count is of distinct arb ids, so a decision
 * published twice (a restart releasing its outbox again) counts once.
 */
export function arbActivity(decisions: readonly ArbDecision[]): ArbActivity {
  const entered = new Set<string>();
  const adopted = new Map<string, string>();
  const opened = new Set<string>();
  const closed = new Set<string>();
  const skips = new Map<string, number>();
  for (const d of decisions) {
    const arbId = d.inputs.arb_id;
    if (d.kind === 'skip') {
      // A backoff names the risk denial behind it (`risk denied the last entry (stale_balance)`).
      const denial =
        d.reasonCode === 'risk_denied_backoff' ? /\(([a-z_]+)\)/.exec(d.message)?.[1] : undefined;
      const key = denial ? `${d.reasonCode} (${denial})` : d.reasonCode;
      skips.set(key, (skips.get(key) ?? 0) + 1);
    }
    if (arbId === undefined) continue;
    if (d.kind === 'enter') entered.add(arbId);
    if (d.kind === 'adopt' && d.reasonCode.startsWith('positions_adopted'))
      adopted.set(arbId, `${arbId}: ${d.reasonCode}: ${d.message}`);
    if (d.kind === 'signal' && ARB_OPEN_REASONS.has(d.reasonCode)) opened.add(arbId);
    if (d.kind === 'closed') closed.add(arbId);
  }
  return {
    entered: entered.size,
    adopted: adopted.size,
    adoptions: [...adopted.values()],
    opened: opened.size,
    closed: closed.size,
    skips,
  };
}

/** Nearest-rank percentile of a list of numbers (0 for an empty one). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** mulberry32: a small seeded PRNG, so one seed reproduces one fault schedule. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const FAULT_TARGETS = [
  'market-data',
  'execution',
  'account',
  'strategy',
  'nats-server',
  'redis-server',
] as const;
export type FaultTarget = (typeof FAULT_TARGETS)[number];
export type FaultKind = 'kill9' | 'restart';

export interface PlannedFault {
  /** Offset from the start of the run, ms. */
  atMs: number;
  kind: FaultKind;
  /** One or two targets hit at once. */
  targets: FaultTarget[];
  /** How long a killed target stays down before it is started again, ms. */
  downMs: number;
}

/**
 * The fault schedule of one seed: `count` faults spread over `durationMs`, each kill -9 or
 * restart (SIGTERM + start) of one target or two at once. Same seed, same schedule.
 */
export function faultSchedule(
  seed: number,
  count: number,
  durationMs: number,
  targets: readonly FaultTarget[] = FAULT_TARGETS,
): PlannedFault[] {
  const random = seededRandom(seed);
  const pick = () => targets[Math.floor(random() * targets.length)] as FaultTarget;
  const slot = durationMs / Math.max(1, count);
  const out: PlannedFault[] = [];
  for (let i = 0; i < count; i++) {
    const first = pick();
    const both = random() < 0.35 && targets.length > 1;
    let second = pick();
    while (both && second === first) second = pick();
    out.push({
      atMs: Math.round(i * slot + random() * slot * 0.5),
      kind: random() < 0.7 ? 'kill9' : 'restart',
      targets: both ? [first, second] : [first],
      downMs: Math.round(200 + random() * 1_300),
    });
  }
  return out;
}

/** A venue fault window of a chaos run: the proxy holds `fault` in force for `durationMs`. */
export interface PlannedVenueFault {
  /** Offset from the start of the run, ms. */
  atMs: number;
  fault: VenueFault;
  durationMs: number;
}

/**
 * The venue fault schedule of one seed: `count` windows spread over `durationMs`, each one
 * kind on one of `venues`, 1-4 s long. Every `kinds.length` windows hold each kind once (in
 * a seeded order), so a short run meets every kind. Drawn from its own stream of the seed,
 * so a seed's process faults (`faultSchedule`) are the same with or without venue faults.
 */
export function venueFaultSchedule(
  seed: number,
  count: number,
  durationMs: number,
  venues: readonly string[],
  kinds: readonly VenueFaultKind[] = VENUE_FAULT_KINDS,
): PlannedVenueFault[] {
  const random = seededRandom(seed ^ 0x7e4f);
  const slot = durationMs / Math.max(1, count);
  const out: PlannedVenueFault[] = [];
  let round: VenueFaultKind[] = [];
  for (let i = 0; i < count; i++) {
    if (round.length === 0) {
      // A seeded shuffle (Fisher-Yates) of the kinds for the next round.
      round = [...kinds];
      for (let j = round.length - 1; j > 0; j--) {
        const k = Math.floor(random() * (j + 1));
        [round[j], round[k]] = [round[k] as VenueFaultKind, round[j] as VenueFaultKind];
      }
    }
    out.push({
      atMs: Math.round(i * slot + random() * slot * 0.5),
      fault: {
        kind: round.shift() as VenueFaultKind,
        venue: venues[Math.floor(random() * venues.length)] as string,
      },
      durationMs: Math.round(1_000 + random() * 3_000),
    });
  }
  return out;
}

/** The largest clock skew a chaos venue gets, ms either way. */
export const MAX_VENUE_CLOCK_SKEW_MS = 2_000;

/**
 * Each venue's clock skew for a run of `seed`: ahead or behind ours by 100 ms to
 * `MAX_VENUE_CLOCK_SKEW_MS`, a different one per venue (venue clocks disagree with ours and
 * with each other), constant for the run as a real venue's is.
 */
export function venueClockSkews(seed: number, venues: readonly string[]): Record<string, number> {
  const random = seededRandom(seed ^ 0xc10c);
  return Object.fromEntries(
    venues.map((venue) => {
      const ms = Math.round(100 + random() * (MAX_VENUE_CLOCK_SKEW_MS - 100));
      return [venue, random() < 0.5 ? -ms : ms];
    }),
  );
}
