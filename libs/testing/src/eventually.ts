/**
 * The one way tests wait: poll a condition until it holds, with a deadline, and fail
 * naming what never happened (and the last error the probe threw). No test sleeps a fixed
 * time before asserting; a negative assertion waits for a positive witness first (an event
 * published after the one that must not appear) rather than for time to pass.
 */
import { errorText } from '@perpmesh/core';

export interface EventuallyOptions {
  /** Default 15 s: generous for a loaded CI machine; a pass returns as soon as it holds. */
  timeoutMs?: number;
  /** Pause between probes. Default 20 ms. */
  intervalMs?: number;
}

export class EventuallyTimeoutError extends Error {
  constructor(what: string, timeoutMs: number, last: unknown) {
    super(
      `timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : `: ${errorText(last)}`}`,
      last === undefined ? undefined : { cause: last },
    );
    this.name = 'EventuallyTimeoutError';
  }
}

/**
 * Resolves with the first value `probe` returns that is neither undefined nor false
 * (`true` for a boolean probe). A probe that throws is retried; its last error is in the
 * failure message.
 */
export async function eventually<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: EventuallyOptions | number = {},
): Promise<T> {
  const { timeoutMs = 15_000, intervalMs = 20 } =
    typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) throw new EventuallyTimeoutError(what, timeoutMs, last);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
