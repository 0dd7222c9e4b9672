/**
 * The md.* publisher: envelopes go onto the event log in order, pipelined (one batch in
 * flight at a time, each batch a window of publishes awaiting their acks together), so a
 * burst costs one round trip per batch instead of one per event.
 *
 * Market data is bounded and replaceable (a newer book or funding reading supersedes the
 * old one), so the queue is bounded too: when the log is slower than the market for long
 * enough to fill it, new events are dropped and counted rather than buffered without
 * bound. Every failure and drop is counted and reported to `onHealth`, so /readyz says
 * why nothing reaches the log.
 */
import {
  type Envelope,
  type EnvelopeSink,
  encodeEnvelope,
  type Subjects,
  subjectFor,
} from '@perpmesh/contracts';

export interface MdEventSink extends EnvelopeSink {
  /** Pipelined publish (libs/bus EventLog); used when present. */
  publishBatch?(msgs: readonly { subject: string; id: string; data: Uint8Array }[]): Promise<unknown>;
}

export interface PublisherLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface PublisherOptions {
  log: MdEventSink;
  subjects: Subjects;
  logger: PublisherLogger;
  /** Events waiting for the log, at most. Default 50 000. */
  maxQueued?: number;
  /** Publishes per pipelined batch. Default 256. */
  batchSize?: number;
  /** Told on every transition between publishing fine and failing (with the reason). */
  onHealth?: (ok: boolean, reason: string) => void;
  onPublished?: (count: number) => void;
  onFailed?: (count: number) => void;
  onDropped?: (count: number) => void;
}

export interface PublisherStats {
  published: number;
  failed: number;
  dropped: number;
  queued: number;
}

export const DEFAULT_MAX_QUEUED_EVENTS = 50_000;
export const DEFAULT_PUBLISH_BATCH_SIZE = 256;

export class MdPublisher {
  readonly #opts: PublisherOptions;
  readonly #maxQueued: number;
  readonly #batchSize: number;
  #queue: Envelope[] = [];
  #draining: Promise<void> | undefined;
  #healthy = true;
  readonly #stats = { published: 0, failed: 0, dropped: 0 };

  constructor(options: PublisherOptions) {
    this.#opts = options;
    this.#maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED_EVENTS;
    this.#batchSize = options.batchSize ?? DEFAULT_PUBLISH_BATCH_SIZE;
  }

  stats(): PublisherStats {
    return { ...this.#stats, queued: this.#queue.length };
  }

  enqueue(envelope: Envelope): void {
    if (this.#queue.length >= this.#maxQueued) {
      this.#stats.dropped += 1;
      this.#opts.onDropped?.(1);
      // One line per 1000 drops: a stuck log must not also flood the log output.
      if (this.#stats.dropped % 1000 === 1) {
        this.#opts.logger.warn(
          { dropped: this.#stats.dropped, maxQueued: this.#maxQueued },
          'md publish queue full; dropping market data events',
        );
      }
      this.#setHealth(
        false,
        `md publish queue full (${this.#maxQueued} events): the event log is not keeping up`,
      );
      return;
    }
    this.#queue.push(envelope);
    this.#draining ??= this.#drain();
  }

  /** Resolves when everything queued so far has been published (or has failed). */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#batchSize);
        await this.#publishBatch(batch);
      }
    } finally {
      this.#draining = undefined;
    }
  }

  async #publishBatch(batch: Envelope[]): Promise<void> {
    const msgs: { subject: string; id: string; data: Uint8Array }[] = [];
    for (const envelope of batch) {
      try {
        msgs.push({
          subject: subjectFor(envelope, this.#opts.subjects),
          id: envelope.id,
          data: encodeEnvelope(envelope),
        });
      } catch (err) {
        // A bad payload (e.g. a venue id that is not a subject token) is a bug upstream; count it, go on.
        this.#failed(1, err, envelope.type);
      }
    }
    if (msgs.length === 0) return;
    const { log } = this.#opts;
    try {
      if (log.publishBatch) {
        await log.publishBatch(msgs);
      } else {
        const results = await Promise.allSettled(msgs.map((m) => log.publish(m)));
        const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (rejected.length > 0) {
          this.#published(msgs.length - rejected.length);
          this.#failed(rejected.length, rejected[0]!.reason, msgs[0]!.subject);
          return;
        }
      }
      this.#published(msgs.length);
    } catch (err) {
      const failures = (err as { failures?: readonly unknown[] }).failures;
      const failedCount = Array.isArray(failures) ? failures.length : msgs.length;
      this.#published(msgs.length - failedCount);
      this.#failed(failedCount, err, msgs[0]!.subject);
    }
  }

  #published(count: number): void {
    if (count <= 0) return;
    this.#stats.published += count;
    this.#opts.onPublished?.(count);
    this.#setHealth(true, '');
  }

  #failed(count: number, err: unknown, subject: string): void {
    this.#stats.failed += count;
    this.#opts.onFailed?.(count);
    this.#opts.logger.error({ err, count, subject }, 'md publish failed');
    const why = err instanceof Error ? err.message : String(err);
    this.#setHealth(false, `md events not reaching the event log: ${why}`);
  }

  #setHealth(ok: boolean, reason: string): void {
    if (ok === this.#healthy) return;
    this.#healthy = ok;
    this.#opts.onHealth?.(ok, reason);
  }
}
