/**
 * `perpmesh replay projections`, the logic: rebuild the account projections (positions
 * from exec.fill, funding from acct.funding) and the order states (every exec event)
 * from the log into scratch state, with the same code the services run
 * (`evolvePositions` / `evolveFunding`, `foldExecEnvelope`), and compare them with the
 * live ones at the same applied sequences, field by field, decimals exact.
 *
 * - Positions and funding: the live side is each saved state the store still has (every
 *   save since the embedded store's last compaction; the current one in Redis), with the
 *   stream sequence it had applied. The rebuild is compared at exactly that sequence.
 * - Orders: the live side is the order view execution published in each exec.order event;
 *   the rebuild's view of that order after folding the log up to that event must match.
 *
 * `from` / `to` bound what is compared (per stream sequence, or stored time); the rebuild
 * always starts at the stream's first event, since a projection needs all of its history,
 * and stops at `to`.
 */
import {
  accountProjectionNames,
  emptyFundingProjection,
  emptyPositionsProjection,
  evolveFunding,
  evolvePositions,
  type FundingProjection,
  type PositionsProjection,
} from '@perpmesh/account';
import { type EventLogReader, type StoredMessage, StreamNotFoundError } from '@perpmesh/bus';
import { decodeEnvelope, type Subjects } from '@perpmesh/contracts';
import { errorText } from '@perpmesh/core';
import {
  execFilter,
  foldExecEnvelope,
  OrderTable,
  orderEventOfVenueFill,
  orderToProto,
  type TrackedOrder,
  transitionOrder,
} from '@perpmesh/execution';
import type { VenueFill } from '@perpmesh/venues';
import { asStored, diffJson, type FieldDifference } from './diff.js';

/** A bound of the compared range: per stream (EXEC, ACCT) a sequence, and/or a stored time. */
export interface ReplayBound {
  readonly seqs: Readonly<Record<string, number>>;
  readonly timeMs?: number | undefined;
}

export interface ReplayWindow {
  readonly from?: ReplayBound | undefined;
  readonly to?: ReplayBound | undefined;
}

/** The live projections' saved states (read-only). */
export interface LiveProjections {
  /** Every saved state still available, oldest first. */
  projectionHistory<S>(name: string): Promise<{ state: S; applied: Record<string, number> }[]>;
}

export interface ReplayProjectionsOptions {
  readonly reader: EventLogReader;
  readonly live: LiveProjections;
  readonly subjects: Subjects;
  /** '' in production; the namespace's prefix otherwise. */
  readonly streamPrefix: string;
  /** The account service's `consumerName` (default 'account'). */
  readonly consumerName: string;
  readonly window?: ReplayWindow;
}

export interface ComparedPoint {
  readonly stream: string;
  readonly seq: number;
  /** What was compared there: a projection name, or `order <venue>/<account>/<clientOrderId>`. */
  readonly what: string;
  readonly differences: readonly FieldDifference[];
}

export interface ProjectionCheck {
  /** positions | funding | orders */
  readonly kind: string;
  /** Store name of the projection, or 'exec.order events'. */
  readonly source: string;
  readonly stream: string;
  /** Events folded into the rebuild. */
  readonly folded: number;
  /** Comparisons made (saved states, or order events). */
  readonly compared: number;
  /** Comparisons that found a difference (each with its fields). */
  readonly differing: readonly ComparedPoint[];
  /** Why it could not be checked (fully), if so. */
  readonly problem?: string;
}

export interface ReplayProjectionsReport {
  readonly checks: readonly ProjectionCheck[];
  readonly differences: number;
  readonly problems: number;
}

function atOrAfter(bound: ReplayBound | undefined, stream: string, seq: number, tsMs: number): boolean {
  if (!bound) return true;
  const s = bound.seqs[stream];
  if (s !== undefined && seq < s) return false;
  return bound.timeMs === undefined || tsMs >= bound.timeMs;
}

function atOrBefore(bound: ReplayBound | undefined, stream: string, seq: number, tsMs: number): boolean {
  if (!bound) return true;
  const s = bound.seqs[stream];
  if (s !== undefined && seq > s) return false;
  return bound.timeMs === undefined || tsMs <= bound.timeMs;
}

/** The stream's events in range for a rebuild, and why a rebuild from empty is impossible. */
async function rebuildRange(
  reader: EventLogReader,
  stream: string,
  short: string,
  to: ReplayBound | undefined,
): Promise<{ endSeq: number; problem?: string }> {
  const info = await reader.streamInfo(stream).catch((err: unknown) => {
    if (err instanceof StreamNotFoundError) return undefined;
    throw err;
  });
  if (!info) return { endSeq: 0, problem: `stream ${stream} does not exist in this log` };
  const endSeq = Math.min(info.lastSeq, to?.seqs[short] ?? Number.MAX_SAFE_INTEGER);
  if (info.firstSeq > 1) {
    return {
      endSeq,
      problem: `${stream} starts at seq ${info.firstSeq} (older events dropped by retention): cannot rebuild from the first event`,
    };
  }
  return { endSeq };
}

async function checkProjection<S>(
  opts: ReplayProjectionsOptions,
  kind: 'positions' | 'funding',
  name: string,
  streamShort: string,
  filterSubject: string,
  initial: () => S,
  evolve: (state: S, msg: StoredMessage) => S,
): Promise<ProjectionCheck> {
  const stream = opts.streamPrefix + streamShort;
  const { from, to } = opts.window ?? {};
  const base = { kind, source: name, stream };
  const history = (await opts.live.projectionHistory<S>(name))
    .map((h) => ({ state: h.state, seq: h.applied[stream] ?? 0 }))
    .sort((a, b) => a.seq - b.seq);
  const range = await rebuildRange(opts.reader, stream, streamShort, to);
  if (range.problem) return { ...base, folded: 0, compared: 0, differing: [], problem: range.problem };
  let state = initial();
  let folded = 0;
  let lastTs = 0;
  let next = 0;
  let compared = 0;
  let beyond = 0;
  const differing: ComparedPoint[] = [];
  // Compares every saved state whose applied sequence the rebuild has reached exactly.
  const compareUpTo = (seq: number) => {
    while (next < history.length && (history[next]?.seq ?? 0) <= seq) {
      const point = history[next++] as { state: S; seq: number };
      if (point.seq > range.endSeq) {
        beyond++;
        continue;
      }
      // The state is as of the last folded event: its stored time stands for the point's.
      const ts = lastTs;
      if (!atOrAfter(from, streamShort, point.seq, ts) || !atOrBefore(to, streamShort, point.seq, ts))
        continue;
      compared++;
      const differences = diffJson(point.state, asStored(state));
      if (differences.length > 0) differing.push({ stream, seq: point.seq, what: name, differences });
    }
  };
  let end = range.endSeq;
  if (range.endSeq > 0) {
    for await (const msg of opts.reader.read({ stream, toSeq: range.endSeq, filterSubject })) {
      if (to?.timeMs !== undefined && msg.timestampMs > to.timeMs) {
        // The rebuild ends before this event: later saved states are past the range.
        end = msg.seq - 1;
        break;
      }
      compareUpTo(msg.seq - 1);
      state = evolve(state, msg);
      folded++;
      lastTs = msg.timestampMs;
    }
  }
  compareUpTo(end);
  beyond += history.length - next;
  const problem =
    history.length === 0 && folded > 0
      ? `the store has no saved state of ${name}, though ${stream} has ${folded} event(s) for it`
      : compared === 0 && beyond > 0
        ? `the saved states are past the rebuilt range (applied up to seq ${history[history.length - 1]?.seq})`
        : undefined;
  return { ...base, folded, compared, differing, ...(problem && !opts.window?.to ? { problem } : {}) };
}

/** Order views as published: the rebuild of each order is compared with each of its events. */
async function checkOrders(opts: ReplayProjectionsOptions): Promise<ProjectionCheck> {
  const stream = `${opts.streamPrefix}EXEC`;
  const { from, to } = opts.window ?? {};
  const base = { kind: 'orders', source: 'exec.order events', stream };
  const range = await rebuildRange(opts.reader, stream, 'EXEC', to);
  if (range.problem) return { ...base, folded: 0, compared: 0, differing: [], problem: range.problem };
  const orders = new OrderTable();
  const held = new Map<string, VenueFill[]>();
  const keyOf = (venue: string, account: string, clientOrderId: string) =>
    `${venue}/${account}/${clientOrderId}`;
  const apply = (order: TrackedOrder, event: Parameters<typeof transitionOrder>[1], fill?: VenueFill) => {
    const t = transitionOrder(order, event, { fill });
    if (t.kind !== 'changed') return;
    order.state = t.order.state;
    order.cancelRequests = t.order.cancelRequests;
    order.feeCurrency = t.order.feeCurrency;
    orders.changed(order);
  };
  const target = {
    orders,
    trades: () => true,
    added: (order: TrackedOrder) => {
      const key = keyOf(order.state.venue, order.state.account, order.state.clientOrderId);
      for (const fill of held.get(key) ?? []) apply(order, orderEventOfVenueFill(fill), fill);
      held.delete(key);
    },
    apply,
    holdFill: (venue: string, account: string, fill: VenueFill) => {
      const key = keyOf(venue, account, fill.clientOrderId ?? '');
      held.set(key, [...(held.get(key) ?? []), fill]);
    },
  };
  let folded = 0;
  let compared = 0;
  const differing: ComparedPoint[] = [];
  const problems: string[] = [];
  if (range.endSeq > 0) {
    for await (const msg of opts.reader.read({
      stream,
      toSeq: range.endSeq,
      filterSubject: execFilter(opts.subjects),
    })) {
      if (to?.timeMs !== undefined && msg.timestampMs > to.timeMs) break;
      let envelope: ReturnType<typeof decodeEnvelope>;
      try {
        envelope = decodeEnvelope(msg.data);
      } catch (err) {
        problems.push(`${stream} seq ${msg.seq}: undecodable (${errorText(err)})`);
        continue;
      }
      foldExecEnvelope(target, envelope);
      folded++;
      const payload = envelope.payload;
      if (payload?.$case !== 'orderEvent' || !payload.value.order) continue;
      if (
        !atOrAfter(from, 'EXEC', msg.seq, msg.timestampMs) ||
        !atOrBefore(to, 'EXEC', msg.seq, msg.timestampMs)
      )
        continue;
      const view = payload.value.order;
      const order = orders.get(view.venue, view.account, view.clientOrderId);
      compared++;
      const rebuilt = order ? orderToProto(order) : undefined;
      const differences = diffJson(comparableOrder(view), rebuilt && comparableOrder(rebuilt));
      if (differences.length > 0) {
        differing.push({
          stream,
          seq: msg.seq,
          what: `order ${keyOf(view.venue, view.account, view.clientOrderId)}`,
          differences,
        });
      }
    }
  }
  return {
    ...base,
    folded,
    compared,
    differing,
    ...(problems.length ? { problem: problems.join('; ') } : {}),
  };
}

/** An order view as compared: the wire view (decimals as text) as published. */
function comparableOrder(view: object): unknown {
  return asStored(view);
}

/** Rebuilds and compares positions, funding and order states; see the file header. */
export async function replayProjections(opts: ReplayProjectionsOptions): Promise<ReplayProjectionsReport> {
  const names = accountProjectionNames(opts.consumerName);
  const checks: ProjectionCheck[] = [
    await checkProjection<PositionsProjection>(
      opts,
      'positions',
      names.positions,
      'EXEC',
      opts.subjects.filter('execFill'),
      emptyPositionsProjection,
      (s, m) => evolvePositions(s, m),
    ),
    await checkProjection<FundingProjection>(
      opts,
      'funding',
      names.funding,
      'ACCT',
      opts.subjects.filter('acctFunding'),
      emptyFundingProjection,
      (s, m) => evolveFunding(s, m),
    ),
    await checkOrders(opts),
  ];
  return {
    checks,
    differences: checks.reduce((n, c) => n + c.differing.length, 0),
    problems: checks.filter((c) => c.problem !== undefined).length,
  };
}
