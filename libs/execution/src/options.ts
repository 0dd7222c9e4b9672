/**
 * Tuning of the execution engine, with named defaults (one place). The service's config
 * parser (services/execution/src/config.ts) fills these from YAML; tests pass small values.
 */
import { ValidationError } from '@perpmesh/core';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface ExecutionOptions {
  /** Name of the EXEC stream (tests namespace it: `T_…_EXEC`). */
  readonly execStream: string;
  /** How long a client_order_id stays claimed in the state store (the idempotency window). */
  readonly idempotencyTtlMs: number;
  /** A duplicate PlaceOrder waits this long for the first one to leave SUBMITTED, then returns what it has. */
  readonly duplicateWaitMs: number;
  /**
   * An order still unsettled this long after its claim was made, with no placement or
   * resolver of this process on it, belongs to a placement that stopped (a killed replica,
   * or this process before a restart). It is settled by asking the venue, not by waiting:
   * known there → its view is applied; claim still `pending` (nothing was sent) → taken over
   * by compare-and-set, then placed if a duplicate PlaceOrder asks for it now, else REJECTED
   * (never sent late); claim `submitted` → the placement resolver (REJECTED once
   * the venue has not known it for `notFoundAfterMs` since it was created). The
   * compare-and-set fences a live holder that is merely slow: it finds the claim moved and
   * does not send, so a takeover never makes a second order.
   */
  readonly pendingClaimTakeoverMs: number;
  /** First delay of the unknown-outcome resolver's fetchOrder polls (doubles each time). */
  readonly resolveInitialDelayMs: number;
  readonly resolveMaxDelayMs: number;
  /** An order whose placement outcome was unknown and that the venue still does not know after this long is REJECTED. */
  readonly notFoundAfterMs: number;
  /**
   * On start, orders are rebuilt from EXEC events this recent: what bounds the time to ready.
   * Safe when it covers `fillReconcileLookbackMs` (else the venue's fills of orders older than
   * the rebuild come back as new fill events) and the longest an order rests open (an open
   * order older than it is reported as drift, not tracked). Ids older than it stay
   * idempotent: their claims live `idempotencyTtlMs`, and a replay asks the venue.
   */
  readonly rebuildLookbackMs: number;
  /** On reconciliation, venue fills this recent are compared with ours. */
  readonly fillReconcileLookbackMs: number;
  /** A venue order snapshot reporting more filled than we know triggers a fetchFills after this delay. */
  readonly fillCatchUpDelayMs: number;
  /**
   * A PlaceOrder whose venue answer counts fills not seen yet waits this long for them (user
   * stream or fill catch-up) before answering with the fills known. Above `fillCatchUpDelayMs`,
   * so a venue without a user stream still answers with its fills.
   */
  readonly fillAnswerWaitMs: number;
  /** Finished orders are kept in memory this long after their last change (GetOrder, duplicates). */
  readonly terminalOrderRetentionMs: number;
  /**
   * At most this many finished orders are kept in memory (a count bound beside the time
   * one; the oldest go first), except those changed within `terminalOrderMinRetentionMs`.
   */
  readonly maxTerminalOrders: number;
  readonly terminalOrderMinRetentionMs: number;
  /** GetOrder of a finished order no longer kept in memory reads the log (order-lookup.ts) at most this long. */
  readonly orderLookupTimeoutMs: number;
  /** User-stream or log events of an order we do not know yet are held this long for it to appear. */
  readonly orphanEventTtlMs: number;
  /** How often unpublished events are retried, old orders pruned and venue streams checked. */
  readonly housekeepingIntervalMs: number;
  /** A StreamOrderEvents client this many messages behind is disconnected (RESOURCE_EXHAUSTED). */
  readonly streamBufferLimit: number;
  /** Retry delay of a failed reconciliation (doubles up to 60 s). */
  readonly reconcileRetryDelayMs: number;
  /** Resends with a fresh nonce after the venue refused a stale one (the order was not placed). */
  readonly staleNonceRetries: number;
}

export const EXECUTION_DEFAULTS: ExecutionOptions = {
  execStream: 'EXEC',
  idempotencyTtlMs: 7 * DAY_MS,
  duplicateWaitMs: 5_000,
  pendingClaimTakeoverMs: 5_000,
  resolveInitialDelayMs: 200,
  resolveMaxDelayMs: 5_000,
  notFoundAfterMs: 60_000,
  rebuildLookbackMs: 7 * DAY_MS,
  fillReconcileLookbackMs: DAY_MS,
  fillCatchUpDelayMs: 1_000,
  fillAnswerWaitMs: 3_000,
  terminalOrderRetentionMs: DAY_MS,
  maxTerminalOrders: 10_000,
  terminalOrderMinRetentionMs: 60_000,
  orderLookupTimeoutMs: 5_000,
  orphanEventTtlMs: 30_000,
  housekeepingIntervalMs: 5_000,
  streamBufferLimit: 10_000,
  reconcileRetryDelayMs: 1_000,
  staleNonceRetries: 5,
};

/** Defaults plus overrides, each checked to be a whole number of ms (or count) > 0. */
export function resolveExecutionOptions(overrides: Partial<ExecutionOptions> = {}): ExecutionOptions {
  const options = { ...EXECUTION_DEFAULTS, ...overrides };
  for (const [field, value] of Object.entries(options)) {
    if (field === 'execStream') {
      if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
        throw new ValidationError(
          `execution.${field}`,
          `must be a stream name, got ${JSON.stringify(value)}`,
        );
      }
      continue;
    }
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      throw new ValidationError(
        `execution.${field}`,
        `must be a whole number > 0, got ${JSON.stringify(value)}`,
      );
    }
  }
  if (options.rebuildLookbackMs < options.fillReconcileLookbackMs) {
    throw new ValidationError(
      'execution.rebuildLookback',
      `must cover execution.fillReconcileLookback (${options.fillReconcileLookbackMs} ms), got ${options.rebuildLookbackMs} ms: venue fills of orders not rebuilt would be published again`,
    );
  }
  return options;
}
