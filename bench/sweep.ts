/**
 * The tick -> order bench's book change, sized from the book it sweeps (pure).
 *
 * The simulated market maker quotes 10 levels a side, 1 bp apart, each level larger than the
 * one before it and randomized (libs/sim world.ts `requote`). A fixed sweep size therefore
 * moves the mid by a varying amount: 2.4 BTC (session 6's sweep) moved it 2.0-3.5 bps, p50
 * 2.5, against the scalper's 2.5 bps threshold (a quarter of the sweeps below it). Sizing the
 * sweep from the book makes every sample the same book change: the mid moves by at least the
 * asked bps.
 */
import { Decimal, type Side } from '@perpmesh/core';

export interface SweptLevel {
  readonly price: Decimal;
  readonly size: Decimal;
}

export interface SweepBook {
  /** Best first. */
  readonly bids: readonly SweptLevel[];
  readonly asks: readonly SweptLevel[];
}

export interface SweepPlan {
  /** What the market order takes: the whole size of the levels it empties. */
  readonly size: Decimal;
  /** Levels it empties. */
  readonly levels: number;
  /** The mid's move once they are gone, in bps of the mid before. */
  readonly moveBps: Decimal;
}

const BPS = new Decimal(10_000);

/** The book's mid (best bid + best ask) / 2; undefined when a side is empty. */
export function midOfBook(book: SweepBook): Decimal | undefined {
  const bid = book.bids[0];
  const ask = book.asks[0];
  return bid && ask ? bid.price.plus(ask.price).div(2) : undefined;
}

/** (after / before - 1) in bps, signed. */
export function bpsMove(before: Decimal, after: Decimal): Decimal {
  return after.div(before).minus(1).mul(BPS);
}

/**
 * The market order on `side` that moves the mid by at least `moveBps`: it takes whole levels
 * from the best one until the best level left is far enough (a buy takes asks, a sell bids).
 * A side too thin for that (noise orders took levels the market maker has not refilled yet)
 * gets the largest move it can give while one level stays (a market order emptying the side
 * leaves no mid); `moveBps` of the plan says what it gives. Refuses a book without a mid or
 * with one level on the side.
 */
export function planSweep(book: SweepBook, side: Side, moveBps: Decimal): SweepPlan {
  if (!moveBps.gt(0)) throw new Error(`moveBps: must be > 0, got ${moveBps.toFixed()}`);
  const mid = midOfBook(book);
  if (mid === undefined) throw new Error('book: needs a bid and an ask to have a mid');
  const levels = side === 'buy' ? book.asks : book.bids;
  if (levels.length < 2) throw new Error(`book: one ${side === 'buy' ? 'ask' : 'bid'} cannot move the mid`);
  const best = (levels[0] as SweptLevel).price;
  let size = new Decimal(0);
  let move = new Decimal(0);
  let taken = 0;
  for (; taken < levels.length; taken++) {
    const left = levels[taken] as SweptLevel;
    // The other side stays: the mid moves by half the distance the best level moves.
    move = left.price.minus(best).abs().div(2).div(mid).mul(BPS);
    if (move.gte(moveBps) || taken === levels.length - 1) break;
    size = size.plus(left.size);
  }
  return { size, levels: taken, moveBps: move };
}
