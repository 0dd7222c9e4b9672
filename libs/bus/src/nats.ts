/**
 * NatsEventLog: the EventLog over NATS JetStream (nats.js v3), written for NATS 2.9
 * (single `filter_subject`, no `sync_interval`; see README.md "Durability").
 *
 * - publish: `Nats-Msg-Id` = event id; retried with the same id on timeout/disconnect
 *   (retry.ts); with an Outbox the event is recorded before the first attempt and removed
 *   after its ack, and `connect` resends whatever a previous run left there.
 * - consume: a durable pull consumer with explicit acks and `max_ack_pending: 1`: one event
 *   in flight, so delivery is in stream order even across naks and redeliveries. The cost
 *   is one round trip per event (ack -> next delivery), a few thousand events/s per
 *   consumer on a LAN; projections shard by durable if they need more.
 * - read/tail: ordered (ephemeral, flow-controlled) consumers; read stops at its bound.
 */
import type {
  ConsumerConfig,
  JetStreamClient,
  JetStreamManager,
  JsMsg,
  OrderedConsumerOptions,
  StreamConfig,
} from '@nats-io/jetstream';
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { errorText, ValidationError, withTimeout } from '@perpmesh/core';
import { deferred, handledPromise } from './async.js';
import {
  ConsumerConfigError,
  EventLogClosedError,
  NoStreamForSubjectError,
  PublishBatchError,
  StreamConfigError,
  StreamNotFoundError,
} from './errors.js';
import {
  type ConsumeOptions,
  type ConsumerHandle,
  type EventLog,
  type MessageHandler,
  nakDelayFor,
  type OutgoingMessage,
  type PublishAck,
  type ReadOptions,
  type ResolvedConsumeOptions,
  resolveConsumeOptions,
  resolveReadOptions,
  resolveStreamSpec,
  resolveTailOptions,
  type StoredMessage,
  type StreamSpec,
  type StreamState,
  type TailHandle,
  type TailOptions,
  validateFilterSubject,
  validateName,
  validateOutgoing,
} from './eventlog.js';
import { ConsumerFailures, type EventLogLogger, STDERR_EVENTLOG_LOGGER } from './failures.js';
import { jetstreamApi, loadNats, transportApi } from './nats-modules.js';
import type { Outbox } from './outbox.js';
import { PublishAcks } from './publish-acks.js';
import { type OpenedTailConsumer, openWithRetry, ResumingTail } from './resuming-tail.js';
import {
  type AttemptFailure,
  DEFAULT_PUBLISH_RETRY,
  type PublishRetryOptions,
  type PublishRetryPolicy,
  publishWithRetry,
  retryAfterFailure,
  retrySpanMs,
} from './retry.js';

const MSG_ID_HEADER = 'Nats-Msg-Id';

/**
 * How long one pull request of a consumer (durable, tail or read) lives. nats.js derives the
 * rest from it: the server's idle heartbeat is half of it (two missed = a dead pull, noticed
 * after about `expires`), and after a reconnect or a missed heartbeat it re-checks the
 * consumer every `expires` x (0.5..1.5) until the cluster answers. Its default, 30 s, made a
 * consumer whose node died (or whose stream was electing a leader) wait 15-45 s per check,
 * far past the election; 5 s bounds that to about 2.5-7.5 s (a heartbeat every 2.5 s and a
 * new pull every 5 s per idle consumer: noise for the server).
 */
export const DEFAULT_PULL_EXPIRES_MS = 5_000;
/**
 * How long `tail()` keeps trying to open its first consumer before it fails: long enough for
 * a cluster to elect after losing a node (a few seconds) and for a consumer placed on the
 * lost server to be placed again.
 */
export const DEFAULT_TAIL_OPEN_DEADLINE_MS = 30_000;

/**
 * How often the client pings the server, and how many unanswered pings mean a dead
 * connection. nats.js' defaults (2 min x 2) let a server that stops answering while the
 * connection stays open (frozen, paused, a partition that drops packets) go unnoticed for
 * minutes: publishes time out one by one and tails stall. 3 s x 2 notices it within about
 * 6-9 s; the client then drops the connection and reconnects, and a server that wakes up is
 * used again (tails resume through their reconnect path).
 */
export const DEFAULT_NATS_PING_INTERVAL_MS = 3_000;
export const DEFAULT_NATS_MAX_PINGS_OUT = 2;

/** How long `close()` waits for the server to confirm the last acks (a best-effort flush). */
const CLOSE_FLUSH_TIMEOUT_MS = 2_000;

export interface NatsLivenessOptions {
  /** Ping interval in ms. Default DEFAULT_NATS_PING_INTERVAL_MS. */
  readonly pingIntervalMs?: number;
  /** Unanswered pings that close the connection (then reconnect). Default DEFAULT_NATS_MAX_PINGS_OUT. */
  readonly maxPingsOut?: number;
}

/**
 * The nats.js connection options every perpmesh connection takes (the log's own, or one a
 * caller opens with credentials): reconnect forever, no async traces, and dead-server
 * detection within seconds (see DEFAULT_NATS_PING_INTERVAL_MS).
 */
export function natsConnectionOptions(options: NatsLivenessOptions = {}): {
  noAsyncTraces: true;
  maxReconnectAttempts: number;
  pingInterval: number;
  maxPingOut: number;
} {
  const pingInterval = options.pingIntervalMs ?? DEFAULT_NATS_PING_INTERVAL_MS;
  const maxPingOut = options.maxPingsOut ?? DEFAULT_NATS_MAX_PINGS_OUT;
  if (!Number.isSafeInteger(pingInterval) || pingInterval < 100) {
    throw new ValidationError(
      'pingIntervalMs',
      `must be a whole number of ms >= 100, got ${JSON.stringify(pingInterval)}`,
    );
  }
  if (!Number.isSafeInteger(maxPingOut) || maxPingOut < 1) {
    throw new ValidationError(
      'maxPingsOut',
      `must be a positive whole number, got ${JSON.stringify(maxPingOut)}`,
    );
  }
  return {
    // Async stack traces cost ~2x publish CPU in nats.js (ARCHITECTURE.md §3).
    noAsyncTraces: true,
    maxReconnectAttempts: -1,
    pingInterval,
    maxPingOut,
  };
}

export interface NatsEventLogOptions extends NatsLivenessOptions {
  /** Server URL(s). Ignored when `connection` is given. */
  readonly servers?: string | readonly string[];
  /** An existing connection; the caller owns it (close() leaves it open). */
  readonly connection?: NatsConnection;
  /** Connection name shown by the server (monitoring). */
  readonly name?: string;
  /** Where unacknowledged events wait; resent with their ids on connect. */
  readonly outbox?: Outbox;
  readonly publishRetry?: Partial<PublishRetryPolicy>;
  /** Publishes in flight during publishBatch / resends. Default 256. */
  readonly publishWindow?: number;
  /** Where consumer handler failures are logged. Default: JSON lines on stderr. */
  readonly logger?: EventLogLogger;
  /** Life of one pull request (>= 1000): bounds how fast a consumer resumes after a node loss. Default DEFAULT_PULL_EXPIRES_MS. */
  readonly pullExpiresMs?: number;
  /** How long `tail()` retries opening its first consumer. Default DEFAULT_TAIL_OPEN_DEADLINE_MS. */
  readonly tailOpenDeadlineMs?: number;
  /**
   * How a publish waits for its ack: `shared` (default; publish-acks.ts: one reply
   * subscription and one deadline timer for all publishes) or `nats-js` (nats.js
   * `js.publish`, one request each). Same messages and acks on the wire. When not given,
   * `PERPMESH_NATS_PUBLISH_ACKS` decides (the benches' before/after).
   */
  readonly publishAcks?: PublishAcksMode;
}

/** See `NatsEventLogOptions.publishAcks`. */
export type PublishAcksMode = 'shared' | 'nats-js';
/** The env switch read when `publishAcks` is not given (`shared` / `nats-js`). */
export const NATS_PUBLISH_ACKS_ENV = 'PERPMESH_NATS_PUBLISH_ACKS';

function publishAcksMode(opts: NatsEventLogOptions): PublishAcksMode {
  const mode = opts.publishAcks ?? process.env[NATS_PUBLISH_ACKS_ENV] ?? 'shared';
  if (mode !== 'shared' && mode !== 'nats-js') {
    throw new ValidationError(
      opts.publishAcks === undefined ? NATS_PUBLISH_ACKS_ENV : 'publishAcks',
      `must be "shared" or "nats-js", got ${JSON.stringify(mode)}`,
    );
  }
  return mode;
}

export interface ResendReport {
  readonly resent: number;
  /** Resent events the stream already had (their first publish had landed). */
  readonly duplicates: number;
  /** Still in the outbox; tried again on the next start or resendPending(). */
  readonly failed: ReadonlyArray<{ readonly id: string; readonly error: unknown }>;
}

function findCause(err: unknown, test: (e: unknown) => boolean): boolean {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (test(e)) return true;
  }
  return false;
}

/** Our ack from nats.js's (which carries more fields). */
function publishAckOf(ack: { stream: string; seq: number; duplicate: boolean }): PublishAck {
  return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
}

function classifyPublishError(err: unknown): AttemptFailure {
  const { ClosedConnectionError, DrainingConnectionError, NoRespondersError, RequestError, TimeoutError } =
    transportApi();
  if (
    findCause(err, (e) => e instanceof NoRespondersError || (e instanceof RequestError && e.isNoResponders()))
  ) {
    return 'no-stream';
  }
  if (err instanceof ClosedConnectionError || err instanceof DrainingConnectionError) return 'fatal';
  if (err instanceof jetstreamApi().JetStreamApiError) return 'fatal'; // the server refused it (size, limits)
  // Timeouts, disconnects, and requests cut by a reconnect: the event may or may not have
  // landed; resending with the same id is always safe.
  if (findCause(err, (e) => e instanceof TimeoutError || e instanceof RequestError)) return 'retry';
  return (err as { name?: string })?.name === 'ConnectionError' ? 'retry' : 'fatal';
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof jetstreamApi().JetStreamApiError && err.code === code;
}

function headersOf(h: MsgHdrs | undefined): Record<string, string> | undefined {
  if (!h) return undefined;
  let out: Record<string, string> | undefined;
  for (const k of h.keys()) {
    if (k.toLowerCase().startsWith('nats-')) continue;
    out ??= {};
    out[k] = h.get(k);
  }
  return out;
}

function toStored(m: JsMsg, acked: boolean): StoredMessage {
  const hdrs = headersOf(m.headers);
  return {
    stream: m.info.stream,
    seq: m.seq,
    subject: m.subject,
    id: m.headers?.get(MSG_ID_HEADER) ?? '',
    data: m.data,
    timestampMs: Number(m.timestampNanos / 1_000_000n),
    ...(hdrs ? { headers: hdrs } : {}),
    redelivered: acked ? m.redelivered : false,
    deliveryCount: acked ? m.info.deliveryCount : 1,
  };
}

/** Runs `handler` over a ConsumerMessages iterator, acking (durable) or not (tail). */
class NatsDeliveryLoop {
  private stopped = false;
  private readonly done = deferred<void>();
  readonly closed: Promise<void>;
  /** Failed deliveries of the current event seen by this loop (bounds 'stop'; see failures.ts). */
  private local = { seq: 0, count: 0 };

  constructor(
    private readonly messages: AsyncIterable<JsMsg> & { close(): Promise<unknown> },
    private readonly handler: MessageHandler,
    private readonly opts: ResolvedConsumeOptions | undefined,
    readonly failures: ConsumerFailures | undefined,
    private readonly onEnd: () => void,
  ) {
    this.closed = handledPromise(this.done.promise);
  }

  start(): void {
    this.run().then(
      () => {
        this.onEnd();
        this.done.resolve();
      },
      (err) => {
        this.onEnd();
        this.done.reject(err);
      },
    );
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Unsubscribes at once. Not awaited: close() settles only when this loop has left the
    // iterator, i.e. after an in-flight handler, and stop may be called from inside one.
    // That handler's event stays unacked and is redelivered after ackWait.
    this.messages.close().catch(() => {});
  }

  private async run(): Promise<void> {
    for await (const m of this.messages) {
      if (this.stopped) break;
      const o = this.opts;
      const failures = this.failures;
      if (!o || !failures) {
        await this.handler(toStored(m, false));
        continue;
      }
      // Keep a long handler from being redelivered meanwhile: tell the server we work on it.
      const keepAlive = setInterval(
        () => {
          if (!this.stopped) m.working();
        },
        Math.max(Math.floor(o.ackWaitMs / 2), 50),
      );
      const stored = toStored(m, true);
      let failed = false;
      let error: unknown;
      try {
        await this.handler(stored);
      } catch (err) {
        failed = true;
        error = err;
      } finally {
        clearInterval(keepAlive);
      }
      if (this.stopped) break; // "died" before the ack: the server redelivers after ackWait
      if (!failed) {
        m.ack();
        failures.ack();
        continue;
      }
      this.local =
        this.local.seq === m.seq ? { seq: m.seq, count: this.local.count + 1 } : { seq: m.seq, count: 1 };
      const attempts = o.onMaxDeliver === 'stop' ? this.local.count : m.info.deliveryCount;
      const outcome = failures.record(stored, attempts, error);
      if (outcome === 'retry') {
        m.nak(nakDelayFor(o.nakDelayMs, m.info.deliveryCount));
      } else if (outcome === 'parked') {
        m.term(); // no reason text: `+TERM <reason>` is newer than NATS 2.9
      } else {
        // Not acked: handed back at once (after the unsubscribe, so not to this loop) for
        // the next consumer of this durable.
        await this.stop();
        m.nak();
        throw failures.poisonError(stored, attempts, error);
      }
    }
    if (!this.stopped) throw new EventLogClosedError('consumer (its message iterator ended)');
  }
}

export class NatsEventLog implements EventLog {
  private readonly loops = new Set<NatsDeliveryLoop>();
  private readonly policy: PublishRetryPolicy;
  private readonly window: number;
  private readonly logger: EventLogLogger;
  private readonly pullExpiresMs: number;
  private readonly tailOpenDeadlineMs: number;
  private closed = false;
  private readonly pendingRemovals = new Set<Promise<void>>();
  /** Publish-acks on one shared reply subscription; undefined: nats.js `js.publish`. */
  private readonly acks: PublishAcks | undefined;
  /** What `connect` resent from the outbox. */
  startupResend: ResendReport = { resent: 0, duplicates: 0, failed: [] };

  private constructor(
    readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly ownsConnection: boolean,
    private readonly outbox: Outbox | undefined,
    opts: NatsEventLogOptions,
  ) {
    this.logger = opts.logger ?? STDERR_EVENTLOG_LOGGER;
    this.policy = { ...DEFAULT_PUBLISH_RETRY, ...opts.publishRetry };
    this.window = opts.publishWindow ?? 256;
    this.pullExpiresMs = opts.pullExpiresMs ?? DEFAULT_PULL_EXPIRES_MS;
    this.tailOpenDeadlineMs = opts.tailOpenDeadlineMs ?? DEFAULT_TAIL_OPEN_DEADLINE_MS;
    this.acks = publishAcksMode(opts) === 'shared' ? new PublishAcks(nc) : undefined;
  }

  /** Connects, then resends what the outbox holds (see `startupResend`). */
  static async connect(opts: NatsEventLogOptions): Promise<NatsEventLog> {
    publishAcksMode(opts); // a bad switch is refused before connecting
    await loadNats();
    const window = opts.publishWindow ?? 256;
    if (!Number.isSafeInteger(window) || window < 1) {
      throw new ValidationError('publishWindow', `must be a positive integer, got ${JSON.stringify(window)}`);
    }
    const expires = opts.pullExpiresMs;
    if (expires !== undefined && (!Number.isSafeInteger(expires) || expires < 1_000)) {
      throw new ValidationError(
        'pullExpiresMs',
        `must be a whole number of ms >= 1000, got ${JSON.stringify(expires)}`,
      );
    }
    const nc =
      opts.connection ??
      (await transportApi().connect({
        servers:
          typeof opts.servers === 'string' ? opts.servers : [...(opts.servers ?? ['nats://127.0.0.1:4222'])],
        name: opts.name ?? 'perpmesh-eventlog',
        ...natsConnectionOptions(opts),
      }));
    let log: NatsEventLog | undefined;
    try {
      const jsm = await jetstreamApi().jetstreamManager(nc);
      log = new NatsEventLog(nc, jsm.jetstream(), jsm, !opts.connection, opts.outbox, opts);
      if (opts.outbox) log.startupResend = await log.resendPending();
      return log;
    } catch (err) {
      // Its ack subscription is on the caller's connection when the caller owns it.
      log?.acks?.close();
      // A connection we opened and never hand out would otherwise reconnect forever.
      if (!opts.connection) await nc.close().catch(() => undefined);
      throw err;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new EventLogClosedError();
  }

  async ensureStreams(specs: readonly StreamSpec[]): Promise<void> {
    this.assertOpen();
    const resolved = specs.map((s, i) => resolveStreamSpec(s, i));
    const span = retrySpanMs(this.policy);
    resolved.forEach((r, i) => {
      if (r.duplicateWindowMs < span) {
        throw new ValidationError(
          `streams[${i}].duplicateWindowMs`,
          `must cover the publish retry span (${span} ms), got ${r.duplicateWindowMs}`,
        );
      }
    });
    for (const r of resolved) {
      const wanted: Partial<StreamConfig> = {
        subjects: [...r.subjects],
        max_age: transportApi().nanos(r.maxAgeMs),
        duplicate_window: transportApi().nanos(r.duplicateWindowMs),
        num_replicas: r.replicas,
      };
      try {
        let info: Awaited<ReturnType<JetStreamManager['streams']['info']>> | undefined;
        try {
          info = await this.jsm.streams.info(r.name);
        } catch (err) {
          if (!isApiError(err, jetstreamApi().JetStreamApiCodes.StreamNotFound)) throw err;
        }
        if (!info) {
          await this.jsm.streams.add({
            name: r.name,
            ...wanted,
            storage: jetstreamApi().StorageType.File,
            retention: jetstreamApi().RetentionPolicy.Limits,
            discard: jetstreamApi().DiscardPolicy.Old,
          });
          continue;
        }
        const c = info.config;
        if (c.storage !== jetstreamApi().StorageType.File) {
          throw new StreamConfigError(r.name, `exists with ${c.storage} storage; file storage is required`);
        }
        const same =
          JSON.stringify([...c.subjects].sort()) === JSON.stringify([...r.subjects].sort()) &&
          c.max_age === wanted.max_age &&
          c.duplicate_window === wanted.duplicate_window &&
          c.num_replicas === r.replicas;
        if (!same) await this.jsm.streams.update(r.name, { ...c, ...wanted });
      } catch (err) {
        if (err instanceof StreamConfigError) throw err;
        throw new StreamConfigError(r.name, `create/update failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
  }

  /** Built once: per-publish allocations are most of what this layer adds to nats.js. */
  private readonly retryOptions: PublishRetryOptions = {
    stopped: () => this.closed,
    streamExists: async (subject) => {
      for await (const _ of this.jsm.streams.names(subject)) return true;
      return false;
    },
  };

  private attempt(msg: OutgoingMessage): Promise<PublishAck> {
    const acks = this.acks;
    if (acks) {
      return publishWithRetry(
        msg,
        () => acks.publish(msg.subject, msg.data, msg.id, this.policy.ackTimeoutMs, msg.headers),
        classifyPublishError,
        this.policy,
        this.retryOptions,
      );
    }
    const options: { msgID: string; timeout: number; headers?: MsgHdrs } = {
      msgID: msg.id,
      timeout: this.policy.ackTimeoutMs,
    };
    if (msg.headers) {
      const h = transportApi().headers();
      for (const [k, v] of Object.entries(msg.headers)) h.set(k, v);
      options.headers = h;
    }
    // The first attempt without an async frame (most publishes need no other); a failure
    // goes to the retry loop, which is publishWithRetry's from its second attempt on.
    return this.js
      .publish(msg.subject, msg.data, options)
      .then(publishAckOf, (err: unknown) => this.retry(msg, options, err));
  }

  private retry(msg: OutgoingMessage, options: { msgID: string }, firstError: unknown): Promise<PublishAck> {
    const once = () => this.js.publish(msg.subject, msg.data, options).then(publishAckOf);
    return retryAfterFailure(msg, firstError, once, classifyPublishError, this.policy, this.retryOptions);
  }

  private forget(ids: string[]): void {
    if (!this.outbox || ids.length === 0) return;
    // Not awaited by the publisher: a lost removal only costs one de-duplicated resend.
    const p: Promise<void> = this.outbox
      .remove(ids)
      .catch(() => {})
      .finally(() => this.pendingRemovals.delete(p));
    this.pendingRemovals.add(p);
  }

  async publish(msg: OutgoingMessage): Promise<PublishAck> {
    this.assertOpen();
    validateOutgoing(msg);
    await this.outbox?.add([msg]);
    const ack = await this.attempt(msg);
    this.forget([msg.id]);
    return ack;
  }

  async publishBatch(msgs: readonly OutgoingMessage[]): Promise<PublishAck[]> {
    this.assertOpen();
    for (const [i, m] of msgs.entries()) validateOutgoing(m, `msgs[${i}]`);
    await this.outbox?.add(msgs);
    const { acks, failures } = await this.pipeline(msgs);
    this.forget(msgs.filter((_, i) => acks[i] !== undefined).map((m) => m.id));
    if (failures.length > 0) throw new PublishBatchError(failures, acks);
    return acks as PublishAck[];
  }

  /** Publishes with `window` attempts in flight; acks land at their input index. */
  private async pipeline(msgs: readonly OutgoingMessage[]) {
    const acks: (PublishAck | undefined)[] = new Array(msgs.length).fill(undefined);
    const failures: { index: number; id: string; error: unknown }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < msgs.length) {
        const i = next++;
        const m = msgs[i] as OutgoingMessage;
        try {
          acks[i] = await this.attempt(m);
        } catch (error) {
          failures.push({ index: i, id: m.id, error });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.window, msgs.length) }, worker));
    failures.sort((a, b) => a.index - b.index);
    return { acks, failures };
  }

  /** Resends every outbox entry with its original id; acked ones leave the outbox. */
  async resendPending(): Promise<ResendReport> {
    this.assertOpen();
    if (!this.outbox) return { resent: 0, duplicates: 0, failed: [] };
    const pending = await this.outbox.pending();
    const { acks, failures } = await this.pipeline(pending);
    const ok = pending.filter((_, i) => acks[i] !== undefined).map((m) => m.id);
    await this.outbox.remove(ok);
    return {
      resent: ok.length,
      duplicates: acks.filter((a) => a?.duplicate).length,
      failed: failures.map(({ id, error }) => ({ id, error })),
    };
  }

  private async ensureConsumer(o: ResolvedConsumeOptions): Promise<void> {
    const wanted: Partial<ConsumerConfig> = {
      ack_policy: jetstreamApi().AckPolicy.Explicit,
      ack_wait: transportApi().nanos(o.ackWaitMs),
      // With 'stop' the server must keep redelivering: it would otherwise skip the event.
      max_deliver: o.onMaxDeliver === 'stop' ? -1 : o.maxDeliver,
      // One unacked event at a time: in-order processing (see the file header for the cost).
      max_ack_pending: 1,
    };
    let existing: ConsumerConfig | undefined;
    try {
      existing = (await this.jsm.consumers.info(o.stream, o.durable)).config;
    } catch (err) {
      if (isApiError(err, jetstreamApi().JetStreamApiCodes.StreamNotFound))
        throw new StreamNotFoundError(o.stream, { cause: err });
      if (!isApiError(err, jetstreamApi().JetStreamApiCodes.ConsumerNotFound)) throw err;
    }
    if (!existing) {
      const p = o.deliverPolicy;
      const start: Partial<ConsumerConfig> =
        p === 'all'
          ? { deliver_policy: jetstreamApi().DeliverPolicy.All }
          : p === 'new'
            ? { deliver_policy: jetstreamApi().DeliverPolicy.New }
            : 'startSeq' in p
              ? { deliver_policy: jetstreamApi().DeliverPolicy.StartSequence, opt_start_seq: p.startSeq }
              : {
                  deliver_policy: jetstreamApi().DeliverPolicy.StartTime,
                  opt_start_time: new Date(p.startTimeMs).toISOString(),
                };
      try {
        await this.jsm.consumers.add(o.stream, {
          durable_name: o.durable,
          ...wanted,
          ...start,
          ...(o.filterSubject ? { filter_subject: o.filterSubject } : {}),
        });
      } catch (err) {
        if (isApiError(err, jetstreamApi().JetStreamApiCodes.StreamNotFound))
          throw new StreamNotFoundError(o.stream, { cause: err });
        throw new ConsumerConfigError(o.stream, o.durable, `create failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
      return;
    }
    if (existing.deliver_subject) {
      throw new ConsumerConfigError(
        o.stream,
        o.durable,
        'exists as a push consumer; a pull consumer is required',
      );
    }
    if (existing.ack_policy !== jetstreamApi().AckPolicy.Explicit) {
      throw new ConsumerConfigError(o.stream, o.durable, `exists with ack policy ${existing.ack_policy}`);
    }
    const update: Partial<ConsumerConfig> = {};
    if (existing.ack_wait !== wanted.ack_wait) update.ack_wait = wanted.ack_wait;
    if (existing.max_deliver !== wanted.max_deliver) update.max_deliver = wanted.max_deliver;
    if (existing.max_ack_pending !== 1) update.max_ack_pending = 1;
    if ((existing.filter_subject || undefined) !== o.filterSubject)
      update.filter_subject = o.filterSubject ?? '';
    if (Object.keys(update).length === 0) return;
    try {
      await this.jsm.consumers.update(o.stream, o.durable, update);
    } catch (err) {
      throw new ConsumerConfigError(
        o.stream,
        o.durable,
        `cannot update ${Object.keys(update).join(', ')} (delete the durable or use a new name): ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  async consume(opts: ConsumeOptions, handler: MessageHandler): Promise<ConsumerHandle> {
    this.assertOpen();
    const o = resolveConsumeOptions(opts);
    await this.ensureConsumer(o);
    const consumer = await this.js.consumers.get(o.stream, o.durable);
    // With max_ack_pending 1 the server sends one event at a time anyway; a small pull
    // batch keeps a request outstanding so the next event comes right after the ack.
    const messages = await consumer.consume({ max_messages: 8, expires: this.pullExpiresMs });
    const failures = new ConsumerFailures(o, this.logger);
    const handle = this.startLoop(messages, handler, o, failures);
    return { ...handle, stats: () => failures.stats() };
  }

  private startLoop(
    messages: AsyncIterable<JsMsg> & { close(): Promise<unknown> },
    handler: MessageHandler,
    o: ResolvedConsumeOptions | undefined,
    failures: ConsumerFailures | undefined,
  ): { stop: () => Promise<void>; closed: Promise<void> } {
    const loop = new NatsDeliveryLoop(messages, handler, o, failures, () => this.loops.delete(loop));
    this.loops.add(loop);
    loop.start();
    return { stop: () => loop.stop(), closed: loop.closed };
  }

  private async orderedConsumer(stream: string, opts: Partial<OrderedConsumerOptions>) {
    try {
      return await this.js.consumers.get(stream, opts);
    } catch (err) {
      if (isApiError(err, jetstreamApi().JetStreamApiCodes.StreamNotFound))
        throw new StreamNotFoundError(stream, { cause: err });
      throw err;
    }
  }

  /** An error no retry of an open can cure: the log or its connection closed, no such stream. */
  private isFatalOpenError(err: unknown): boolean {
    return (
      this.closed || err instanceof StreamNotFoundError || err instanceof transportApi().ClosedConnectionError
    );
  }

  /**
   * `attempt` retried with a bounded backoff for `tailOpenDeadlineMs` (resuming-tail.ts
   * `openWithRetry`): a stream or consumer request in a cluster that just lost a node times out
   * while it elects, or while a new one-replica consumer sits on the lost server. Never retried:
   * a closed log or connection, a stream that does not exist.
   */
  private retriedOpen<T>(what: string, subject: string, attempt: () => Promise<T>): Promise<T> {
    return openWithRetry(attempt, {
      what,
      isFatal: (err) => this.isFatalOpenError(err),
      retryMaxMs: this.pullExpiresMs,
      deadlineMs: this.tailOpenDeadlineMs,
      onRetry: (err, n) =>
        this.logger.warn(
          { filterSubject: subject, attempt: n, err: errorText(err) },
          `${what} failed (a cluster electing, or a consumer placed on a lost server?); retrying`,
        ),
    });
  }

  read(opts: ReadOptions): AsyncIterable<StoredMessage> {
    const o = resolveReadOptions(opts);
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        self.assertOpen();
        const subject = o.filterSubject ?? o.stream;
        const { firstSeq, lastSeq } = await self.retriedOpen(
          `reading where ${o.stream} ends (read)`,
          subject,
          () => self.streamInfo(o.stream),
        );
        const endSeq = Math.min(o.toSeq, lastSeq);
        const fromSeq = Math.max(o.fromSeq, firstSeq, 1);
        if (lastSeq === 0 || fromSeq > endSeq) return;
        // num_pending at creation: 0 means nothing matches, and waiting would hang.
        const { consumer, pending } = await self.retriedOpen(
          `opening a consumer on ${o.stream} (read)`,
          subject,
          async () => {
            const opened = await self.orderedConsumer(o.stream, {
              ...(o.filterSubject ? { filter_subjects: o.filterSubject } : {}),
              // The newest event per subject only: the range bounds are then checked here.
              ...(o.lastPerSubject
                ? { deliver_policy: jetstreamApi().DeliverPolicy.LastPerSubject }
                : o.fromTimeMs !== undefined
                  ? { opt_start_time: new Date(o.fromTimeMs).toISOString() }
                  : { deliver_policy: jetstreamApi().DeliverPolicy.StartSequence, opt_start_seq: fromSeq }),
            });
            try {
              return { consumer: opened, pending: (await opened.info(true)).num_pending };
            } catch (err) {
              await opened.delete().catch(() => {});
              throw err;
            }
          },
        );
        try {
          if (pending === 0) return;
          const messages = await consumer.consume({ max_messages: 256, expires: self.pullExpiresMs });
          try {
            for await (const m of messages) {
              if (m.seq > endSeq) break;
              const stored = toStored(m, false);
              if (o.toTimeMs !== undefined && stored.timestampMs > o.toTimeMs) break;
              const early = o.fromTimeMs !== undefined && stored.timestampMs < o.fromTimeMs;
              if (m.seq >= fromSeq && !early) yield stored;
              // pending 0: this was the last matching event in the stream right now.
              if (m.seq >= endSeq || m.info.pending === 0) break;
            }
          } finally {
            await messages.close().catch(() => {});
          }
        } finally {
          await consumer.delete().catch(() => {});
        }
      },
    };
  }

  async tail(filterSubject: string, opts: TailOptions, handler: MessageHandler): Promise<TailHandle> {
    this.assertOpen();
    const filter = validateFilterSubject('tail.filterSubject', filterSubject);
    const { startSeq } = resolveTailOptions(opts);
    const retried = <T>(what: string, attempt: () => Promise<T>) =>
      this.retriedOpen(`${what} (tail on ${filter})`, filter, attempt);
    const names = await retried('finding the stream', async () => {
      const found: string[] = [];
      for await (const name of this.jsm.streams.names(filter)) found.push(name);
      return found;
    });
    if (names.length === 0) throw new NoStreamForSubjectError(filter);
    if (names.length > 1) {
      throw new ValidationError('tail.filterSubject', `${JSON.stringify(filter)} spans several streams`);
    }
    const stream = names[0] as string;
    // An explicit start, so a replacement consumer (resuming-tail.ts) can continue exactly
    // where the lost one stopped, even when it delivered nothing.
    const firstSeq =
      startSeq === 'new'
        ? (await retried(`reading where ${stream} ends`, () => this.streamInfo(stream))).lastSeq + 1
        : startSeq;
    const open = async (seq: number): Promise<OpenedTailConsumer<JsMsg>> => {
      const consumer = await this.orderedConsumer(stream, {
        filter_subjects: filter,
        deliver_policy: jetstreamApi().DeliverPolicy.StartSequence,
        opt_start_seq: seq,
      });
      const messages = await consumer.consume({ max_messages: 256, expires: this.pullExpiresMs });
      return { messages, remove: () => consumer.delete().then(() => undefined) };
    };
    const messages = new ResumingTail<JsMsg>({
      first: await retried(`opening a consumer on ${stream}`, () => open(firstSeq)),
      firstSeq,
      open,
      silenceMs: 2 * this.pullExpiresMs,
      retryMaxMs: this.pullExpiresMs,
      isFatal: (err) => this.isFatalOpenError(err),
      onResume: ({ startSeq: from, silentMs }) =>
        this.logger.warn(
          { filterSubject: filter, stream, startSeq: from, silentMs },
          'tail silent (its server lost?): resumed on a new consumer',
        ),
    });
    const handle = this.startLoop(messages, handler, undefined, undefined);
    return {
      stop: async () => {
        await handle.stop();
        await messages.close();
      },
      closed: handle.closed,
    };
  }

  async streamInfo(name: string): Promise<StreamState> {
    this.assertOpen();
    validateName('stream', name);
    try {
      const { state } = await this.jsm.streams.info(name);
      return { firstSeq: state.first_seq, lastSeq: state.last_seq, messages: state.messages };
    } catch (err) {
      if (isApiError(err, jetstreamApi().JetStreamApiCodes.StreamNotFound))
        throw new StreamNotFoundError(name, { cause: err });
      throw err;
    }
  }

  async deleteStream(name: string): Promise<boolean> {
    this.assertOpen();
    validateName('stream', name);
    try {
      return await this.jsm.streams.delete(name);
    } catch (err) {
      if (isApiError(err, jetstreamApi().JetStreamApiCodes.StreamNotFound)) return false;
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.loops].map((l) => l.stop()));
    await Promise.all(this.pendingRemovals);
    this.acks?.close();
    // Flush so acks of finished handlers reach the server; then close (not drain: drain
    // would wait on subscriptions whose handler may be the very caller of close()). A flush
    // waits for the server's PONG: bounded, so a silent server does not hold a shutdown.
    await withTimeout(this.nc.flush(), CLOSE_FLUSH_TIMEOUT_MS, 'nats flush on close', {
      keepAlive: true,
    }).catch(() => {});
    if (this.ownsConnection) await this.nc.close().catch(() => {});
  }
}
