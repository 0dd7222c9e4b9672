/**
 * The idempotency claim of a `client_order_id` in the state store: which placement holds it,
 * whether its SUBMITTED event is stored (only then is the order sent), and the request's
 * fingerprint (the same id for a different order is refused). Encoded as JSON.
 */
import type { EpochMs } from '@perpmesh/core';

/**
 * The env switch that makes a placement mark its claim `submitted` only after its SUBMITTED
 * is stored (`sequential`) instead of both at once (the default, `concurrent`), when the
 * caller did not choose (`ExecutionEngineDeps.markWithWriteAhead`; the order bench's before/after).
 * Either way the order is sent only once both are done; why the concurrent form is safe:
 * libs/execution README, "Write ahead and the mark, at once".
 */
export const EXEC_MARK_WITH_WRITE_AHEAD_ENV = 'PERPMESH_EXEC_MARK_WITH_WRITE_AHEAD';

/** Idempotency claims live under this scope: key `{venue}:{account}:{clientOrderId}`. */
export const IDEMPOTENCY_SCOPE = 'exec-order';

/** The key of a client order id's claim under `IDEMPOTENCY_SCOPE`. */
export function claimKey(venue: string, account: string, clientOrderId: string): string {
  return `${venue}:${account}:${clientOrderId}`;
}

/** The value of an idempotency claim (JSON). */
export interface Claim {
  /**
   * `pending` until its placement marks it `submitted`, which it does together with storing
   * the SUBMITTED event; the order is sent only once both are done. So `pending` means never
   * sent, and `submitted` means maybe sent, its SUBMITTED stored or being stored.
   */
  readonly s: 'pending' | 'submitted';
  /** When the order was created (ms): its created time and the stamp of its fact ids. */
  readonly at: EpochMs;
  /** Fingerprint of the request (validation.ts). */
  readonly fp: string;
  /** Which placement attempt holds the claim. */
  readonly by: string;
}

export function encodeClaim(claim: Claim): string {
  return JSON.stringify(claim);
}

/** The claim in a stored value; undefined when the value is not one (then it is not replayed from). */
export function decodeClaim(value: string): Claim | undefined {
  try {
    const c = JSON.parse(value) as Partial<Claim>;
    if ((c.s === 'pending' || c.s === 'submitted') && typeof c.at === 'number' && typeof c.fp === 'string') {
      return { s: c.s, at: c.at, fp: c.fp, by: String(c.by ?? '') };
    }
  } catch {
    // not JSON: not a claim
  }
  return undefined;
}

/**
 * What a duplicate PlaceOrder may do with a `submitted` claim whose order is in no order table
 * here and unknown to the venue (its placement may have stopped after the mark and before its
 * SUBMITTED was stored, the two running at once):
 * - `young`: its placement may be alive and storing the SUBMITTED now: left to it;
 * - `repair`: had its SUBMITTED been stored, the order would be in the table (it was created
 *   after anything the table forgot): so it was not, nothing was sent, and the SUBMITTED is
 *   written from here (same fact id) and the order settled with the venue, never sent;
 * - `forgotten`: created no later than something the table dropped or never read: the order
 *   may have been stored, finished and forgotten here, so nothing is written again.
 */
export type SubmittedClaimRepair = 'young' | 'repair' | 'forgotten';

export function submittedClaimRepair(
  claim: Pick<Claim, 'at'>,
  table: {
    /** Now (ms, the engine's clock). */
    readonly nowMs: EpochMs;
    /** How long a live placement may take to store its SUBMITTED (`pendingClaimTakeoverMs`). */
    readonly liveBoundMs: number;
    /**
     * Orders created at or before this are not vouched for by the table (`OrderTable.
     * forgottenThroughMs`; +Infinity when the table does not follow the log).
     */
    readonly forgottenThroughMs: EpochMs;
  },
): SubmittedClaimRepair {
  if (table.nowMs - claim.at < table.liveBoundMs) return 'young';
  return claim.at > table.forgottenThroughMs ? 'repair' : 'forgotten';
}
