/**
 * The small async helpers every lib uses, written once. Timers only: nothing here reads
 * the wall clock, so pure code may still import the rest of core.
 */
import { PerpmeshError } from './errors.js';

/** The message of anything thrown, for logs and reasons (never the stack). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

type Outcome = { readonly ok: true } | { readonly ok: false; readonly reason: unknown };

/** Who waits on a stop promise, behind ONE reaction on it (see `onSettled`). */
interface StopWatch {
  outcome: Outcome | undefined;
  readonly wakers: Set<(outcome: Outcome) => void>;
}
const stopWatches = new WeakMap<Promise<unknown>, StopWatch>();

/**
 * Calls `wake` once `stop` settles (soon, if it has); returns how to stop watching. Every
 * `stop.then(...)` (and every `Promise.race` with `stop` in it) leaves a reaction on `stop`
 * that lives until `stop` settles: a loop that waits on a long-lived stop promise once per
 * turn then grows without bound (found by the soak bench: ~550 reactions/s in `make run`).
 * Here a stop promise gets one reaction however many wait on it, and a waiter is dropped as
 * soon as its wait is over.
 */
export function onSettled(stop: Promise<unknown>, wake: (outcome: Outcome) => void): () => void {
  let watch = stopWatches.get(stop);
  if (watch === undefined) {
    const created: StopWatch = { outcome: undefined, wakers: new Set() };
    const settle = (outcome: Outcome) => {
      created.outcome = outcome;
      const wakers = [...created.wakers];
      created.wakers.clear();
      for (const w of wakers) w(outcome);
    };
    stop.then(
      () => settle({ ok: true }),
      (reason: unknown) => settle({ ok: false, reason }),
    );
    stopWatches.set(stop, created);
    watch = created;
  }
  if (watch.outcome !== undefined) {
    wake(watch.outcome);
    return () => {};
  }
  const { wakers } = watch;
  wakers.add(wake);
  return () => {
    wakers.delete(wake);
  };
}

/**
 * Resolves after `ms`, or early (without error) when `stop` settles. `unref` lets the
 * process exit while it waits (background loops); default false. Holds nothing on `stop`
 * once it has resolved (`onSettled`).
 */
export function sleep(ms: number, options: { stop?: Promise<unknown>; unref?: boolean } = {}): Promise<void> {
  return new Promise<void>((resolve) => {
    let leave: (() => void) | undefined;
    const timer = setTimeout(() => {
      leave?.();
      resolve();
    }, ms);
    if (options.unref) timer.unref();
    if (options.stop) {
      leave = onSettled(options.stop, () => {
        clearTimeout(timer);
        resolve();
      });
    }
  });
}

/**
 * `Promise.race([promise, stop])` for a long-lived `stop`: settles as `promise` does, or
 * when `stop` settles first (resolving with undefined, or rejecting with its reason), and
 * leaves nothing on `stop` once it has settled (`onSettled`). For loops that wait on a new
 * promise each turn until stopped.
 */
export function raceStop<T>(promise: Promise<T>, stop: Promise<unknown>): Promise<T | undefined> {
  return new Promise<T | undefined>((resolve, reject) => {
    const leave = onSettled(stop, (outcome) => (outcome.ok ? resolve(undefined) : reject(outcome.reason)));
    promise.then(
      (value) => {
        leave();
        resolve(value);
      },
      (err: unknown) => {
        leave();
        reject(err);
      },
    );
  });
}

/**
 * Capped exponential backoff: the wait before retry number `failures + 1` is
 * `initialDelayMs`, doubling per failure, at most `maxDelayMs` (`failures` counts from 0).
 */
export function backoffDelayMs(failures: number, initialDelayMs: number, maxDelayMs: number): number {
  // The exponent is capped so thousands of failures never overflow to Infinity.
  return Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(Math.max(failures, 0), 30));
}

/** `what` did not finish within its deadline. */
export class DeadlineExceededError extends PerpmeshError {
  readonly timeoutMs: number;
  constructor(what: string, timeoutMs: number) {
    super('DEADLINE_EXCEEDED', `${what} timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * `promise`, or a DeadlineExceededError naming `what` after `timeoutMs`. The timer never
 * keeps the process alive unless `keepAlive` (a shutdown step whose wait must end in the
 * error, not in an event loop that ran dry); the promise itself is not canceled (pass a
 * signal for that).
 */
export function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
  options: { keepAlive?: boolean } = {},
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DeadlineExceededError(what, timeoutMs)), timeoutMs);
      if (!options.keepAlive) timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}
