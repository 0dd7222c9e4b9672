/**
 * The simulator benches' order flow, shared by bench/sim.bench.ts, bench/sim-ab.ts and
 * bench/sim-match-profile.ts: a maker's resting limit sell (10 lots) taken in full by a market
 * buy, and every other pair a 20-lot sell of the taker taken by the maker; one instrument.
 */
import type * as simModule from '@perpmesh/sim';

type Sim = typeof simModule;

/** The flow in ticks (0.1) and lots (0.001) with no account observed (`submitFixedOrder`). */
export function matchFixedUnobserved(sim: Sim, pairs: number): void {
  const ex = new sim.SimExchange(sim.venuePreset('paper'), { observeAccount: () => false });
  const instrumentId = 'BTC-USDC-PERP';
  ex.setPrices(instrumentId, { markPrice: '50000', indexPrice: '50000' });
  ex.deposit('maker', '1000000000');
  ex.deposit('taker', '1000000000');
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
  for (let i = 0; i < pairs; i++) {
    limit('maker', 10);
    market('taker', 10);
    if (i % 2 === 1) {
      limit('taker', 20);
      market('maker', 20);
    }
    if (i % 256 === 0) ex.drainEvents();
  }
  ex.drainEvents();
}
