/**
 * The EXEC stream from the engine's side: publishing order facts (`ExecPublisher`),
 * folding what is on the log into the order table (rebuild at start, other replicas'
 * events after), and reading it for StreamOrderEvents.
 *
 * Publishing per order is serialized (a fill before the order event it causes). A publish
 * that fails after the log's own retries is queued and retried with the same id (a fact
 * id: storing it twice is a no-op); `execution/event-log` is not ready while any is queued.
 */
import { type EventLog, PublishCoalescer } from '@perpmesh/bus';
import {
  decodeEnvelope,
  type Envelope,
  type EnvelopeSink,
  type Fill,
  ORDER_EVENT_KIND,
  type OrderEvent as ProtoOrderEvent,
  publishEnvelope,
  type Subjects,
} from '@perpmesh/contracts';
import { type AccountId, type EpochMs, errorText, type OrderEvent, type VenueId } from '@perpmesh/core';
import type { HealthRegistry, Logger } from '@perpmesh/runtime';
import type { VenueFill } from '@perpmesh/venues';
import { newTrackedOrder, type OrderTable, type TrackedOrder } from './orders.js';
import { orderEventOfVenueFill } from './venue-reports.js';
import { orderEventFromLog, orderRequestFromProto, venueFillFromProto } from './wire.js';

/** Readiness component: not ready while exec events wait to be stored. */
export const EVENT_LOG_COMPONENT = 'execution/event-log';

/**
 * The env switch that turns the batching of concurrent publishes off when the caller did not
 * choose (see `ExecPublisherDeps.batchPublishes`; the order bench's before/after).
 */
export const EXEC_PUBLISH_BATCHING_ENV = 'PERPMESH_EXEC_PUBLISH_BATCHING';

export interface ExecPublisherDeps {
  readonly log: EventLog;
  readonly subjects: Subjects;
  readonly health: HealthRegistry;
  readonly logger: Logger;
  /** Counts a publish the log did not store (a metric). */
  readonly onPublishFailure: () => void;
  /** Keeps a publish in the engine's in-flight set (so `settled()` and `stop()` wait for it). */
  readonly track: (promise: Promise<boolean>) => Promise<boolean> | undefined;
  /**
   * Events that concurrent orders publish in the same turn of the event loop (their
   * write-ahead SUBMITTED, their ACCEPTED) leave as one `publishBatch`; each order still
   * awaits its own event's ack. Default on; `false`, or `PERPMESH_EXEC_PUBLISH_BATCHING=off`,
   * publishes each on its own.
   */
  readonly batchPublishes?: boolean;
  /** Told how many events each call to the log carried, when batching (a metric). */
  readonly onPublishBatch?: (events: number) => void;
  /**
   * Told of each queued event once a retry stored it: its echo on the log tail is skipped as
   * our own, and the placement that published it may have given up on it meanwhile.
   */
  readonly onStoredLate?: (envelope: Envelope) => void;
}

export class ExecPublisher {
  readonly #deps: ExecPublisherDeps;
  /** Where order events go: the log, or a coalescer in front of it. */
  readonly #sink: EnvelopeSink;
  /** Ids published here: our own events coming back on the log tail are skipped. */
  readonly #ownIds = new Set<string>();
  /** Events whose publish failed: retried in order (same ids). */
  readonly #unpublished: { envelope: Envelope; error: string }[] = [];
  #retrying = false;

  constructor(deps: ExecPublisherDeps) {
    this.#deps = deps;
    const batch = deps.batchPublishes ?? process.env[EXEC_PUBLISH_BATCHING_ENV] !== 'off';
    this.#sink = batch
      ? new PublishCoalescer(deps.log, deps.onPublishBatch ? { onFlush: deps.onPublishBatch } : {})
      : deps.log;
    deps.health.ready(EVENT_LOG_COMPONENT);
  }

  /** Events published but not stored yet (queued for retry). */
  get backlog(): number {
    return this.#unpublished.length;
  }

  /**
   * Publishes `envelopes` in order, after the order's earlier publishes. Resolves true once
   * stored, false when the log failed (the rest is queued for retry).
   */
  publish(order: TrackedOrder | undefined, envelopes: Envelope[]): Promise<boolean> {
    for (const e of envelopes) this.#ownIds.add(e.id);
    const run = async (): Promise<boolean> => {
      for (let i = 0; i < envelopes.length; i++) {
        const envelope = envelopes[i]!;
        try {
          // One at a time per order: a fill is stored before the order event it causes.
          await publishEnvelope(this.#sink, envelope, this.#deps.subjects);
        } catch (err) {
          this.#deps.onPublishFailure();
          this.#deps.logger.error(
            { err: errorText(err), eventId: envelope.id },
            'publishing an exec event failed; will retry',
          );
          for (const rest of envelopes.slice(i))
            this.#unpublished.push({ envelope: rest, error: errorText(err) });
          this.#reportBacklog();
          return false;
        }
      }
      return true;
    };
    if (!order) return this.#deps.track(run()) as Promise<boolean>;
    const published = order.publishChain.then(run);
    order.publishChain = published.then(
      () => undefined,
      () => undefined,
    );
    return this.#deps.track(published) as Promise<boolean>;
  }

  /** True, once, for an id published here: the caller skips its own event coming back. */
  takeOwn(eventId: string): boolean {
    return this.#ownIds.delete(eventId);
  }

  /** Bounds the own-id memory (ids whose echo never came are dropped in bulk). */
  forgetOwnIdsBeyond(limit: number): void {
    if (this.#ownIds.size > limit) this.#ownIds.clear();
  }

  /** Retries the queued publishes in order until one fails again. */
  async retryUnpublished(): Promise<void> {
    if (this.#retrying || this.#unpublished.length === 0) return;
    this.#retrying = true;
    try {
      while (this.#unpublished.length > 0) {
        const first = this.#unpublished[0]!;
        try {
          await publishEnvelope(this.#deps.log, first.envelope, this.#deps.subjects);
          this.#unpublished.shift();
          this.#deps.onStoredLate?.(first.envelope);
        } catch (err) {
          first.error = errorText(err);
          break;
        }
      }
    } finally {
      this.#retrying = false;
      this.#reportBacklog();
    }
  }

  #reportBacklog(): void {
    const n = this.#unpublished.length;
    if (n === 0) this.#deps.health.ready(EVENT_LOG_COMPONENT);
    else {
      this.#deps.health.notReady(
        EVENT_LOG_COMPONENT,
        `${n} exec event(s) not stored in the event log yet (last error: ${this.#unpublished[n - 1]!.error}); retrying`,
      );
    }
  }
}

/**
 * Reads the EXEC stream at start: the whole stream (in order: a fill before the order event
 * it caused) from `fromTimeMs` up to its last sequence now, each message to `onMessage`.
 * Returns that last sequence (the tail follows from the next one), how many were read and,
 * when the read began at the stream's first stored message after the log had dropped older
 * ones (its own age or size limit), that message's time (`droppedBeforeMs`): events of the
 * window stored before it may be gone, so the read does not vouch for them.
 */
export async function readExecLookback(
  log: EventLog,
  stream: string,
  fromTimeMs: EpochMs,
  onMessage: (data: Uint8Array) => void,
): Promise<{ lastSeq: number; events: number; droppedBeforeMs?: EpochMs }> {
  const { lastSeq } = await log.streamInfo(stream);
  let events = 0;
  let first: { seq: number; timestampMs: EpochMs } | undefined;
  if (lastSeq > 0) {
    for await (const msg of log.read({ stream, toSeq: lastSeq, fromTimeMs })) {
      first ??= { seq: msg.seq, timestampMs: msg.timestampMs };
      onMessage(msg.data);
      events += 1;
    }
  }
  if (first === undefined || first.seq === 1) return { lastSeq, events };
  // Asked after the read: a head that moved past our first message meanwhile counts too.
  const { firstSeq } = await log.streamInfo(stream);
  if (firstSeq < first.seq) return { lastSeq, events };
  return { lastSeq, events, droppedBeforeMs: first.timestampMs };
}

/** What folding the log needs from the engine (its order table and how it applies events). */
export interface ExecFoldTarget {
  readonly orders: OrderTable;
  /** Whether this service trades the account (other accounts' events are skipped). */
  trades(venue: VenueId, account: AccountId): boolean;
  /** A new order found on the log (events held for it apply now). */
  added(order: TrackedOrder): void;
  /** Folds an event into the order without publishing. */
  apply(order: TrackedOrder, event: OrderEvent, fill?: VenueFill): void;
  /** A fill of an order not known yet: held for it to appear. */
  holdFill(venue: VenueId, account: AccountId, fill: VenueFill): void;
}

/**
 * One envelope from the log (another replica's, or a previous run's) → our order state.
 * Never publishes. An order's first event creates it (normally its SUBMITTED; if the
 * lookback cut that, the view carries the request). Records what the log has seen of the
 * order (`logged`), for `ordersBehindTheLog`.
 */
export function foldExecEnvelope(target: ExecFoldTarget, envelope: Envelope): void {
  const payload = envelope.payload;
  if (payload?.$case === 'orderEvent') {
    const view = payload.value.order;
    if (!view || !target.trades(view.venue, view.account)) return;
    const kind = ORDER_EVENT_KIND.fromProto(payload.value.kind, 'kind');
    let order = target.orders.get(view.venue, view.account, view.clientOrderId);
    if (!order) {
      order = newTrackedOrder(
        orderRequestFromProto(view),
        view.correlationId,
        view.createdAtMs,
        view.feeCurrency,
      );
      if (kind === 'submitted') order.submittedEventId = envelope.id;
      target.orders.add(order);
      target.added(order);
    }
    if (!order.feeCurrency && view.feeCurrency) order.feeCurrency = view.feeCurrency;
    // A cancel round's requester (its events' correlation id; the payload keeps the placer's).
    if (kind === 'cancel_requested' && envelope.correlationId !== view.correlationId) {
      order.cancelCorrelationId = envelope.correlationId;
    }
    const event = orderEventFromLog(kind, view, payload.value.reason, order.state.status, envelope.tsEvent);
    if (event) target.apply(order, event);
    order.logged = { status: order.state.status, filled: order.state.filled };
    return;
  }
  if (payload?.$case === 'fill') {
    const fill = payload.value;
    if (!target.trades(fill.venue, fill.account)) return;
    const venueFill = venueFillFromProto(fill);
    const order = target.orders.find(fill.venue, fill.account, fill);
    if (order) target.apply(order, orderEventOfVenueFill(venueFill), venueFill);
    else target.holdFill(fill.venue, fill.account, venueFill);
  }
}

/**
 * A queued event a retry stored late (`ExecPublisherDeps.onStoredLate`): when it is the
 * SUBMITTED of an order not in the table (its placement gave up on it when the log refused
 * it), the order is folded in like any order found on the log. So every order whose SUBMITTED
 * is stored is in the table (what the write-ahead repair's proof needs), and it is settled with
 * the venue like any order a stopped placement left. True when folded.
 */
export function foldDroppedSubmitted(target: ExecFoldTarget, envelope: Envelope): boolean {
  const payload = envelope.payload;
  if (payload?.$case !== 'orderEvent') return false;
  if (ORDER_EVENT_KIND.fromProto(payload.value.kind, 'kind') !== 'submitted') return false;
  const view = payload.value.order;
  if (!view || target.orders.get(view.venue, view.account, view.clientOrderId)) return false;
  foldExecEnvelope(target, envelope);
  return target.orders.get(view.venue, view.account, view.clientOrderId) !== undefined;
}

/**
 * After a rebuild: the orders whose folded state is ahead of their last logged order event
 * (a fill reached the log, the FILLED event did not before a crash). Their missing event is
 * published with the fact's id, so a replica doing the same is stored once.
 */
export function ordersBehindTheLog(orders: Iterable<TrackedOrder>): TrackedOrder[] {
  const behind: TrackedOrder[] = [];
  for (const order of orders) {
    const logged = order.logged;
    if (!logged) continue;
    if (logged.status === order.state.status && logged.filled.eq(order.state.filled)) continue;
    behind.push(order);
  }
  return behind;
}

/** One message of StreamOrderEvents: an envelope's id, time and payload. */
export interface ExecStreamItem {
  readonly eventId: string;
  readonly tsEventMs: EpochMs;
  readonly event: { $case: 'orderEvent'; value: ProtoOrderEvent } | { $case: 'fill'; value: Fill };
}

/** An exec message as a StreamOrderEvents item, if it is of `filter`'s venue and account. */
export function execStreamItemOf(
  data: Uint8Array,
  filter: { venue?: VenueId | undefined; account?: AccountId | undefined },
): ExecStreamItem | undefined {
  let envelope: Envelope;
  try {
    envelope = decodeEnvelope(data);
  } catch {
    return undefined;
  }
  const p = envelope.payload;
  const where = p?.$case === 'orderEvent' ? p.value.order : p?.$case === 'fill' ? p.value : undefined;
  if (!where) return undefined;
  if (filter.venue && where.venue !== filter.venue) return undefined;
  if (filter.account && where.account !== filter.account) return undefined;
  if (p?.$case === 'orderEvent')
    return {
      eventId: envelope.id,
      tsEventMs: envelope.tsEvent,
      event: { $case: 'orderEvent', value: p.value },
    };
  if (p?.$case === 'fill')
    return { eventId: envelope.id, tsEventMs: envelope.tsEvent, event: { $case: 'fill', value: p.value } };
  return undefined;
}
