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
 * Where the venue has a batch call (`capabilities.maxBatchOrders`, `createOrders`), the orders
 * of one block that sit next to each other go out in ONE venue call (up to the venue's limit),
 * still in nonce order; each order keeps its own outcome: placed, refused (a stale nonce
 * resyncs and only that order is resent), unknown (the caller settles it by client id), or not
 * looked at because an order before it in the batch was refused (`VenueNotSentError`: nothing
 * was done, so it goes back to the FRONT of the key's queue and is sent again with a fresh
 * nonce; this is not a refusal of its own and takes none of its stale-nonce retries). A batch's
 * first order is always decided, so a passed-over order moves forward each time.
 *
 * On a venue WITHOUT nonces, orders handed over in the same turn of the event loop go out in
 * one batch call where the port has one (venue-batcher.ts); other signed actions go alone.
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
  type BatchOrderOutcome,
  type PlaceOrderRequest as PortPlaceOrderRequest,
  VenueNotSentError,
  type VenueOrder,
  type VenuePort,
  VenueRejectedError,
} from '@perpmesh/venues';
import {
  EXEC_VENUE_BATCHING_ENV,
  MAX_NOT_SENT_RESENDS,
  orderOfOutcome,
  VenueOrderBatcher,
} from './venue-batcher.js';

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

/**
 * Moves the key's counter up to the venue's next nonce (never down); nothing to do on a venue
 * that does not tell it. `NotSentError` naming what failed.
 */
export async function resyncNonceFromVenue(
  state: Pick<StateStore, 'resyncNonce'>,
  port: NonceSigningPort,
): Promise<void> {
  if (!port.fetchNextNonce) return;
  const next = await port.fetchNextNonce().catch((cause) => {
    throw new NotSentError(`could not read the venue's next nonce: ${errorText(cause)}`, { cause });
  });
  const key: NonceKey = { venue: port.venue, account: port.account, apiKeyId: port.apiKeyId };
  await state.resyncNonce(key, next).catch((cause) => {
    throw new NotSentError(`could not resync the nonce counter: ${errorText(cause)}`, { cause });
  });
}

/** The parts of a venue port sending uses. */
export type SendingPort = Pick<
  VenuePort,
  'venue' | 'account' | 'apiKeyId' | 'capabilities' | 'createOrder' | 'createOrders' | 'fetchNextNonce'
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
  /**
   * Orders to a venue without nonces handed over in the same turn of the event loop go out in
   * ONE batch call where the port has one (venue-batcher.ts). Default on; `false`, or
   * `PERPMESH_EXEC_VENUE_BATCHING=off`, sends each with its own `createOrder`.
   */
  readonly batchVenueOrders?: boolean;
  /** Told how many orders each venue call carried, when batching orders to a venue without nonces (a metric). */
  readonly onVenueBatch?: (orders: number) => void;
}

/** Most requests one allocation serves (a bound on the block, and on how far a time-based nonce runs ahead). */
export const MAX_NONCE_BATCH = 64;

/** An order waiting for its nonce: it may share a batch call with the orders next to it. */
interface QueuedOrder {
  readonly port: SendingPort;
  readonly request: PortPlaceOrderRequest;
}

/** A signed action waiting in its key's queue for a nonce. */
interface NonceWaiter {
  readonly action: (nonce: bigint) => Promise<unknown>;
  /** Set for an order (`send`): the request a batch call would carry. */
  readonly order?: QueuedOrder;
  readonly handOver: (pending: Promise<unknown>) => void;
  readonly fail: (err: unknown) => void;
  readonly queuedAt: number;
}

/** One key's queue: requests waiting for a nonce, and whether an allocation is in flight. */
interface NonceQueue {
  /** Orders a batch passed over (nothing done): served before `waiting`, in their nonce order. */
  readonly resend: NonceWaiter[];
  readonly waiting: NonceWaiter[];
  draining: boolean;
  /**
   * The key's batch call in flight, settled or not (never rejects): the next block waits for
   * it, so the orders that arrive meanwhile form the next batch instead of many small ones
   * (the venue takes the key's transactions one call at a time anyway).
   */
  batchInFlight?: Promise<void>;
}

export class NonceSender {
  readonly #deps: NonceSenderDeps;
  /** Per nonce key: the requests waiting for their nonce. */
  readonly #queues = new Map<string, NonceQueue>();
  /** Orders to venues without nonces, batched per turn; absent when batching is off. */
  readonly #venueBatches: VenueOrderBatcher | undefined;

  constructor(deps: NonceSenderDeps) {
    this.#deps = deps;
    const batch = deps.batchVenueOrders ?? process.env[EXEC_VENUE_BATCHING_ENV] !== 'off';
    this.#venueBatches = batch
      ? new VenueOrderBatcher(deps.onVenueBatch ? { onBatch: deps.onVenueBatch } : {})
      : undefined;
  }

  /**
   * Sends `request`; on a nonce venue, with a freshly allocated nonce. Throws what the venue
   * threw, or `NotSentError` when no nonce could be had (nothing was sent).
   */
  send(port: SendingPort, request: PortPlaceOrderRequest): Promise<VenueOrder> {
    const batches = this.#venueBatches;
    const action = async (nonce: bigint | undefined) => {
      const started = performance.now();
      try {
        if (nonce !== undefined) return await port.createOrder({ ...request, nonce });
        return await (batches ? batches.send(port, request) : port.createOrder(request));
      } finally {
        this.#deps.onStage?.('venue_call', (performance.now() - started) / 1000);
      }
    };
    return this.#run(port, action, { port, request });
  }

  /**
   * Runs a signed action (`action(nonce)` calls the port) with a fresh nonce on a nonce venue,
   * `undefined` elsewhere; a stale-nonce refusal resyncs and reruns it as for orders.
   */
  sign<T>(port: NonceSigningPort, action: (nonce: bigint | undefined) => Promise<T>): Promise<T> {
    return this.#run(port, action);
  }

  async #run<T>(
    port: NonceSigningPort,
    action: (nonce: bigint | undefined) => Promise<T>,
    order?: QueuedOrder,
  ): Promise<T> {
    if (!port.capabilities.nonces) return action(undefined);
    const key: NonceKey = { venue: port.venue, account: port.account, apiKeyId: port.apiKeyId };
    let passedOver = 0;
    let resend = false;
    for (let attempt = 0; ; ) {
      try {
        return await this.#signWithNonce(port, key, action, order, resend);
      } catch (err) {
        resend = err instanceof VenueNotSentError && passedOver < MAX_NOT_SENT_RESENDS;
        if (resend) {
          passedOver += 1;
          continue;
        }
        if (!isStaleNonceRejection(err) || attempt >= this.#deps.staleNonceRetries) throw err;
        attempt += 1;
        this.#deps.onStaleNonce?.(port, attempt, err);
        await resyncNonceFromVenue(this.#deps.state, port);
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
    order: QueuedOrder | undefined,
    resend: boolean,
  ): Promise<T> {
    const queueKey = `${key.venue}\u0000${key.account}\u0000${key.apiKeyId}`;
    let queue = this.#queues.get(queueKey);
    if (queue === undefined) {
      queue = { resend: [], waiting: [], draining: false };
      this.#queues.set(queueKey, queue);
    }
    const result = new Promise<T>((resolve, reject) => {
      const line = resend ? (queue as NonceQueue).resend : (queue as NonceQueue).waiting;
      line.push({
        action,
        ...(order === undefined ? {} : { order }),
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
      while (queue.resend.length + queue.waiting.length > 0) {
        if (queue.batchInFlight !== undefined) await queue.batchInFlight;
        const batch = queue.resend.splice(0, MAX_NONCE_BATCH);
        batch.push(...queue.waiting.splice(0, MAX_NONCE_BATCH - batch.length));
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
        for (const waiter of batch) this.#deps.onStage?.('nonce', (allocated - waiter.queuedAt) / 1000);
        for (let n = 0; n < batch.length; ) {
          const run = batchRun(batch, n);
          if (run !== undefined) {
            const inFlight = this.#handOverBatch(run.port, run.waiters, first + BigInt(n)).then(() => {
              if (queue.batchInFlight !== inFlight) return;
              queue.batchInFlight = undefined;
              this.#forgetIfIdle(queueKey, queue);
            });
            queue.batchInFlight = inFlight;
            n += run.waiters.length;
            continue;
          }
          const waiter = batch[n] as NonceWaiter;
          try {
            waiter.handOver(waiter.action(first + BigInt(n)));
          } catch (err) {
            waiter.fail(err);
          }
          n += 1;
        }
      }
    } finally {
      queue.draining = false;
      this.#forgetIfIdle(queueKey, queue);
    }
  }

  /** Drops a key's queue with nothing waiting, draining or in flight (a later request makes a new one). */
  #forgetIfIdle(queueKey: string, queue: NonceQueue): void {
    const idle =
      !queue.draining &&
      queue.batchInFlight === undefined &&
      queue.resend.length + queue.waiting.length === 0;
    if (idle && this.#queues.get(queueKey) === queue) this.#queues.delete(queueKey);
  }

  /**
   * Orders with consecutive nonces from `firstNonce`, in ONE venue call; each waiter is handed
   * its own order's outcome. Resolves (never rejects) when the call has answered.
   */
  #handOverBatch(port: SendingPort, run: readonly NonceWaiter[], firstNonce: bigint): Promise<unknown> {
    const requests = run.map((w, n) => ({
      ...(w.order as QueuedOrder).request,
      nonce: firstNonce + BigInt(n),
    }));
    const started = performance.now();
    let call: Promise<BatchOrderOutcome[]>;
    try {
      call = (port.createOrders as NonNullable<SendingPort['createOrders']>).call(port, requests);
    } catch (err) {
      call = Promise.reject(err);
    }
    const answered = call.finally(() => {
      const seconds = (performance.now() - started) / 1000;
      for (const _ of run) this.#deps.onStage?.('venue_call', seconds);
    });
    for (const [n, waiter] of run.entries()) {
      waiter.handOver(answered.then((outcomes) => orderOfOutcome(port.venue, outcomes, n, run.length)));
    }
    return answered.catch(() => undefined);
  }
}

/**
 * The orders from `start` that can share one batch call: next to each other in the block, to
 * the same port, which has a batch call, at most its limit; `undefined` when fewer than two.
 */
function batchRun(
  block: readonly NonceWaiter[],
  start: number,
): { port: SendingPort; waiters: NonceWaiter[] } | undefined {
  const port = block[start]?.order?.port;
  const limit = port?.createOrders === undefined ? 0 : (port.capabilities.maxBatchOrders ?? 0);
  if (port === undefined || limit < 2) return undefined;
  let end = start;
  while (end < block.length && end - start < limit && block[end]?.order?.port === port) end += 1;
  return end - start < 2 ? undefined : { port, waiters: block.slice(start, end) };
}
