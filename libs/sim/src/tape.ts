/**
 * A recorded market on a simulated venue: instead of the synthetic index, basis, market
 * maker and noise (a world with `market: 'tape'` runs none of them), the recorded books
 * and prices are put on the venue as they were seen. Each recorded book replaces the
 * liquidity of one tape account (`bg:tape`), level by level, as resting GTC orders; each
 * recorded mark and index is set as the venue's prices. Orders of other accounts then
 * match against the recorded liquidity through the same matching, fees, margin and
 * funding as on the synthetic market.
 */
import { type BookLevel, Decimal, type DecimalInput, type InstrumentId } from '@perpmesh/core';
import type { SimExchange } from './exchange.js';

/** The account that rests a tape's recorded book levels on a venue. */
export const TAPE_ACCOUNT_ID = 'bg:tape';

/** What putting one recorded book on the venue did. */
export interface TapeBookResult {
  readonly placed: number;
  /** Levels the venue refused (off its tick or lot grid, below its minimums, margin). */
  readonly refused: number;
}

export class TapeLiquidity {
  readonly #collateral: Decimal;
  /** Strict-nonce venues: the tape account signs with its own counter. */
  #nonce = 0;
  readonly #funded = new WeakSet<SimExchange>();

  /** `collateral`: what the tape account holds per venue, enough to rest any recorded book. */
  constructor(collateral: DecimalInput = '1000000000000') {
    this.#collateral = new Decimal(collateral.toString());
  }

  #auth(exchange: SimExchange): { apiKey?: string; nonce?: number } {
    if (!exchange.config.requireIncreasingNonce) return {};
    this.#nonce += 1;
    return { apiKey: 'tape', nonce: this.#nonce };
  }

  #fund(exchange: SimExchange): void {
    if (this.#funded.has(exchange)) return;
    exchange.deposit(TAPE_ACCOUNT_ID, this.#collateral);
    this.#funded.add(exchange);
  }

  /** Sets the venue's mark and index to the recorded ones. */
  prices(exchange: SimExchange, instrumentId: InstrumentId, markPrice: Decimal, indexPrice: Decimal): void {
    exchange.setPrices(instrumentId, { markPrice, indexPrice });
  }

  /** Replaces the tape account's resting orders on `instrumentId` with the recorded levels. */
  book(
    exchange: SimExchange,
    instrumentId: InstrumentId,
    bids: readonly BookLevel[],
    asks: readonly BookLevel[],
  ): TapeBookResult {
    this.#fund(exchange);
    let placed = 0;
    let refused = 0;
    exchange.batch(() => {
      exchange.cancelAllQuietly({ accountId: TAPE_ACCOUNT_ID, instrumentId, ...this.#auth(exchange) });
      for (const [side, levels] of [
        ['buy', bids],
        ['sell', asks],
      ] as const) {
        for (const level of levels) {
          const result = exchange.submitOrder({
            accountId: TAPE_ACCOUNT_ID,
            instrumentId,
            side,
            type: 'limit',
            timeInForce: 'gtc',
            price: level.price,
            size: level.size,
            ...this.#auth(exchange),
          });
          if (result.ok) placed += 1;
          else refused += 1;
        }
      }
    });
    return { placed, refused };
  }
}
