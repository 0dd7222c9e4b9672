/**
 * A per-account request budget on top of ccxt's own limiter: ccxt paces one exchange
 * object, but several of our components (execution, account reconcile, market polls)
 * share an account's budget at the venue. A token bucket: `capacity` requests at once,
 * refilled at `perSecond`; a call waits for a token, and one that would wait longer than
 * `maxWaitMs` fails as rate-limited instead of queueing without bound.
 */
import { sleep } from '@perpmesh/core';
import { RateLimitedError } from '../errors.js';

export interface RequestBudgetOptions {
  capacity: number;
  perSecond: number;
  maxWaitMs: number;
}

export const DEFAULT_REQUEST_BUDGET: RequestBudgetOptions = { capacity: 20, perSecond: 10, maxWaitMs: 5_000 };

export class RequestBudget {
  private tokens: number;
  private updatedMs: number;

  constructor(
    private readonly venue: string,
    private readonly options: RequestBudgetOptions = DEFAULT_REQUEST_BUDGET,
    private readonly now: () => number = Date.now,
  ) {
    if (!(options.capacity >= 1) || !(options.perSecond > 0)) {
      throw new RangeError('request budget: capacity must be >= 1 and perSecond > 0');
    }
    this.tokens = options.capacity;
    this.updatedMs = now();
  }

  /** What is left now (for readiness): whole requests that can go at once, of `capacity`. */
  level(): { left: number; capacity: number; perSecond: number } {
    this.refill();
    const { capacity, perSecond } = this.options;
    return { left: Math.max(0, Math.floor(this.tokens)), capacity, perSecond };
  }

  /** How long a caller must wait for its token (0 = now); the token is taken. */
  reserve(): number {
    this.refill();
    const waitMs = this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.options.perSecond) * 1000);
    if (waitMs > this.options.maxWaitMs) {
      throw new RateLimitedError(
        this.venue,
        `request budget of this account spent (next slot in ${waitMs} ms)`,
        {
          retryAfterMs: waitMs,
        },
      );
    }
    this.tokens -= 1;
    return waitMs;
  }

  /** Requests that can go now without waiting (readiness: the budget before it runs out). */
  available(): number {
    this.refill();
    return Math.floor(this.tokens);
  }

  get capacity(): number {
    return this.options.capacity;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(
      this.options.capacity,
      this.tokens + ((now - this.updatedMs) / 1000) * this.options.perSecond,
    );
    this.updatedMs = now;
  }

  async take(): Promise<void> {
    const waitMs = this.reserve();
    if (waitMs > 0) await sleep(waitMs);
  }
}
