/**
 * `perpmesh explain <client_order_id | event id | decision id>`: from an order, a fill or
 * a cancel back to the decision that caused it and the inputs that decision was made
 * from, as a timeline. Read-only, over the same sources as replay.
 *
 * The walk: the order's events and fills on EXEC (by client order id); the decision that
 * placed it on STRAT (the order's correlation id is the decision's envelope id; else the
 * decision whose order intents name it); the decisions that asked to cancel it (a cancel's
 * exec.order events carry the canceling decision's envelope id as their correlation id,
 * while the order payload keeps the placing one; older logs: the decisions whose
 * `cancel_client_order_ids` name it); and, from the strategy's input journal, the input
 * that triggered each decision (re-derived from its event when it came from the log).
 */
import { decodeEnvelope, type Envelope, ORDER_EVENT_KIND, type Subjects } from '@perpmesh/contracts';
import { execFilter } from '@perpmesh/execution';
import type { LogRangeReader } from './source.js';
import { deriveInput, describeInput, readJournal } from './strategy.js';

export interface TimelineItem {
  /** When the producer handled it (the envelope's ts_init; the input's nowMs): one clock per process. */
  readonly tsMs: number;
  /** Where it is: `EXEC seq 12`, `STRAT seq 4`, `JOURNAL input #450`. */
  readonly at: string;
  readonly eventId?: string;
  readonly what: string;
}

export interface ExplainedDecision {
  readonly eventId: string;
  readonly decisionId: string;
  readonly strategyId: string;
  readonly kind: string;
  readonly decision: string;
  readonly reasonCode: string;
  readonly reason: string;
  readonly decidedAtMs: number;
  /** The decision's inputs, grouped: funding rates, books/prices, balances, the rest (sizing, risk). */
  readonly inputs: Readonly<Record<'funding' | 'books' | 'balances' | 'other', Record<string, string>>>;
  /** The input whose step made this decision (from the journal), if the journal still has it. */
  readonly trigger?: {
    readonly input: string;
    readonly n: number;
    readonly nowMs: number;
    readonly from?: string;
  };
}

export interface Explanation {
  readonly target: string;
  readonly clientOrderId?: string;
  /** `sell 0.08328 BTC-USDC-PERP on paper-lighter/main, limit ioc @ 59896.8: filled 0.08328` */
  readonly order?: string;
  readonly placedBy?: ExplainedDecision;
  readonly canceledBy: readonly ExplainedDecision[];
  readonly timeline: readonly TimelineItem[];
  readonly problems: readonly string[];
}

export interface ExplainOptions {
  readonly reader: LogRangeReader;
  readonly subjects: Subjects;
  readonly streamPrefix: string;
  readonly target: string;
}

interface Located {
  readonly envelope: Envelope;
  readonly stream: string;
  readonly seq: number;
}

async function readAll(reader: LogRangeReader, stream: string, filterSubject?: string): Promise<Located[]> {
  const out: Located[] = [];
  const info = await reader.streamInfo(stream).catch(() => undefined);
  if (!info || info.lastSeq === 0) return out;
  for await (const msg of reader.read({ stream, ...(filterSubject ? { filterSubject } : {}) })) {
    try {
      out.push({ envelope: decodeEnvelope(msg.data), stream, seq: msg.seq });
    } catch {
      // not an envelope: nothing to explain with
    }
  }
  return out;
}

function groupInputs(inputs: Readonly<Record<string, string>>): ExplainedDecision['inputs'] {
  const groups = { funding: {}, books: {}, balances: {}, other: {} } as Record<
    'funding' | 'books' | 'balances' | 'other',
    Record<string, string>
  >;
  for (const [k, v] of Object.entries(inputs)) {
    const group = /\.(rate|rate_per_hour|interval_ms|next_funding_time_ms)$|spread_per_hour/.test(k)
      ? 'funding'
      : /\.(mid|mark|bid|ask|best_bid|best_ask)$/.test(k)
        ? 'books'
        : /\.(available|equity|total)$/.test(k)
          ? 'balances'
          : 'other';
    groups[group][k] = v;
  }
  return groups;
}

export async function explain(opts: ExplainOptions): Promise<Explanation> {
  const p = opts.streamPrefix;
  const exec = await readAll(opts.reader, `${p}EXEC`, execFilter(opts.subjects));
  const strat = await readAll(opts.reader, `${p}STRAT`);
  const decisions = strat.filter((s) => s.envelope.payload?.$case === 'strategyDecision');
  const problems: string[] = [];
  const target = opts.target;

  // What the target is: an exec event, a decision (envelope or decision id), or a client order id.
  let clientOrderId: string | undefined;
  const execEvent = exec.find((e) => e.envelope.id === target);
  if (execEvent) {
    const pl = execEvent.envelope.payload;
    clientOrderId =
      pl?.$case === 'orderEvent'
        ? pl.value.order?.clientOrderId
        : pl?.$case === 'fill'
          ? pl.value.clientOrderId
          : undefined;
  }
  const targetDecision = decisions.find(
    (d) =>
      d.envelope.id === target ||
      (d.envelope.payload?.$case === 'strategyDecision' && d.envelope.payload.value.decisionId === target),
  );
  if (!clientOrderId && !targetDecision) clientOrderId = target;

  const timeline: TimelineItem[] = [];
  const orderEvents = clientOrderId
    ? exec.filter((e) => {
        const pl = e.envelope.payload;
        return (
          (pl?.$case === 'orderEvent' && pl.value.order?.clientOrderId === clientOrderId) ||
          (pl?.$case === 'fill' && pl.value.clientOrderId === clientOrderId)
        );
      })
    : [];
  let order: string | undefined;
  let correlationId = '';
  /** Envelope ids of the decisions a cancel's events name (their correlation id). */
  const cancelCorrelationIds = new Set<string>();
  for (const e of orderEvents) {
    const pl = e.envelope.payload;
    if (pl?.$case === 'orderEvent' && pl.value.order) {
      const o = pl.value.order;
      const kind = ORDER_EVENT_KIND.fromProto(pl.value.kind, 'kind');
      correlationId ||= o.correlationId || e.envelope.correlationId;
      if (e.envelope.correlationId !== '' && e.envelope.correlationId !== o.correlationId) {
        cancelCorrelationIds.add(e.envelope.correlationId);
      }
      order = `${o.side === 1 ? 'buy' : 'sell'} ${o.size} ${o.instrument} on ${o.venue}/${o.account}${o.price ? ` @ ${o.price}` : ''}: ${kind}${o.filledSize && o.filledSize !== '0' && kind !== 'filled' ? `, filled ${o.filledSize}` : ''}`;
      timeline.push({
        tsMs: e.envelope.tsInit,
        at: `${e.stream} seq ${e.seq}`,
        eventId: e.envelope.id,
        what: `order ${kind}${pl.value.reason ? ` (${pl.value.reason})` : ''}`,
      });
    } else if (pl?.$case === 'fill') {
      timeline.push({
        tsMs: e.envelope.tsInit,
        at: `${e.stream} seq ${e.seq}`,
        eventId: e.envelope.id,
        what: `fill ${pl.value.size} @ ${pl.value.price} (trade ${pl.value.tradeId}, fee ${pl.value.fee} ${pl.value.feeCurrency})`,
      });
    }
  }
  if (clientOrderId && orderEvents.length === 0 && !targetDecision) {
    problems.push(`no order, fill or decision with id ${JSON.stringify(target)} in the log`);
  }

  const placing =
    targetDecision ??
    decisions.find((d) => correlationId !== '' && d.envelope.id === correlationId) ??
    decisions.find(
      (d) =>
        d.envelope.payload?.$case === 'strategyDecision' &&
        d.envelope.payload.value.orderIntents.some((o) => o.clientOrderId === clientOrderId),
    );
  const canceling = clientOrderId
    ? decisions.filter(
        (d) =>
          cancelCorrelationIds.has(d.envelope.id) ||
          (d.envelope.payload?.$case === 'strategyDecision' &&
            d.envelope.payload.value.cancelClientOrderIds.includes(clientOrderId as string)),
      )
    : [];
  for (const id of cancelCorrelationIds) {
    if (!canceling.some((d) => d.envelope.id === id)) {
      problems.push(
        `the cancel of ${clientOrderId} names ${id}, which is no strategy decision in the log (an operator or API cancel?)`,
      );
    }
  }

  const journals = new Map<string, Awaited<ReturnType<typeof readJournal>>>();
  const explainDecision = async (d: Located, role: string): Promise<ExplainedDecision> => {
    const v = (
      d.envelope.payload as {
        $case: 'strategyDecision';
        value: import('@perpmesh/contracts').StrategyDecision;
      }
    ).value;
    let journal = journals.get(v.strategyId);
    if (!journal) {
      journal = await readJournal({ ...opts, strategyId: v.strategyId }).catch(() => []);
      journals.set(v.strategyId, journal);
    }
    const entry = journal.find((e) => e.t === 'input' && e.decisions?.some((x) => x.id === v.decisionId));
    let trigger: ExplainedDecision['trigger'];
    if (entry && entry.t === 'input') {
      const events = new Map<string, Uint8Array>();
      if (entry.from) {
        for await (const msg of opts.reader.read({
          stream: entry.from.s,
          fromSeq: entry.from.q,
          toSeq: entry.from.q,
        })) {
          events.set(`${entry.from.s}#${msg.seq}`, msg.data);
        }
      }
      const snapshot = journal.find((e) => e.t === 'snapshot' && e.r === entry.r);
      const stale = snapshot && snapshot.t === 'snapshot' ? snapshot.balanceStaleAfterMs : 0;
      const input = deriveInput(entry, events, stale, problems);
      const from = entry.from ? `${entry.from.s} seq ${entry.from.q}` : undefined;
      trigger = {
        input: input ? describeInput(input) : '(not re-derivable)',
        n: entry.n,
        nowMs: entry.now,
        ...(from ? { from } : {}),
      };
      timeline.push({
        tsMs: entry.now,
        at: `JOURNAL input #${entry.n}${from ? ` (${from})` : ''}`,
        what: `input ${trigger.input}`,
      });
    } else {
      problems.push(
        `decision ${v.decisionId}: its input is not in the journal (older than its retention, or no journal)`,
      );
    }
    timeline.push({
      tsMs: d.envelope.tsInit,
      at: `${d.stream} seq ${d.seq}`,
      eventId: d.envelope.id,
      what: `${role}: ${v.decision} ${v.reasonCode} (${v.decisionId}): ${v.reason}`,
    });
    return {
      eventId: d.envelope.id,
      decisionId: v.decisionId,
      strategyId: v.strategyId,
      kind: v.kind,
      decision: v.decision,
      reasonCode: v.reasonCode,
      reason: v.reason,
      decidedAtMs: v.decidedAtMs,
      inputs: groupInputs(v.inputs),
      ...(trigger ? { trigger } : {}),
    };
  };
  const placedBy = placing
    ? await explainDecision(placing, targetDecision ? 'decision' : 'placed by')
    : undefined;
  const canceledBy: ExplainedDecision[] = [];
  for (const d of canceling) canceledBy.push(await explainDecision(d, 'cancel requested by'));
  if (clientOrderId && orderEvents.length > 0 && !placedBy) {
    problems.push(`no strategy decision placed ${clientOrderId} (an operator or API order?)`);
  }
  // Stable: equal times keep log order (an input before its decision, events by sequence).
  timeline.sort((a, b) => a.tsMs - b.tsMs);
  return {
    target,
    ...(clientOrderId && orderEvents.length > 0 ? { clientOrderId } : {}),
    ...(order ? { order } : {}),
    ...(placedBy ? { placedBy } : {}),
    canceledBy,
    timeline,
    problems,
  };
}

/**
 * `explain` over a live log, for the gateway's `GET /api/explain/<id>` (the dashboard's
 * timeline): the same walk as `perpmesh explain`, the log looked up at each request (it
 * opens after the gateway is built).
 */
export function explainSource(
  opts: Omit<ExplainOptions, 'reader' | 'target'> & { readonly reader: () => LogRangeReader },
): (target: string) => Promise<Explanation> {
  return (target) => explain({ ...opts, reader: opts.reader(), target });
}
