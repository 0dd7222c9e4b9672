/**
 * The small async helpers every lib uses, written once. Timers only: nothing here reads
 * the wall clock, so pure code may still import the rest of core.
 */
import { PerpmeshError } from './errors.js';

/** The message of anything thrown, for logs and reasons (never the stack). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Resolves after `ms`, or early (without error) when `stop` settles. `unref` lets the
 * process exit while it waits (background loops); default false.
 */
export function sleep(ms: number, options: { stop?: Promise<unknown>; unref?: boolean } = {}): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (options.unref) timer.unref();
    options.stop?.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
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
 * keeps the process alive; the promise itself is not canceled (pass a signal for that).
 */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DeadlineExceededError(what, timeoutMs)), timeoutMs);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}
