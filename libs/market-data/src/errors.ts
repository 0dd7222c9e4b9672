/**
 * Errors of the market-data service. The gRPC edge maps them with `MD_ERROR_GRPC_CODES`
 * (a book that is not synced is UNAVAILABLE: retry later; it is never answered with a
 * possibly wrong book).
 */
import { status } from '@grpc/grpc-js';
import { type InstrumentId, PerpmeshError, type VenueId } from '@perpmesh/core';

/** The book exists but is not trusted right now (no snapshot yet, resyncing, stream down). */
export class BookNotSyncedError extends PerpmeshError {
  readonly venue: VenueId;
  readonly instrument: InstrumentId;
  constructor(venue: VenueId, instrument: InstrumentId, reason: string) {
    super('BOOK_NOT_SYNCED', `order book ${instrument} on ${venue} is not synced: ${reason}`);
    this.venue = venue;
    this.instrument = instrument;
  }
}

/** The instrument is configured but followed by another market-data shard. */
export class NotThisShardError extends PerpmeshError {
  readonly shard: number;
  constructor(
    venue: VenueId,
    instrument: InstrumentId,
    owner: number,
    self: { index: number; count: number },
  ) {
    super(
      'NOT_THIS_SHARD',
      `${instrument} on ${venue} is served by market-data shard ${owner} of ${self.count}; this is shard ${self.index}`,
    );
    this.shard = owner;
  }
}

/** With leases: the instrument is configured but this replica does not hold its lease. */
export class NotServedHereError extends PerpmeshError {
  constructor(venue: VenueId, instrument: InstrumentId, expected: string | undefined) {
    super(
      'NOT_THIS_SHARD',
      `${instrument} on ${venue} is not served by this market-data replica${expected ? ` (expected: ${expected})` : ' (no live replica holds it yet)'}`,
    );
  }
}

export const MD_ERROR_GRPC_CODES: Readonly<Record<string, status>> = {
  BOOK_NOT_SYNCED: status.UNAVAILABLE,
  NOT_THIS_SHARD: status.NOT_FOUND,
};
