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
  /**
   * The venue's clock now: ours shifted by its skew (a venue whose clock runs ahead of or
   * behind ours). Every time the venue answers with or checks a request against is this one.
   */
  nowMs(): EpochMs;
}

/** A venue clock `skewMs` ahead of ours (behind when negative). */
function skewedClock(skewMs: number): () => EpochMs {
  return () => Date.now() + skewMs;
}

/** A bare exchange: only commands and `advance` change it. `clockSkewMs`: the venue clock's skew. */
export function bareMarket(config: VenueConfig, startMs: EpochMs, clockSkewMs = 0): EmulatorMarket {
  const exchange = new SimExchange(config, { startMs });
  return {
    exchange,
    nowMs: skewedClock(clockSkewMs),
    step(nowMs) {
      if (nowMs > exchange.nowMs) exchange.advance(nowMs);
      return exchange.drainEvents();
    },
  };
}

/**
 * The venues of one seeded world, each an EmulatorMarket: whichever emulator steps first
 * moves the whole world, and every venue's events wait for its own emulator to collect
 * them (one venue's step never loses another's events). `clockSkewMs`: the skew of every
 * venue's clock (one world, one clock: start the world at our time plus the skew).
 */
export function worldMarkets(world: SimWorld, clockSkewMs = 0): (venueId: string) => EmulatorMarket {
  const pending = new Map<string, SimEvent[]>(world.venueIds().map((v) => [v, []]));
  return (venueId) => {
    const exchange = world.exchange(venueId);
    return {
      exchange,
      nowMs: skewedClock(clockSkewMs),
      step(nowMs) {
        for (const e of world.step(Math.max(nowMs, world.nowMs))) pending.get(e.venueId)?.push(e);
        const mine = pending.get(venueId) ?? [];
        pending.set(venueId, []);
        return mine;
      },
    };
  };
}
