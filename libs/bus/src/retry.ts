/**
 * Publish retries: keep an event until its ack arrives, retrying with the SAME id so the
 * log's de-duplication stores it once however many attempts landed. Bounded, with
 * exponential backoff, so the whole span stays far inside the stream's duplicate window
 * (ensureStreams refuses a window shorter than `retrySpanMs`).
 */
import { sleep } from '@perpmesh/core';
import { NoStreamForSubjectError, PublishFailedError } from './errors.js';

export interface PublishRetryPolicy {
  /** How long one attempt waits for its ack. */
  readonly ackTimeoutMs: number;
  readonly maxAttempts: number;
  /** Delay before the 2nd attempt; doubles up to maxDelayMs. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Attempts while the server answers "no responders" (no stream, or JetStream restarting). */
  readonly noStreamAttempts: number;
}

export const DEFAULT_PUBLISH_RETRY: PublishRetryPolicy = {
  ackTimeoutMs: 5_000,
  maxAttempts: 6,
  baseDelayMs: 100,
  maxDelayMs: 2_000,
  noStreamAttempts: 3,
};

/** What a failed attempt means for the next one. */
export type AttemptFailure = 'retry' | 'no-stream' | 'fatal';

export function retryDelayMs(policy: PublishRetryPolicy, failedAttempts: number): number {
  return Math.min(policy.baseDelayMs * 2 ** Math.min(failedAttempts - 1, 20), policy.maxDelayMs);
}

/** The longest a publish can keep retrying: every attempt times out, every delay is taken. */
export function retrySpanMs(policy: PublishRetryPolicy): number {
  let total = policy.maxAttempts * policy.ackTimeoutMs;
  for (let n = 1; n < policy.maxAttempts; n++) total += retryDelayMs(policy, n);
  return total;
}

export interface PublishRetryOptions {
  readonly stopped?: () => boolean;
  readonly wait?: (ms: number) => Promise<void>;
  readonly nowMs?: () => number;
  /**
   * Asked once "no responders" has lasted `noStreamAttempts`: does a stream store this
   * subject? `false`: NoStreamForSubjectError at once. `true`, or no answer (the lookup
   * failed too): a clustered stream electing a leader after a node loss, whose publishes
   * go unanswered for seconds; retried for as long as the de-duplication window covers
   * (retrySpanMs). Without it, "no responders" means no stream.
   */
  readonly streamExists?: (subject: string) => Promise<boolean>;
}

export async function publishWithRetry<T>(
  msg: { readonly id: string; readonly subject: string },
  attempt: () => Promise<T>,
  classify: (err: unknown) => AttemptFailure,
  policy: PublishRetryPolicy,
  opts: PublishRetryOptions = {},
): Promise<T> {
  try {
    return await attempt();
  } catch (err) {
    return retryAfterFailure(msg, err, attempt, classify, policy, opts);
  }
}

/**
 * `publishWithRetry` from its first failure on (`firstError`): lets a hot path make the first
 * attempt itself, without an async frame per message, and hand only a failure to the loop.
 */
export async function retryAfterFailure<T>(
  msg: { readonly id: string; readonly subject: string },
  firstError: unknown,
  attempt: () => Promise<T>,
  classify: (err: unknown) => AttemptFailure,
  policy: PublishRetryPolicy,
  opts: PublishRetryOptions = {},
): Promise<T> {
  const now = opts.nowMs ?? Date.now;
  // The first attempt ran before this call: counted as if it had used its whole ack wait.
  const startedAt = now() - policy.ackTimeoutMs;
  let noStream = 0;
  let electing = false;
  let err = firstError;
  for (let n = 1; ; n++) {
    const kind = classify(err);
    if (kind === 'no-stream') noStream++;
    if (kind === 'no-stream' && noStream >= policy.noStreamAttempts && !electing) {
      const exists = opts.streamExists ? await opts.streamExists(msg.subject).catch(() => undefined) : false;
      if (exists === false) throw new NoStreamForSubjectError(msg.subject, { cause: err });
      electing = true;
    }
    const delay = retryDelayMs(policy, n);
    // An election answers "no responders" at once: attempts are cheap, so the bound is
    // time (the whole retry still inside the duplicate window), not their count.
    const outOfAttempts = electing
      ? now() - startedAt + delay + policy.ackTimeoutMs > retrySpanMs(policy)
      : n >= policy.maxAttempts;
    if (kind === 'fatal' || outOfAttempts || opts.stopped?.()) {
      throw new PublishFailedError(msg.id, msg.subject, n, { cause: err });
    }
    await (opts.wait ?? sleep)(delay);
    try {
      return await attempt();
    } catch (next) {
      err = next;
    }
  }
}
