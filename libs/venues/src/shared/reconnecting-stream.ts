/**
 * A subscription that re-subscribes when it breaks: the one building block every adapter
 * uses for a push stream (the paper-venue gRPC server stream, a venue's websocket channel).
 *
 * It knows no transport. The adapter gives `open(sink)`, which starts ONE attempt and
 * reports on it through the sink: `subscribed()` once the other side confirmed,
 * `data(message)` per message, `ended(why, error?)` when the attempt is over (for any
 * reason). It returns a handle whose `cancel()` stops that attempt.
 *
 * - The first attempt must succeed: its failure rejects `start()` with the adapter's error
 *   (unknown venue, bad instrument, ...) and closes the stream. After the first
 *   subscribe, every break is retried with capped exponential backoff
 *   (`initialDelayMs`, doubling, at most `maxDelayMs`; a successful subscribe resets it).
 * - A message `deliver` cannot read (it throws) drops the attempt and starts over, rather
 *   than skipping the message silently.
 * - `state` is a readiness component (the name the adapter gives, one of
 *   VENUE_COMPONENT) with a reason a person can act on; `onChange` hears every change.
 * - Reports of an attempt that is no longer the current one are ignored, so a late
 *   `ended` of a cancelled attempt never schedules a second retry.
 */
import { backoffDelayMs, errorText } from '@perpmesh/core';
import type { ReadinessComponent, Subscription, VenueComponentName } from '../port.js';

/** What one attempt reports. Calls after `ended` (or after the stream moved on) are ignored. */
export interface StreamAttemptSink<M> {
  subscribed(): void;
  data(message: M): void;
  /** `why` goes into the readiness reason; `error` is what a failed FIRST attempt rejects with. */
  ended(why: string, error?: Error): void;
}

/** One running attempt. */
export interface StreamAttempt {
  cancel(): void;
}

/** Runs `fn` after `ms`; returns a canceller. Injected by tests; default an unref'd timer. */
export type RetryScheduler = (fn: () => void, ms: number) => () => void;

export interface ReconnectingStreamOptions<M> {
  component: VenueComponentName;
  /** What this stream covers (`market stream BTC-USDC-PERP`), the start of every reason. */
  label: string;
  /** Where it subscribes (`paper-venue at 127.0.0.1:50054`), for reasons. */
  source: string;
  open: (sink: StreamAttemptSink<M>) => StreamAttempt;
  /** Decodes and delivers one message; a throw means the message is malformed. */
  deliver: (message: M) => void;
  initialDelayMs: number;
  maxDelayMs: number;
  onChange?: (state: ReadinessComponent) => void;
  /** Called once when the stream is closed (by `close()` or a failed first attempt). */
  onClosed?: () => void;
  schedule?: RetryScheduler;
}

const unrefTimer: RetryScheduler = (fn, ms) => {
  const timer = setTimeout(fn, ms);
  // A forgotten stream must not keep the process alive on its own.
  timer.unref();
  return () => clearTimeout(timer);
};

/** The delay before re-subscribe number `failures + 1` (moved to core; re-exported for old importers). */
export { backoffDelayMs };

export class ReconnectingStream<M> implements Subscription {
  readonly #o: ReconnectingStreamOptions<M>;
  readonly #schedule: RetryScheduler;
  #attempt: StreamAttempt | undefined;
  #cancelRetry: (() => void) | undefined;
  #failures = 0;
  #closed = false;
  #state: ReadinessComponent;

  constructor(options: ReconnectingStreamOptions<M>) {
    this.#o = options;
    this.#schedule = options.schedule ?? unrefTimer;
    this.#state = {
      component: options.component,
      ready: false,
      reason: `${options.label}: subscribing to ${options.source}`,
    };
  }

  get state(): ReadinessComponent {
    return this.#state;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves when the first attempt is subscribed; rejects (and closes) when it fails. */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => this.#open({ resolve, reject }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelRetry?.();
    this.#cancelRetry = undefined;
    this.#stopAttempt();
    this.#o.onClosed?.();
  }

  #open(first?: { resolve: () => void; reject: (err: Error) => void }): void {
    let subscribed = false;
    // Once an attempt ended (or was dropped), whatever it still reports is stale.
    let ended = false;
    const current = () => !this.#closed && !ended;
    const finish = (why: string, error: Error | undefined) => {
      ended = true;
      if (first && !subscribed) {
        // The first attempt's failure is the caller's (unknown venue, bad instrument, ...).
        this.#closed = true;
        this.#o.onClosed?.();
        first.reject(error ?? new Error(`${this.#o.label}: ${why}`));
        return;
      }
      this.#broken(why);
    };
    const sink: StreamAttemptSink<M> = {
      subscribed: () => {
        if (!current() || subscribed) return;
        subscribed = true;
        this.#failures = 0;
        this.#set(true, `${this.#o.label}: subscribed to ${this.#o.source}`);
        first?.resolve();
      },
      data: (message) => {
        if (!current()) return;
        try {
          this.#o.deliver(message);
        } catch (err) {
          // Unreadable: drop this attempt and start over rather than skip it silently.
          ended = true;
          this.#stopAttempt();
          finish(`malformed event from ${this.#o.source}: ${errorText(err)}`, err as Error);
        }
      },
      ended: (why, error) => {
        if (!current()) return;
        this.#attempt = undefined;
        finish(why, error);
      },
    };
    try {
      const attempt = this.#o.open(sink);
      if (!ended) this.#attempt = attempt;
    } catch (err) {
      // A transport that throws instead of reporting: the same as an attempt that ended.
      sink.ended(`cannot subscribe to ${this.#o.source}: ${errorText(err)}`, err as Error);
    }
  }

  #stopAttempt(): void {
    const attempt = this.#attempt;
    this.#attempt = undefined;
    attempt?.cancel();
  }

  #broken(why: string): void {
    const delayMs = backoffDelayMs(this.#failures, this.#o.initialDelayMs, this.#o.maxDelayMs);
    this.#failures += 1;
    this.#set(false, `${this.#o.label}: ${why}; re-subscribing in ${delayMs} ms`);
    this.#cancelRetry = this.#schedule(() => {
      this.#cancelRetry = undefined;
      if (!this.#closed) this.#open();
    }, delayMs);
  }

  #set(ready: boolean, reason: string): void {
    const changed = this.#state.ready !== ready || this.#state.reason !== reason;
    this.#state = { component: this.#o.component, ready, reason };
    if (changed) this.#o.onChange?.(this.#state);
  }
}
