/**
 * Errors the event log raises. Each has a stable `code`; callers branch on the class or
 * the code, never on the message. Messages name streams, subjects and ids, never data.
 */
import { errorText, PerpmeshError } from '@perpmesh/core';

/** No stream is configured to store this subject (publish) or to serve this filter (tail). */
export class NoStreamForSubjectError extends PerpmeshError {
  readonly subject: string;
  constructor(subject: string, options?: { cause?: unknown }) {
    super('BUS_NO_STREAM_FOR_SUBJECT', `no stream stores subject ${JSON.stringify(subject)}`, options);
    this.subject = subject;
  }
}

export class StreamNotFoundError extends PerpmeshError {
  readonly stream: string;
  constructor(stream: string, options?: { cause?: unknown }) {
    super('BUS_STREAM_NOT_FOUND', `stream ${JSON.stringify(stream)} does not exist`, options);
    this.stream = stream;
  }
}

/** A stream spec conflicts with what exists (overlapping subjects, immutable settings). */
export class StreamConfigError extends PerpmeshError {
  readonly stream: string;
  constructor(stream: string, message: string, options?: { cause?: unknown }) {
    super('BUS_STREAM_CONFIG', `stream ${JSON.stringify(stream)}: ${message}`, options);
    this.stream = stream;
  }
}

/**
 * A publish was not acknowledged after every retry. The message stays in the outbox (when
 * one is configured) and is resent, with the same id, on the next start.
 */
export class PublishFailedError extends PerpmeshError {
  readonly id: string;
  readonly subject: string;
  readonly attempts: number;
  constructor(id: string, subject: string, attempts: number, options?: { cause?: unknown }) {
    super(
      'BUS_PUBLISH_FAILED',
      `publish of ${JSON.stringify(id)} to ${JSON.stringify(subject)} not acknowledged after ${attempts} attempt(s)`,
      options,
    );
    this.id = id;
    this.subject = subject;
    this.attempts = attempts;
  }
}

/** Some messages of a `publishBatch` failed; `acks[i]` is set for the ones that were stored. */
export class PublishBatchError extends PerpmeshError {
  readonly failures: ReadonlyArray<{ index: number; id: string; error: unknown }>;
  readonly acks: ReadonlyArray<import('./eventlog.js').PublishAck | undefined>;
  constructor(
    failures: ReadonlyArray<{ index: number; id: string; error: unknown }>,
    acks: ReadonlyArray<import('./eventlog.js').PublishAck | undefined>,
  ) {
    super(
      'BUS_PUBLISH_BATCH_FAILED',
      `${failures.length} of ${acks.length} message(s) not acknowledged (first id ${JSON.stringify(failures[0]?.id)})`,
      { cause: failures[0]?.error },
    );
    this.failures = failures;
    this.acks = acks;
  }
}

/** The log (or consumer) was closed; nothing more is published or delivered. */
export class EventLogClosedError extends PerpmeshError {
  constructor(what = 'event log') {
    super('BUS_CLOSED', `${what} is closed`);
  }
}

/** The embedded log's data dir is held by another live process or instance. */
export class DataDirLockedError extends PerpmeshError {
  readonly dataDir: string;
  constructor(dataDir: string, holderPid: number) {
    super('BUS_DATA_DIR_LOCKED', `data dir ${dataDir} is in use by process ${holderPid}`);
    this.dataDir = dataDir;
  }
}

/** A file of the embedded log cannot be read back (a damaged line that is not a torn tail). */
export class CorruptLogError extends PerpmeshError {
  readonly file: string;
  constructor(file: string, line: number, message: string, options?: { cause?: unknown }) {
    super('BUS_CORRUPT_LOG', `${file}:${line}: ${message}`, options);
    this.file = file;
  }
}

/** A durable consumer cannot be (re)configured as asked, or is already being consumed. */
export class ConsumerConfigError extends PerpmeshError {
  readonly stream: string;
  readonly durable: string;
  constructor(stream: string, durable: string, message: string, options?: { cause?: unknown }) {
    super('BUS_CONSUMER_CONFIG', `consumer ${stream}/${durable}: ${message}`, options);
    this.stream = stream;
    this.durable = durable;
  }
}

/**
 * A durable consumer with `onMaxDeliver: 'stop'` ended because its handler failed
 * `deliveries` times on one event. The event was not acknowledged: the next consumer of
 * the durable gets it again.
 */
export class PoisonEventError extends PerpmeshError {
  readonly stream: string;
  readonly durable: string;
  readonly seq: number;
  readonly subject: string;
  readonly deliveries: number;
  constructor(
    stream: string,
    durable: string,
    seq: number,
    subject: string,
    deliveries: number,
    lastError: unknown,
  ) {
    super(
      'BUS_POISON_EVENT',
      `consumer ${stream}/${durable} stopped at seq ${seq} (${subject}): ` +
        `handler failed ${deliveries} time(s), last error: ${errorText(lastError)}`,
      { cause: lastError },
    );
    this.stream = stream;
    this.durable = durable;
    this.seq = seq;
    this.subject = subject;
    this.deliveries = deliveries;
  }
}

/** The stable code a projection store's compare-and-set failure carries (see projector.ts). */
export const PROJECTION_CONFLICT_CODE = 'PROJECTION_CONFLICT';
