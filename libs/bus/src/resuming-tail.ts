/**
 * A tail that outlives the server holding its consumer.
 *
 * A tail reads through an ordered consumer: ephemeral, one replica, on one server. When that
 * server dies, the cluster's meta layer still lists the consumer, so asking for it times out
 * instead of answering "not found", and nats.js's own recovery (re-check the consumer until
 * it is found or not found) never ends: the tail goes silent for good while the stream, R3,
 * has long elected a new leader. This wrapper notices the silence (no event and no idle
 * heartbeat for `silenceMs`; the server sends one every half pull expiry when idle) and opens
 * a new consumer from the next sequence it has not delivered, retrying with a bounded backoff
 * while the cluster elects. Order and completeness hold: each consumer starts exactly after
 * the last event delivered.
 */
import { sleep } from '@perpmesh/core';

/** What one opened consumer gives: its events, its notifications, and how to close and remove it. */
export interface TailConsumerMessages<M> extends AsyncIterable<M> {
  close(): Promise<unknown>;
  /** nats.js ConsumerNotifications; only `type` is read (`heartbeat` = the server is alive). */
  status(): AsyncIterable<{ readonly type: string }>;
}

export interface OpenedTailConsumer<M> {
  readonly messages: TailConsumerMessages<M>;
  /** Deletes the consumer on the server (best effort: its server may be gone). */
  remove(): Promise<void>;
}

export interface ResumingTailOptions<M> {
  /** The consumer opened by `tail()` itself (its errors reach the caller at once). */
  readonly first: OpenedTailConsumer<M>;
  /** The sequence `first` starts at (used when it delivered nothing before it was lost). */
  readonly firstSeq: number;
  /** Opens a consumer delivering from `startSeq` on. */
  open(startSeq: number): Promise<OpenedTailConsumer<M>>;
  /** Nothing heard (event or heartbeat) for this long: the consumer is presumed lost. */
  readonly silenceMs: number;
  /** Longest wait between two attempts to open a new consumer. */
  readonly retryMaxMs: number;
  /** An error that ends the tail instead of being retried (the stream is gone, the log closed). */
  isFatal(err: unknown): boolean;
  /** Told each time a new consumer replaces a silent one. */
  onResume?(info: { readonly startSeq: number; readonly silentMs: number }): void;
  /** Told of each failed attempt to open a replacement. */
  onRetry?(err: unknown, attempt: number): void;
  readonly nowMs?: () => number;
  readonly wait?: (ms: number) => Promise<void>;
}

/** First delay between attempts to open a consumer; doubles up to `retryMaxMs`. */
const FIRST_RETRY_MS = 250;

function retryDelayMs(attempt: number, retryMaxMs: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.min(attempt - 1, 16), retryMaxMs);
}

export interface OpenWithRetryOptions {
  /** What is being opened, for the error when every attempt failed. */
  readonly what: string;
  /** Errors that end the attempts at once (the stream is gone, the log closed). */
  isFatal(err: unknown): boolean;
  /** Longest wait between two attempts. */
  readonly retryMaxMs: number;
  /** No new attempt starts after this long; the last error is thrown, naming `what`. */
  readonly deadlineMs: number;
  onRetry?(err: unknown, attempt: number): void;
  readonly nowMs?: () => number;
  readonly wait?: (ms: number) => Promise<void>;
}

/**
 * `open()`, retried with a bounded backoff until `deadlineMs`: the first consumer of a tail
 * meets the same cluster as a replacement does. In a cluster that lost a node, a new
 * one-replica consumer may be placed on the dead server and its creation times out; the
 * next attempt is placed again.
 */
export async function openWithRetry<T>(open: () => Promise<T>, o: OpenWithRetryOptions): Promise<T> {
  const now = o.nowMs ?? Date.now;
  const wait = o.wait ?? ((ms: number) => sleep(ms, { unref: true }));
  const giveUpAt = now() + o.deadlineMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await open();
    } catch (err) {
      if (o.isFatal(err)) throw err;
      const delay = retryDelayMs(attempt, o.retryMaxMs);
      if (now() + delay > giveUpAt) {
        throw new TailOpenError(o.what, attempt, err);
      }
      o.onRetry?.(err, attempt);
      await wait(delay);
    }
  }
}

/** Every attempt to open a tail's consumer failed; the message names it and the last error. */
export class TailOpenError extends Error {
  readonly attempts: number;
  constructor(what: string, attempts: number, cause: unknown) {
    super(
      `${what}: ${cause instanceof Error ? cause.message : String(cause)} (${attempts} attempt${attempts === 1 ? '' : 's'})`,
      { cause },
    );
    this.name = 'TailOpenError';
    this.attempts = attempts;
  }
}

export class ResumingTail<M extends { readonly seq: number }> implements AsyncIterable<M> {
  readonly #o: ResumingTailOptions<M>;
  readonly #now: () => number;
  #current: OpenedTailConsumer<M> | undefined;
  readonly #removed = new WeakSet<OpenedTailConsumer<M>>();
  #closed = false;
  #silent = false;
  #heardAt = 0;
  /** Consumers opened after a silence so far. */
  resumes = 0;

  constructor(options: ResumingTailOptions<M>) {
    this.#o = options;
    this.#now = options.nowMs ?? Date.now;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<M> {
    let next = this.#o.firstSeq;
    let opened: OpenedTailConsumer<M> | undefined = this.#o.first;
    while (!this.#closed) {
      if (opened === undefined) {
        opened = await this.#reopen(next);
        if (opened === undefined) return;
      }
      this.#current = opened;
      this.#silent = false;
      this.#heardAt = this.#now();
      const unwatch = this.#watch(opened);
      try {
        for await (const m of opened.messages) {
          this.#heardAt = this.#now();
          next = m.seq + 1;
          yield m;
        }
      } finally {
        unwatch();
        this.#remove(opened);
      }
      // Ended on its own (not silent, not closed): the caller sees the end, as before.
      if (!this.#silent) return;
      const silentMs = this.#now() - this.#heardAt;
      opened = undefined;
      this.resumes++;
      if (!this.#closed) this.#o.onResume?.({ startSeq: next, silentMs });
    }
  }

  /**
   * Ends delivery and removes the current consumer. The messages' close is not awaited: it
   * settles only once the reader has left the iterator, and close may be called from inside
   * a handler (the reader itself).
   */
  async close(): Promise<void> {
    this.#closed = true;
    const current = this.#current;
    if (!current) return;
    void current.messages.close().catch(() => undefined);
    await this.#remove(current);
  }

  #remove(opened: OpenedTailConsumer<M>): Promise<void> {
    if (this.#removed.has(opened)) return Promise.resolve();
    this.#removed.add(opened);
    return opened.remove().catch(() => undefined);
  }

  /** Closes `opened` once nothing was heard from it for silenceMs; returns the unwatch. */
  #watch(opened: OpenedTailConsumer<M>): () => void {
    let watching = true;
    void (async () => {
      for await (const s of opened.messages.status()) {
        if (!watching) break;
        if (s.type === 'heartbeat') this.#heardAt = this.#now();
      }
    })().catch(() => undefined);
    const timer = setInterval(
      () => {
        if (this.#closed || this.#now() - this.#heardAt <= this.#o.silenceMs) return;
        this.#silent = true;
        clearInterval(timer);
        void opened.messages.close().catch(() => undefined);
      },
      Math.max(Math.floor(this.#o.silenceMs / 4), 10),
    );
    timer.unref?.();
    return () => {
      watching = false;
      clearInterval(timer);
    };
  }

  async #reopen(startSeq: number): Promise<OpenedTailConsumer<M> | undefined> {
    const wait = this.#o.wait ?? ((ms: number) => sleep(ms, { unref: true }));
    for (let attempt = 1; !this.#closed; attempt++) {
      try {
        const opened = await this.#o.open(startSeq);
        if (!this.#closed) return opened;
        await opened.messages.close().catch(() => undefined);
        await this.#remove(opened);
        return undefined;
      } catch (err) {
        if (this.#closed) return undefined;
        if (this.#o.isFatal(err)) throw err;
        this.#o.onRetry?.(err, attempt);
        await wait(retryDelayMs(attempt, this.#o.retryMaxMs));
      }
    }
    return undefined;
  }
}
