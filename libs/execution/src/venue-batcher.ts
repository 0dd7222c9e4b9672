/**
 * Orders to a venue WITHOUT nonces that placements hand over in the same turn of the event
 * loop go out as ONE `createOrders` call when the port has a batch call
 * (`capabilities.maxBatchOrders`, e.g. the paper venue): one venue round trip, one message
 * each way and one venue command for many orders instead of one each. (Nonce venues batch in
 * NonceSender, per allocation block, in nonce order.)
 *
 * Per-order semantics are those of `createOrder`: every order was written ahead (its
 * SUBMITTED acknowledged, its claim marked) before it is handed over here, so nothing in a
 * batch is sent before its own write-ahead; each order gets its own outcome — placed,
 * refused, unknown (the batch's answer lost: settled by client id, never resent) — and an
 * order the venue never looked at because one before it in the batch was refused
 * (`VenueNotSentError`: nothing was done) is handed over again, to the next batch. A turn
 * with one order, or a port without a batch call, uses `createOrder`: one order at a time
 * takes the same path as before.
 */
import { TurnBatcher } from '@perpmesh/bus';
import {
  type BatchOrderOutcome,
  type PlaceOrderRequest,
  VenueNotSentError,
  type VenueOrder,
  type VenuePort,
} from '@perpmesh/venues';

/**
 * The env switch that turns the batching of concurrent orders to a venue without nonces off
 * when the caller did not choose (`NonceSenderDeps.batchVenueOrders`; the order bench's
 * before/after).
 */
export const EXEC_VENUE_BATCHING_ENV = 'PERPMESH_EXEC_VENUE_BATCHING';

/** The parts of a venue port an order batch uses. */
export type BatchingPort = Pick<VenuePort, 'venue' | 'capabilities' | 'createOrder' | 'createOrders'>;

/**
 * How many times one order may be passed over (`VenueNotSentError`) before that is its answer:
 * a batch decides its first order, so an order is passed over at most once per place ahead of
 * it; the bound only guards against a venue that breaks that rule.
 */
export const MAX_NOT_SENT_RESENDS = 64;

/** Order `n`'s outcome of a batch call for `count` orders: the order, or its own error thrown. */
export function orderOfOutcome(
  venue: string,
  outcomes: readonly BatchOrderOutcome[],
  n: number,
  count: number,
): VenueOrder {
  const outcome = outcomes[n];
  if (outcome === undefined)
    throw new Error(`${venue}: the batch call answered ${outcomes.length} outcomes for ${count} orders`);
  if (outcome.ok) return outcome.order;
  throw outcome.error;
}

interface WaitingOrder {
  readonly request: PlaceOrderRequest;
  readonly resolve: (order: VenueOrder) => void;
  readonly reject: (err: unknown) => void;
}

export class VenueOrderBatcher {
  /** One batcher per port (a port is one venue account), made on its first order. */
  readonly #turns = new WeakMap<BatchingPort, TurnBatcher<WaitingOrder>>();
  readonly #onBatch: ((orders: number) => void) | undefined;

  /** `onBatch`: told how many orders each venue call carried (a metric). */
  constructor(options: { onBatch?: (orders: number) => void } = {}) {
    this.#onBatch = options.onBatch;
  }

  /** The port can take several orders in one call (else `send` is `createOrder`). */
  static batches(port: BatchingPort): boolean {
    return port.createOrders !== undefined && (port.capabilities.maxBatchOrders ?? 0) >= 2;
  }

  /** Places one order, in a batch with the others handed over in this turn; as `createOrder`. */
  async send(port: BatchingPort, request: PlaceOrderRequest): Promise<VenueOrder> {
    if (!VenueOrderBatcher.batches(port)) return port.createOrder(request);
    for (let passedOver = 0; ; passedOver++) {
      try {
        return await new Promise<VenueOrder>((resolve, reject) =>
          this.#turnsOf(port).add({ request, resolve, reject }),
        );
      } catch (err) {
        if (!(err instanceof VenueNotSentError) || passedOver >= MAX_NOT_SENT_RESENDS) throw err;
      }
    }
  }

  #turnsOf(port: BatchingPort): TurnBatcher<WaitingOrder> {
    let turns = this.#turns.get(port);
    if (turns === undefined) {
      turns = new TurnBatcher(port.capabilities.maxBatchOrders ?? 2, (batch) => this.#flush(port, batch));
      this.#turns.set(port, turns);
    }
    return turns;
  }

  /** Never throws: whatever the port does (also a synchronous throw) settles the orders. */
  #flush(port: BatchingPort, batch: readonly WaitingOrder[]): void {
    this.#onBatch?.(batch.length);
    const createOrders = port.createOrders;
    if (batch.length === 1 || createOrders === undefined) {
      for (const w of batch) callPort(() => port.createOrder(w.request)).then(w.resolve, w.reject);
      return;
    }
    const requests = batch.map((w) => w.request);
    callPort(() => createOrders.call(port, requests)).then(
      (outcomes) => {
        for (const [n, w] of batch.entries()) {
          try {
            w.resolve(orderOfOutcome(port.venue, outcomes, n, batch.length));
          } catch (err) {
            w.reject(err);
          }
        }
      },
      (err) => {
        for (const w of batch) w.reject(err);
      },
    );
  }
}

/** A port call as a promise, also when it throws synchronously. */
function callPort<T>(call: () => Promise<T>): Promise<T> {
  try {
    return call();
  } catch (err) {
    return Promise.reject(err);
  }
}
