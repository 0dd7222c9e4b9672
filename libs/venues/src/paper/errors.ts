/**
 * Sim rejects → the named VenueError classes (libs/venues errors.ts), with a stable
 * `reason` word per reject code and the sim's own words in `venueMessage`.
 */
import { ValidationError, type VenueId } from '@perpmesh/core';
import type { Reject, RejectCode } from '@perpmesh/sim';
import { InsufficientMarginError, VenueOrderNotFoundError, VenueRejectedError } from '../errors.js';

/** Stable port reasons (`VenueRejectedError.reason`) of the sim's reject codes that stay rejects. */
export const REJECT_REASONS: Readonly<
  Record<
    Exclude<
      RejectCode,
      'insufficient_margin' | 'insufficient_balance' | 'order_not_found' | 'invalid_argument'
    >,
    string
  >
> = {
  unknown_account: 'unknown_account',
  unknown_instrument: 'unknown_instrument',
  invalid_tick: 'tick_size',
  invalid_lot: 'lot_size',
  below_min_size: 'min_size',
  above_max_size: 'max_size',
  below_min_notional: 'min_notional',
  post_only_would_cross: 'post_only_would_cross',
  reduce_only_would_increase: 'reduce_only_would_increase',
  duplicate_client_order_id: 'duplicate_client_order_id',
  // The adapter checks presence and range first, so the sim only refuses a nonce not above the last.
  invalid_nonce: 'nonce_too_low',
  no_reference_price: 'no_reference_price',
  invalid_leverage: 'invalid_leverage',
};

/** The named error for a sim reject; `venueMessage` keeps the sim's words (they name field and value). */
export function errorFromReject(venue: VenueId, reject: Reject): Error {
  const venueMessage = reject.message;
  switch (reject.code) {
    case 'insufficient_margin':
    case 'insufficient_balance':
      return new InsufficientMarginError(venue, reject.message, { venueMessage });
    case 'order_not_found':
      return new VenueOrderNotFoundError(venue, reject.message);
    case 'invalid_argument': {
      const field = reject.field ?? 'request';
      const prefix = `${field}: `;
      const message = reject.message.startsWith(prefix)
        ? reject.message.slice(prefix.length)
        : reject.message;
      return new ValidationError(field, message);
    }
    default:
      return new VenueRejectedError(venue, REJECT_REASONS[reject.code], reject.message, { venueMessage });
  }
}
