/**
 * What a durable consumer does with a handler's error, in one place so both adapters log,
 * count and bound failures alike (README.md "Handler failures").
 *
 * Every failed delivery is logged (warn) and counted with its delivery count. After
 * `maxDeliver` failed deliveries the event is either
 * - `park`ed: acknowledged as terminated (JetStream `+TERM`, the embedded cursor moves on),
 *   logged at error naming stream, sequence, subject and the last error; the consumer goes
 *   on with the next event; or
 * - `stop`ped on: not acknowledged, delivery ends and `closed` rejects with a
 *   `PoisonEventError` saying why, so the owner reports not-ready. The event comes again
 *   to the next consumer of the durable. Projections use this: skipping an event would
 *   leave them wrong without anyone noticing.
 */
import { errorText } from '@perpmesh/core';
import { PoisonEventError } from './errors.js';
import type { ResolvedConsumeOptions, StoredMessage } from './eventlog.js';

/** What happened to the event after this failed delivery. */
export type HandlerFailureOutcome = 'retry' | 'parked' | 'stopped';

export interface HandlerFailure {
  readonly stream: string;
  readonly durable: string;
  readonly seq: number;
  readonly subject: string;
  /** Deliveries of this event so far, this one included. */
  readonly deliveryCount: number;
  readonly error: unknown;
  readonly outcome: HandlerFailureOutcome;
}

/** Counters of one durable consumer, since it was started in this process. */
export interface ConsumerStats {
  /** Events acknowledged after their handler resolved. */
  readonly acked: number;
  /** Failed deliveries (handler threw), every delivery counted. */
  readonly failed: number;
  /** Events given up after maxDeliver failed deliveries (`onMaxDeliver: 'park'`). */
  readonly parked: number;
  /** The last failure, its error as text. */
  readonly lastFailure?: Omit<HandlerFailure, 'error'> & { readonly error: string };
}

/** The logger shape the adapters need; a pino logger fits as it is. */
export interface EventLogLogger {
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

function stderrLine(level: 'warn' | 'error', fields: Record<string, unknown>, msg: string): void {
  process.stderr.write(`${JSON.stringify({ level, time: Date.now(), name: 'eventlog', ...fields, msg })}\n`);
}

/** Used when the log was opened without a logger: failures still reach stderr, as JSON lines. */
export const STDERR_EVENTLOG_LOGGER: EventLogLogger = {
  warn: (fields, msg) => stderrLine('warn', fields, msg),
  error: (fields, msg) => stderrLine('error', fields, msg),
};

/** Counts, logs and decides, for one durable consumer. */
export class ConsumerFailures {
  private acked = 0;
  private failed = 0;
  private parked = 0;
  private lastFailure: ConsumerStats['lastFailure'];

  constructor(
    private readonly opts: ResolvedConsumeOptions,
    private readonly logger: EventLogLogger,
  ) {}

  ack(): void {
    this.acked++;
  }

  private exhausted(attempts: number): boolean {
    return this.opts.maxDeliver !== -1 && attempts >= this.opts.maxDeliver;
  }

  /**
   * Records a failed delivery of `msg` and says what to do with the event. `attempts` is the
   * count maxDeliver bounds: the delivery count, or with 'stop' the failures this process saw.
   */
  record(msg: StoredMessage, attempts: number, error: unknown): HandlerFailureOutcome {
    const deliveryCount = msg.deliveryCount;
    const outcome: HandlerFailureOutcome = !this.exhausted(attempts)
      ? 'retry'
      : this.opts.onMaxDeliver === 'stop'
        ? 'stopped'
        : 'parked';
    const { stream, durable, maxDeliver } = this.opts;
    const failure: HandlerFailure = {
      stream,
      durable,
      seq: msg.seq,
      subject: msg.subject,
      deliveryCount,
      error,
      outcome,
    };
    this.failed++;
    if (outcome === 'parked') this.parked++;
    this.lastFailure = { ...failure, error: errorText(error) };
    const fields = {
      stream,
      durable,
      seq: msg.seq,
      subject: msg.subject,
      deliveryCount,
      err: errorText(error),
    };
    if (outcome === 'retry') {
      this.logger.warn(fields, 'event handler failed; the event will be redelivered');
    } else if (outcome === 'parked') {
      this.logger.error(
        { ...fields, maxDeliver },
        'event parked: its handler failed maxDeliver times; terminated, the consumer moves on',
      );
    } else {
      this.logger.error(
        { ...fields, maxDeliver },
        'consumer stopped: its handler failed maxDeliver times on an event it must not skip',
      );
    }
    try {
      this.opts.onHandlerError?.(failure);
    } catch {
      // A broken hook must not change delivery; the failure is already logged.
    }
    return outcome;
  }

  poisonError(msg: StoredMessage, attempts: number, error: unknown): PoisonEventError {
    return new PoisonEventError(this.opts.stream, this.opts.durable, msg.seq, msg.subject, attempts, error);
  }

  stats(): ConsumerStats {
    return {
      acked: this.acked,
      failed: this.failed,
      parked: this.parked,
      ...(this.lastFailure ? { lastFailure: this.lastFailure } : {}),
    };
  }
}
