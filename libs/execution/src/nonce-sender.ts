/**
 * Sending an order — or any other signed action: a cancel, a cancel-all, the scheduled
 * cancel-all — to a venue, with a nonce when the venue wants one (`capabilities.nonces`).
 * Every action of an API key takes its nonce from the key's ONE sequence (Hyperliquid and
 * Lighter sign cancels with the same nonce sequence as orders).
 *
 * Nonces come from the state store (one counter per `{venue, account, apiKeyId}`, shared by
 * every replica; `floor = now` when the venue wants time-based nonces). Allocation and
 * hand-over run in one in-process queue per key, so this process hands its requests to the
 * venue in nonce order. Requests are pipelined: one is handed over as soon as it has its
 * nonce, not when the venue answers the one before, and the requests that queued up while
 * an allocation was in flight get their nonces from ONE allocation of a consecutive block
 * (one store round trip for all of them), handed over in block order.
 *
 * Replicas sharing an API key can still overtake each other between allocation and
 * arrival: the venue then refuses the late one's nonce as stale, which means that order
 * was NOT placed, so it is resent with a fresh nonce after resyncing the counter from the
 * venue — at most `staleNonceRetries` times, then the refusal is the answer.
 */
import { performance } from 'node:perf_hooks';
import { type EpochMs, errorText, PerpmeshError } from '@perpmesh/core';
import type { NonceKey, StateStore } from '@perpmesh/state';
import {
  type PlaceOrderRequest as PortPlaceOrderRequest,
  type VenueOrder,
  type VenuePort,
  VenueRejectedError,
} from '@perpmesh/venues';

/** A venue refusal because our nonce was not above its last one: nothing was placed. */
export function isStaleNonceRejection(err: unknown): boolean {
  return err instanceof VenueRejectedError && /nonce/i.test(err.reason);
}

/** Something failed before the request left for the venue (e.g. no nonce): nothing was sent. */
export class NotSentError extends PerpmeshError {
  constructor(message: string, options: { cause: unknown }) {
    super('NOT_SENT', message, options);
  }
}

/** The parts of a venue port sending uses. */
export type SendingPort = Pick<
  VenuePort,
  'venue' | 'account' | 'apiKeyId' | 'capabilities' | 'createOrder' | 'fetchNextNonce'
>;

/** The parts of a venue port nonce allocation uses. */
export type NonceSigningPort = Pick<
  VenuePort,
  'venue' | 'account' | 'apiKeyId' | 'capabilities' | 'fetchNextNonce'
>;

export interface NonceSenderDeps {
  readonly state: Pick<StateStore, 'allocateNonce' | 'allocateNonces' | 'resyncNonce'>;
  readonly nowMs: () => EpochMs;
  /** Resends after a stale-nonce refusal (EXECUTION_DEFAULTS.staleNonceRetries). */
  readonly staleNonceRetries: number;
  /** Called before each resync (a metric, a log line). */
  readonly onStaleNonce?: (port: NonceSigningPort, attempt: number, err: unknown) => void;
  /** Told how long a stage took, in seconds: nonce (queue wait + allocation) and an order's venue call. */
  readonly onStage?: (stage: 'nonce' | 'venue_call', seconds: number) => void;
}

/** Most requests one allocation serves (a bound on the block, and on how far a time-based nonce runs ahead). */
export const MAX_NONCE_BATCH = 64;

/** A signed action waiting in its key's queue for a nonce. */
interface NonceWaiter {
  readonly action: (nonce: bigint) => Promise<unknown>;
  readonly handOver: (pending: Promise<unknown>) => void;
  readonly fail: (err: unknown) => void;
  readonly queuedAt: number;
}

/** One key's queue: requests waiting for a nonce, and whether an allocation is in flight. */
interface NonceQueue {
  readonly waiting: NonceWaiter[];
  draining: boolean;
}

export class NonceSender {
  readonly #deps: NonceSenderDeps;
  /** Per nonce key: the requests waiting for their nonce. */
  readonly #queues = new Map<string, NonceQueue>();

  constructor(deps: NonceSenderDeps) {
    this.#deps = deps;
  }

  /**
   * Sends `request`; on a nonce venue, with a freshly allocated nonce. Throws what the venue
   * threw, or `NotSentError` when no nonce could be had (nothing was sent).
   */
  send(port: SendingPort, request: PortPlaceOrderRequest): Promise<VenueOrder> {
    return this.sign(port, async (nonce) => {
      const started = performance.now();
      try {
        return await port.createOrder(nonce === undefined ? request : { ...request, nonce });
      } finally {
        this.#deps.onStage?.('venue_call', (performance.now() - started) / 1000);
      }
    });
  }

  /**
   * Runs a signed action (`action(nonce)` calls the port) with a fresh nonce on a nonce venue,
   * `undefined` elsewhere; a stale-nonce refusal resyncs and reruns it as for orders.
   */
  async sign<T>(port: NonceSigningPort, action: (nonce: bigint | undefined) => Promise<T>): Promise<T> {
    if (!port.capabilities.nonces) return action(undefined);
    const key: NonceKey = { venue: port.venue, account: port.account, apiKeyId: port.apiKeyId };
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.#signWithNonce(port, key, action);
      } catch (err) {
        if (!isStaleNonceRejection(err) || attempt >= this.#deps.staleNonceRetries) throw err;
        this.#deps.onStaleNonce?.(port, attempt + 1, err);
        if (port.fetchNextNonce) {
          const next = await port.fetchNextNonce().catch((cause) => {
            throw new NotSentError(`could not read the venue's next nonce: ${errorText(cause)}`, { cause });
          });
          await this.#deps.state.resyncNonce(key, next).catch((cause) => {
            throw new NotSentError(`could not resync the nonce counter: ${errorText(cause)}`, { cause });
          });
        }
      }
    }
  }

  /**
   * Queues the action for the key's next nonce; resolves as the action does. Hand-over (the
   * action called with its nonce) is in queue order, right after the nonce is allocated.
   */
  #signWithNonce<T>(
    port: NonceSigningPort,
    key: NonceKey,
    action: (nonce: bigint) => Promise<T>,
  ): Promise<T> {
    const queueKey = `${key.venue}\u0000${key.account}\u0000${key.apiKeyId}`;
    let queue = this.#queues.get(queueKey);
    if (queue === undefined) {
      queue = { waiting: [], draining: false };
      this.#queues.set(queueKey, queue);
    }
    const result = new Promise<T>((resolve, reject) => {
      (queue as NonceQueue).waiting.push({
        action,
        handOver: (pending) => resolve(pending as Promise<T>),
        fail: reject,
        queuedAt: performance.now(),
      });
    });
    if (!queue.draining) void this.#drain(port, key, queueKey, queue);
    return result;
  }

  /**
   * Serves a key's queue until it is empty: every waiting request (up to MAX_NONCE_BATCH) gets
   * its nonce from one allocation, and is handed over in nonce order before the next allocation.
   */
  async #drain(port: NonceSigningPort, key: NonceKey, queueKey: string, queue: NonceQueue): Promise<void> {
    queue.draining = true;
    try {
      while (queue.waiting.length > 0) {
        const batch = queue.waiting.splice(0, MAX_NONCE_BATCH);
        const options = port.capabilities.nonceFloorIsTimeMs ? { floor: BigInt(this.#deps.nowMs()) } : {};
        let first: bigint;
        try {
          first =
            batch.length === 1
              ? await this.#deps.state.allocateNonce(key, options)
              : (await this.#deps.state.allocateNonces(key, batch.length, options)).first;
        } catch (cause) {
          for (const waiter of batch)
            waiter.fail(new NotSentError(`could not allocate a nonce: ${errorText(cause)}`, { cause }));
          continue;
        }
        const allocated = performance.now();
        batch.forEach((waiter, n) => {
          this.#deps.onStage?.('nonce', (allocated - waiter.queuedAt) / 1000);
          try {
            waiter.handOver(waiter.action(first + BigInt(n)));
          } catch (err) {
            waiter.fail(err);
          }
        });
      }
    } finally {
      queue.draining = false;
      if (this.#queues.get(queueKey) === queue && queue.waiting.length === 0) this.#queues.delete(queueKey);
    }
  }
}
