/**
 * What drives an emulator's simulated exchange: a seeded SimWorld (background market
 * maker and noise traders move books and funding) or a bare SimExchange that a test
 * drives itself (prices, resting orders of its own counterparty account).
 */
import type { EpochMs } from '@perpmesh/core';
import { type SimEvent, SimExchange, type SimWorld, type VenueConfig } from '@perpmesh/sim';

export interface EmulatorMarket {
  readonly exchange: SimExchange;
  /** Moves the venue clock to `nowMs` (never backwards) and returns the events since the last call. */
  step(nowMs: EpochMs): SimEvent[];
}

/** A bare exchange: only commands and `advance` change it. */
export function bareMarket(config: VenueConfig, startMs: EpochMs): EmulatorMarket {
  const exchange = new SimExchange(config, { startMs });
  return {
    exchange,
    step(nowMs) {
      if (nowMs > exchange.nowMs) exchange.advance(nowMs);
      return exchange.drainEvents();
    },
  };
}

/** One venue of a seeded world (the world holds only this venue, so its events are this venue's). */
export function worldMarket(world: SimWorld, venueId: string): EmulatorMarket {
  const exchange = world.exchange(venueId);
  return {
    exchange,
    step(nowMs) {
      return world.step(Math.max(nowMs, world.nowMs)).filter((e) => e.venueId === venueId);
    },
  };
}
