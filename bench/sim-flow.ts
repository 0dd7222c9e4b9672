/**
 * The simulator benches' order flow, shared by bench/sim.bench.ts, bench/sim-ab.ts and
 * bench/sim-match-profile.ts: a maker's resting limit sell (10 lots) taken in full by a market
 * buy, and every other pair a 20-lot sell of the taker taken by the maker; one instrument.
 */
import type * as simModule from '@perpmesh/sim';

type Sim = typeof simModule;

const instrumentId = 'BTC-USDC-PERP';

/** The flow in ticks (0.1) and lots (0.001) with no account observed (`submitFixedOrder`). */
export function matchFixedUnobserved(sim: Sim, pairs: number): void {
  const ex = unobservedExchange(sim);
  const limit = (accountId: string, sizeLots: number) =>
    ex.submitFixedOrder({
      accountId,
      instrumentId,
      side: 'sell',
      type: 'limit',
      priceTicks: 500_000,
      sizeLots,
    });
  const market = (accountId: string, sizeLots: number) =>
    ex.submitFixedOrder({ accountId, instrumentId, side: 'buy', type: 'market', sizeLots });
  orderFlow(pairs, limit, market, () => ex.drainEvents());
}

/** The flow's venue: paper, BTC at 50,000, maker and taker funded, no account observed. */
export function unobservedExchange(sim: Sim): simModule.SimExchange {
  const ex = new sim.SimExchange(sim.venuePreset('paper'), { observeAccount: () => false });
  ex.setPrices(instrumentId, { markPrice: '50000', indexPrice: '50000' });
  ex.deposit('maker', '1000000000');
  ex.deposit('taker', '1000000000');
  return ex;
}

/**
 * The flow's pattern: per pair a 10-lot resting sell of the maker taken by the taker's market
 * buy, every other pair a 20-lot sell of the taker taken by the maker; `drain` every 256 pairs
 * and at the end (the outbox stays small).
 */
export function orderFlow(
  pairs: number,
  limit: (accountId: string, lots: number) => unknown,
  market: (accountId: string, lots: number) => unknown,
  drain: () => unknown,
): void {
  for (let i = 0; i < pairs; i++) {
    limit('maker', 10);
    market('taker', 10);
    if (i % 2 === 1) {
      limit('taker', 20);
      market('maker', 20);
    }
    if (i % 256 === 0) drain();
  }
  drain();
}
