/**
 * Sending an order — or any other signed action: a cancel, a cancel-all, the scheduled
 * cancel-all — to a venue, with a nonce when the venue wants one (`capabilities.nonces`).
 * Every action of an API key takes its nonce from the key's ONE sequence (Hyperliquid and
 * Lighter sign cancels with the same nonce sequence as orders).
 *
 * Nonces come from the state store (one counter per `{venue, account, apiKeyId}`, shared by
 * every replica; `floor = now` when the venue wants time-based nonces). Allocation and
 * hand-over run under one in-process lock per key, so this process hands its requests to the
 * venue in nonce order. Replicas sharing an API key can still overtake each other between
 * allocation and arrival: the venue then refuses the late one's nonce as stale, which means
 * that order was NOT placed, so it is resent with a fresh nonce after resyncing the counter
 * from the venue — at most `staleNonceRetries` times, then the refusal is the answer.
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
  readonly state: Pick<StateStore, 'allocateNonce' | 'resyncNonce'>;
  readonly nowMs: () => EpochMs;
  /** Resends after a stale-nonce refusal (EXECUTION_DEFAULTS.staleNonceRetries). */
  readonly staleNonceRetries: number;
  /** Called before each resync (a metric, a log line). */
  readonly onStaleNonce?: (port: NonceSigningPort, attempt: number, err: unknown) => void;
  /** Told how long a stage took, in seconds: nonce (lock wait + allocation) and an order's venue call. */
  readonly onStage?: (stage: 'nonce' | 'venue_call', seconds: number) => void;
}

export class NonceSender {
  readonly #deps: NonceSenderDeps;
  /** Per nonce key: the tail of the queue of allocations waiting for the lock. */
  readonly #locks = new Map<string, Promise<void>>();

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
   * Allocation and hand-over under the key's lock; the lock is released once the request is
   * handed to the port, not when the venue answers.
   */
  async #signWithNonce<T>(
    port: NonceSigningPort,
    key: NonceKey,
    action: (nonce: bigint) => Promise<T>,
  ): Promise<T> {
    const lockKey = `${key.venue}\u0000${key.account}\u0000${key.apiKeyId}`;
    const previous = this.#locks.get(lockKey) ?? Promise.resolve();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => gate);
    this.#locks.set(lockKey, tail);
    const waitStarted = performance.now();
    await previous;
    let pending: Promise<T>;
    try {
      const options = port.capabilities.nonceFloorIsTimeMs ? { floor: BigInt(this.#deps.nowMs()) } : {};
      let nonce: bigint;
      try {
        nonce = await this.#deps.state.allocateNonce(key, options);
      } catch (cause) {
        throw new NotSentError(`could not allocate a nonce: ${errorText(cause)}`, { cause });
      }
      this.#deps.onStage?.('nonce', (performance.now() - waitStarted) / 1000);
      pending = action(nonce);
    } finally {
      release();
      if (this.#locks.get(lockKey) === tail) this.#locks.delete(lockKey);
    }
    return pending;
  }
}
