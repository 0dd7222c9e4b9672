/**
 * GetOrder of an order the engine's table no longer holds (finished, then pruned by
 * `terminalOrderRetentionMs` / `maxTerminalOrders`): every exec.order event carries the order's
 * whole view, so its last event on the EXEC log is its answer, fees and fills included. Where
 * to start reading is the order's created time, from its idempotency claim (kept
 * `idempotencyTtlMs`); the read is of the account's order subject only and stops at the
 * order's first finished view, so a lookup costs the account's events between the order's
 * creation and its end, not the stream.
 */
import type { EventLog } from '@perpmesh/bus';
import { decodeEnvelope, ORDER_STATUS, type Order } from '@perpmesh/contracts';
import { type EpochMs, isOrderTerminal } from '@perpmesh/core';
import { ExecutionUnavailableError } from './errors.js';

/**
 * How far before the claim's time the read starts: the claim is stamped on the execution
 * host's clock, the log's timestamps on the NATS server's (another host when distributed).
 */
export const LOGGED_ORDER_CLOCK_SLACK_MS = 60_000;

export interface LoggedOrderQuery {
  readonly stream: string;
  /** The account's order subject (`exec.order.{venue}.{account}`). */
  readonly filterSubject: string;
  /** The order's created time (its claim's `at`). */
  readonly createdAtMs: EpochMs;
  /** Which order: its client order id. */
  readonly clientOrderId: string;
  /** The whole lookup gives up (UNAVAILABLE) after this long. */
  readonly timeoutMs: number;
}

/**
 * The order's newest view on the log: its first finished one (nothing follows a finished
 * order), else the last stored one; undefined when the log holds none of its events.
 */
export async function lastLoggedOrder(log: EventLog, q: LoggedOrderQuery): Promise<Order | undefined> {
  const messages = log
    .read({
      stream: q.stream,
      filterSubject: q.filterSubject,
      fromTimeMs: Math.max(0, q.createdAtMs - LOGGED_ORDER_CLOCK_SLACK_MS),
    })
    [Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ExecutionUnavailableError(
            `looking up order ${q.clientOrderId} on the event log took longer than ${q.timeoutMs} ms; retry`,
          ),
        ),
      q.timeoutMs,
    );
  });
  let found: Order | undefined;
  try {
    for (;;) {
      const next = await Promise.race([messages.next(), timedOut]);
      if (next.done) break;
      const payload = decodedPayload(next.value.data);
      if (payload?.$case !== 'orderEvent') continue;
      const order = payload.value.order;
      if (order?.clientOrderId !== q.clientOrderId) continue;
      found = order;
      if (isFinishedOnTheWire(order)) break;
    }
  } finally {
    clearTimeout(timer);
    // Closes the read's consumer; not awaited when the read itself is what timed out.
    void messages.return?.().catch(() => undefined);
  }
  return found;
}

/** An envelope's payload; undefined for bytes that are not an envelope (skipped, as the tail does). */
function decodedPayload(data: Uint8Array) {
  try {
    return decodeEnvelope(data).payload;
  } catch {
    return undefined;
  }
}

/** Finished, by the wire view's status; one this code does not know (a newer writer's) is not. */
export function isFinishedOnTheWire(order: Order): boolean {
  try {
    return isOrderTerminal(ORDER_STATUS.fromProto(order.status, 'order.status'));
  } catch {
    return false;
  }
}
