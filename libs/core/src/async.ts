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
