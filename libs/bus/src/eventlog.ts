/**
 * The EventLog port: an append-only, byte-level log of events grouped into streams.
 *
 * The bus knows nothing of protobuf: it carries `{ subject, id, data }`, where `id` is the
 * envelope id (unique, UUIDv7/ULID) used for de-duplication. Two adapters honour the same
 * contract (libs/testing/src/eventlog.contract.ts): `NatsEventLog` (JetStream) and
 * `EmbeddedEventLog` (one process, files in a data dir).
 *
 * Guarantees every adapter gives:
 * - publish resolves only once the event is stored; the same id published twice within the
 *   stream's duplicate window is stored once (the second ack says `duplicate: true` and
 *   carries the first sequence);
 * - a durable consumer gets events of its stream in sequence order, one at a time, and an
 *   event is acknowledged only after its handler resolved: a handler that throws or a
 *   process that dies before the ack gets the event again (at-least-once; `runProjector`
 *   turns that into at-most-once application);
 * - `read` is bounded: it stops at the requested end or at the stream's last sequence at
 *   call time, and never waits for new events.
 */
import { ValidationError } from '@perpmesh/core';
import type { ConsumerStats, HandlerFailure } from './failures.js';
import { isValidPublishSubject, isValidSubjectFilter } from './subjects.js';

/** Default duplicate window: long enough for every publish retry, short enough to stay cheap. */
export const DEFAULT_DUPLICATE_WINDOW_MS = 10 * 60 * 1000;

export interface StreamSpec {
  /** Stream name: letters, digits, `_` and `-` (e.g. `EXEC`). */
  readonly name: string;
  /** Subjects the stream stores; wildcards allowed (`exec.>`). Must not overlap another stream. */
  readonly subjects: readonly string[];
  /** Events older than this are dropped. 0 = keep forever. */
  readonly maxAgeMs: number;
  /**
   * Ids seen within this window are de-duplicated. Defaults to 10 min (capped at maxAgeMs);
   * it must cover the publisher's whole retry span, or a retry could be stored twice.
   */
  readonly duplicateWindowMs?: number;
  /** JetStream replicas (deployments use 3). The embedded log ignores it. Default 1. */
  readonly replicas?: number;
}

export interface OutgoingMessage {
  readonly subject: string;
  /** Unique event id (the envelope id); JetStream's `Nats-Msg-Id`. */
  readonly id: string;
  readonly data: Uint8Array;
  /** Extra headers (names not starting with `Nats-`, which are reserved). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface PublishAck {
  readonly stream: string;
  readonly seq: number;
  /** True when an event with this id was already stored; `seq` is then the stored one's. */
  readonly duplicate: boolean;
}

export interface StoredMessage {
  readonly stream: string;
  readonly seq: number;
  readonly subject: string;
  /** The id it was published with ('' when a foreign publisher set none). */
  readonly id: string;
  readonly data: Uint8Array;
  /** When the log stored it (server time for JetStream). */
  readonly timestampMs: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** True when this delivery to a durable consumer is not the first. Always false for read/tail. */
  readonly redelivered: boolean;
  /** 1 on the first delivery. */
  readonly deliveryCount: number;
}

/** Where a new durable consumer starts. Ignored when the durable already exists. */
export type DeliverPolicy = 'all' | 'new' | { readonly startSeq: number } | { readonly startTimeMs: number };

export interface ConsumeOptions {
  readonly stream: string;
  /** Durable name: letters, digits, `_` and `-`. Its position survives restarts. */
  readonly durable: string;
  /** One subject filter (NATS 2.9 has no plural filters). Default: the whole stream. */
  readonly filterSubject?: string;
  /** Default 'all'. */
  readonly deliverPolicy?: DeliverPolicy;
  /** JetStream redelivers an unacked event after this long. Default DEFAULT_ACK_WAIT_MS (10 s). */
  readonly ackWaitMs?: number;
  /**
   * Failed deliveries of one event before the consumer gives up on it (see `onMaxDeliver`).
   * Default: never give up (-1); every failure is still logged and counted.
   */
  readonly maxDeliver?: number;
  /**
   * What giving up means. 'park' (default): the event is terminated (logged at error) and
   * the consumer moves on. 'stop': the event stays unacknowledged, delivery ends and
   * `closed` rejects with `PoisonEventError`; for consumers that must not skip an event
   * (projections). With 'stop', deliveries are counted per process in both adapters.
   */
  readonly onMaxDeliver?: 'park' | 'stop';
  /** Called after each failed delivery is logged and counted (metrics, readiness). */
  readonly onHandlerError?: (failure: HandlerFailure) => void;
  /** First delay before a failed event is redelivered; doubles each time up to 30 s. Default 200 ms. */
  readonly nakDelayMs?: number;
}

export type MessageHandler = (msg: StoredMessage) => Promise<void>;

export interface ConsumerHandle {
  /**
   * Stops delivery. An event whose handler is still running is NOT acknowledged: it is
   * delivered again to the next consumer of this durable (the projector skips it).
   * Safe to call from inside the handler.
   */
  stop(): Promise<void>;
  /** Settles when delivery has ended: resolves after stop(), rejects if delivery failed for good. */
  readonly closed: Promise<void>;
  /** Acks, failed deliveries and parked events of this consumer so far. */
  stats(): ConsumerStats;
}

export interface ReadOptions {
  readonly stream: string;
  /** Inclusive. Default: the first stored event. */
  readonly fromSeq?: number;
  /** Inclusive. Default: the stream's last sequence when `read` was called. */
  readonly toSeq?: number;
  /** Inclusive, by stored timestamp. */
  readonly fromTimeMs?: number;
  /** Inclusive, by stored timestamp. */
  readonly toTimeMs?: number;
  readonly filterSubject?: string;
  /**
   * Only the newest stored event of each subject (under `filterSubject`), delivered when it
   * lies inside the range (seq and time bounds); a subject whose newest event is past the
   * range is left out. For "the latest reading per subject": JetStream delivers just those
   * (deliver policy last_per_subject) instead of every event of the range.
   */
  readonly lastPerSubject?: boolean;
}

export interface TailOptions {
  readonly from: 'new' | { readonly startSeq: number };
}

export interface TailHandle {
  stop(): Promise<void>;
  /** Resolves after stop(); rejects with the handler's error if a handler threw (the tail then stops). */
  readonly closed: Promise<void>;
}

export interface StreamState {
  /** First stored sequence (0 for a stream that never had an event). */
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly messages: number;
}

export interface EventLog {
  /** Creates missing streams and updates existing ones to match. Idempotent. */
  ensureStreams(specs: readonly StreamSpec[]): Promise<void>;
  publish(msg: OutgoingMessage): Promise<PublishAck>;
  /** Pipelined publish; acks are returned in input order. Throws PublishBatchError if any failed. */
  publishBatch(msgs: readonly OutgoingMessage[]): Promise<PublishAck[]>;
  consume(opts: ConsumeOptions, handler: MessageHandler): Promise<ConsumerHandle>;
  /** Bounded range read for replay; never waits for new events. */
  read(opts: ReadOptions): AsyncIterable<StoredMessage>;
  /** Ephemeral live subscription, no acks (dashboards, gateway). Handlers run one at a time. */
  tail(filterSubject: string, opts: TailOptions, handler: MessageHandler): Promise<TailHandle>;
  streamInfo(stream: string): Promise<StreamState>;
  /** Deletes a stream and its consumers (scratch streams, tests). False when it did not exist. */
  deleteStream(stream: string): Promise<boolean>;
  /** Stops consumers and tails (in-flight events are not acked) and releases connections/files. */
  close(): Promise<void>;
}

// --- validation (one place, shared by both adapters) ---------------------------------------

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const MAX_ID_LENGTH = 256;

export function validateName(field: string, name: unknown): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new ValidationError(field, `must be 1-64 letters, digits, '_' or '-', got ${JSON.stringify(name)}`);
  }
  return name;
}

function validateNonNegativeInt(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(field, `must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function validatePositiveInt(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(field, `must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function validateFilterSubject(field: string, subject: unknown): string {
  if (typeof subject !== 'string' || !isValidSubjectFilter(subject)) {
    throw new ValidationError(
      field,
      `must be a NATS subject (wildcards allowed), got ${JSON.stringify(subject)}`,
    );
  }
  return subject;
}

/** A spec with defaults applied: the duplicate window is set and never exceeds maxAge. */
export interface ResolvedStreamSpec {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly maxAgeMs: number;
  readonly duplicateWindowMs: number;
  readonly replicas: number;
}

export function resolveStreamSpec(spec: StreamSpec, index = 0): ResolvedStreamSpec {
  const at = `streams[${index}]`;
  const name = validateName(`${at}.name`, spec?.name);
  if (!Array.isArray(spec.subjects) || spec.subjects.length === 0) {
    throw new ValidationError(
      `${at}.subjects`,
      `must list at least one subject, got ${JSON.stringify(spec.subjects)}`,
    );
  }
  for (const [i, s] of spec.subjects.entries()) validateFilterSubject(`${at}.subjects[${i}]`, s);
  const maxAgeMs = validateNonNegativeInt(`${at}.maxAgeMs`, spec.maxAgeMs);
  const requestedWindow =
    spec.duplicateWindowMs === undefined
      ? DEFAULT_DUPLICATE_WINDOW_MS
      : validatePositiveInt(`${at}.duplicateWindowMs`, spec.duplicateWindowMs);
  if (spec.duplicateWindowMs !== undefined && maxAgeMs > 0 && requestedWindow > maxAgeMs) {
    throw new ValidationError(
      `${at}.duplicateWindowMs`,
      `must not exceed maxAgeMs (${maxAgeMs}), got ${requestedWindow}`,
    );
  }
  const duplicateWindowMs = maxAgeMs > 0 ? Math.min(requestedWindow, maxAgeMs) : requestedWindow;
  const replicas = spec.replicas === undefined ? 1 : validatePositiveInt(`${at}.replicas`, spec.replicas);
  return { name, subjects: [...spec.subjects], maxAgeMs, duplicateWindowMs, replicas };
}

export function validateOutgoing(msg: OutgoingMessage, field = 'msg'): void {
  if (msg === null || typeof msg !== 'object') {
    throw new ValidationError(field, `must be an object, got ${JSON.stringify(msg)}`);
  }
  if (typeof msg.subject !== 'string' || !isValidPublishSubject(msg.subject)) {
    throw new ValidationError(
      `${field}.subject`,
      `must be a NATS subject without wildcards, got ${JSON.stringify(msg.subject)}`,
    );
  }
  if (
    typeof msg.id !== 'string' ||
    msg.id.length === 0 ||
    msg.id.length > MAX_ID_LENGTH ||
    /\s/.test(msg.id)
  ) {
    throw new ValidationError(
      `${field}.id`,
      `must be a non-empty id without whitespace, at most ${MAX_ID_LENGTH} chars, got ${JSON.stringify(msg.id)}`,
    );
  }
  if (!(msg.data instanceof Uint8Array)) {
    throw new ValidationError(`${field}.data`, `must be a Uint8Array, got ${typeof msg.data}`);
  }
  if (msg.headers !== undefined) {
    if (msg.headers === null || typeof msg.headers !== 'object') {
      throw new ValidationError(`${field}.headers`, 'must be an object of string values');
    }
    for (const [name, value] of Object.entries(msg.headers)) {
      if (!HEADER_NAME_RE.test(name) || name.toLowerCase().startsWith('nats-')) {
        throw new ValidationError(
          `${field}.headers`,
          `header name ${JSON.stringify(name)} is invalid or reserved (Nats-*)`,
        );
      }
      if (typeof value !== 'string' || /[\r\n]/.test(value)) {
        throw new ValidationError(`${field}.headers.${name}`, 'must be a single-line string');
      }
    }
  }
}

export interface ResolvedConsumeOptions {
  readonly stream: string;
  readonly durable: string;
  readonly filterSubject: string | undefined;
  readonly deliverPolicy: DeliverPolicy;
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
  readonly onMaxDeliver: 'park' | 'stop';
  readonly onHandlerError: ((failure: HandlerFailure) => void) | undefined;
  readonly nakDelayMs: number;
}

/**
 * An event delivered into a pull that died with its server (a NATS node killed) is redelivered
 * only after this: it bounds how long a durable consumer stalls after a node loss (30 s before).
 * A long handler is not redelivered meanwhile: the NATS adapter tells the server it is still
 * working every ackWait / 2.
 */
export const DEFAULT_ACK_WAIT_MS = 10_000;
export const DEFAULT_NAK_DELAY_MS = 200;
export const MAX_NAK_DELAY_MS = 30_000;

export function resolveConsumeOptions(opts: ConsumeOptions): ResolvedConsumeOptions {
  const stream = validateName('consume.stream', opts?.stream);
  const durable = validateName('consume.durable', opts.durable);
  const filterSubject =
    opts.filterSubject === undefined
      ? undefined
      : validateFilterSubject('consume.filterSubject', opts.filterSubject);
  const deliverPolicy = validateDeliverPolicy('consume.deliverPolicy', opts.deliverPolicy ?? 'all');
  const ackWaitMs =
    opts.ackWaitMs === undefined
      ? DEFAULT_ACK_WAIT_MS
      : validatePositiveInt('consume.ackWaitMs', opts.ackWaitMs);
  let maxDeliver = -1;
  if (opts.maxDeliver !== undefined && opts.maxDeliver !== -1) {
    maxDeliver = validatePositiveInt('consume.maxDeliver', opts.maxDeliver);
  }
  const nakDelayMs =
    opts.nakDelayMs === undefined
      ? DEFAULT_NAK_DELAY_MS
      : validateNonNegativeInt('consume.nakDelayMs', opts.nakDelayMs);
  const onMaxDeliver = opts.onMaxDeliver ?? 'park';
  if (onMaxDeliver !== 'park' && onMaxDeliver !== 'stop') {
    throw new ValidationError(
      'consume.onMaxDeliver',
      `must be 'park' or 'stop', got ${JSON.stringify(onMaxDeliver)}`,
    );
  }
  if (opts.onHandlerError !== undefined && typeof opts.onHandlerError !== 'function') {
    throw new ValidationError('consume.onHandlerError', 'must be a function');
  }
  return {
    stream,
    durable,
    filterSubject,
    deliverPolicy,
    ackWaitMs,
    maxDeliver,
    onMaxDeliver,
    onHandlerError: opts.onHandlerError,
    nakDelayMs,
  };
}

function validateDeliverPolicy(field: string, p: unknown): DeliverPolicy {
  if (p === 'all' || p === 'new') return p;
  if (p && typeof p === 'object') {
    if ('startSeq' in p) return { startSeq: validatePositiveInt(`${field}.startSeq`, p.startSeq) };
    if ('startTimeMs' in p)
      return { startTimeMs: validateNonNegativeInt(`${field}.startTimeMs`, p.startTimeMs) };
  }
  throw new ValidationError(
    field,
    `must be 'all', 'new', { startSeq } or { startTimeMs }, got ${JSON.stringify(p)}`,
  );
}

/** Delay before redelivering an event that failed `deliveryCount` times: doubling, capped. */
export function nakDelayFor(baseMs: number, deliveryCount: number): number {
  const exp = Math.min(Math.max(deliveryCount - 1, 0), 20);
  return Math.min(baseMs * 2 ** exp, MAX_NAK_DELAY_MS);
}

export interface ResolvedReadOptions {
  readonly stream: string;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly fromTimeMs: number | undefined;
  readonly toTimeMs: number | undefined;
  readonly filterSubject: string | undefined;
  readonly lastPerSubject: boolean;
}

export function resolveReadOptions(opts: ReadOptions): ResolvedReadOptions {
  const stream = validateName('read.stream', opts?.stream);
  const fromSeq = opts.fromSeq === undefined ? 1 : validatePositiveInt('read.fromSeq', opts.fromSeq);
  const toSeq =
    opts.toSeq === undefined ? Number.MAX_SAFE_INTEGER : validateNonNegativeInt('read.toSeq', opts.toSeq);
  const fromTimeMs =
    opts.fromTimeMs === undefined ? undefined : validateNonNegativeInt('read.fromTimeMs', opts.fromTimeMs);
  const toTimeMs =
    opts.toTimeMs === undefined ? undefined : validateNonNegativeInt('read.toTimeMs', opts.toTimeMs);
  const filterSubject =
    opts.filterSubject === undefined
      ? undefined
      : validateFilterSubject('read.filterSubject', opts.filterSubject);
  if (opts.lastPerSubject !== undefined && typeof opts.lastPerSubject !== 'boolean') {
    throw new ValidationError(
      'read.lastPerSubject',
      `must be a boolean, got ${JSON.stringify(opts.lastPerSubject)}`,
    );
  }
  const lastPerSubject = opts.lastPerSubject === true;
  return { stream, fromSeq, toSeq, fromTimeMs, toTimeMs, filterSubject, lastPerSubject };
}

export function resolveTailOptions(opts: TailOptions): { startSeq: number | 'new' } {
  if (opts?.from === 'new') return { startSeq: 'new' };
  if (opts?.from && typeof opts.from === 'object') {
    return { startSeq: validatePositiveInt('tail.from.startSeq', opts.from.startSeq) };
  }
  throw new ValidationError('tail.from', `must be 'new' or { startSeq }, got ${JSON.stringify(opts?.from)}`);
}
