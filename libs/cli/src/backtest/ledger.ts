/**
 * The backtest's books: what the strategy's orders cost and earned, split by cause.
 * Pure (no sim, no clock): the engine reports orders, fills, funding, exposure and equity
 * to it; `summary()` is the result. Every amount is a Decimal in the settle currency.
 *
 * - fees: what fills paid (negative = rebates earned), charged by the sim venue;
 * - funding: settled funding payments (positive = received);
 * - slippage: per fill, how much worse than the mid at the moment the order was placed;
 * - price/basis: the rest of the net PnL (marks moving, basis between venues converging).
 */
import { Decimal } from '@perpmesh/core';

const ZERO = new Decimal(0);

export interface LedgerFill {
  readonly side: 'buy' | 'sell';
  readonly price: Decimal;
  readonly size: Decimal;
  /** Positive = paid. */
  readonly fee: Decimal;
  /** Mid of the venue's book when the order was placed; undefined: no two-sided book then. */
  readonly midAtPlace: Decimal | undefined;
}

export interface EquityPoint {
  readonly tMs: number;
  readonly equity: Decimal;
}

export interface BacktestSummary {
  readonly startMs: number;
  readonly endMs: number;
  readonly startEquity: Decimal;
  readonly endEquity: Decimal;
  readonly netPnl: Decimal;
  readonly funding: Decimal;
  readonly priceAndBasis: Decimal;
  /** Negative: paid. */
  readonly fees: Decimal;
  /** Negative: paid. */
  readonly slippage: Decimal;
  /** Largest fall of equity from a previous high, and as a fraction of that high. */
  readonly maxDrawdown: Decimal;
  readonly maxDrawdownFraction: Decimal;
  /** Time with a net (unhedged) position across venues in some instrument. */
  readonly oneLeggedMs: number;
  /** Integral of |net position| x mark over that time (notional-seconds), and its peak. */
  readonly oneLeggedNotionalSeconds: Decimal;
  readonly maxOneLeggedNotional: Decimal;
  readonly orders: number;
  readonly fills: number;
  readonly rejects: number;
  readonly cancels: number;
  readonly fundingPayments: number;
  readonly decisions: number;
}

export class BacktestLedger {
  #fees = ZERO;
  #funding = ZERO;
  #slippageCost = ZERO;
  #orders = 0;
  #fills = 0;
  #rejects = 0;
  #cancels = 0;
  #fundingPayments = 0;
  #decisions = 0;
  #oneLeggedMs = 0;
  #oneLeggedNotionalSeconds = ZERO;
  #maxOneLegged = ZERO;
  #start: EquityPoint | undefined;
  #last: EquityPoint | undefined;
  #peak = ZERO;
  #maxDrawdown = ZERO;
  #maxDrawdownFraction = ZERO;

  order(): void {
    this.#orders += 1;
  }
  reject(): void {
    this.#rejects += 1;
  }
  cancel(): void {
    this.#cancels += 1;
  }
  decisions(count: number): void {
    this.#decisions += count;
  }

  fill(f: LedgerFill): void {
    this.#fills += 1;
    this.#fees = this.#fees.plus(f.fee);
    if (f.midAtPlace !== undefined) {
      const worse = f.side === 'buy' ? f.price.minus(f.midAtPlace) : f.midAtPlace.minus(f.price);
      this.#slippageCost = this.#slippageCost.plus(worse.mul(f.size));
    }
  }

  fundingPayment(amount: Decimal): void {
    this.#fundingPayments += 1;
    this.#funding = this.#funding.plus(amount);
  }

  /** `netNotional`: sum over instruments of |net position across venues| x mark, held for `durationMs`. */
  exposure(netNotional: Decimal, durationMs: number): void {
    if (netNotional.isZero()) return;
    this.#oneLeggedMs += durationMs;
    this.#oneLeggedNotionalSeconds = this.#oneLeggedNotionalSeconds.plus(
      netNotional.mul(durationMs).div(1000),
    );
    if (netNotional.gt(this.#maxOneLegged)) this.#maxOneLegged = netNotional;
  }

  equity(point: EquityPoint): void {
    if (this.#start === undefined) {
      this.#start = point;
      this.#peak = point.equity;
    }
    this.#last = point;
    if (point.equity.gt(this.#peak)) this.#peak = point.equity;
    const drawdown = this.#peak.minus(point.equity);
    if (drawdown.gt(this.#maxDrawdown)) {
      this.#maxDrawdown = drawdown;
      this.#maxDrawdownFraction = this.#peak.gt(0) ? drawdown.div(this.#peak) : ZERO;
    }
  }

  summary(): BacktestSummary {
    const start = this.#start ?? { tMs: 0, equity: ZERO };
    const end = this.#last ?? start;
    const netPnl = end.equity.minus(start.equity);
    const fees = this.#fees.neg();
    const slippage = this.#slippageCost.neg();
    return {
      startMs: start.tMs,
      endMs: end.tMs,
      startEquity: start.equity,
      endEquity: end.equity,
      netPnl,
      funding: this.#funding,
      priceAndBasis: netPnl.minus(this.#funding).minus(fees).minus(slippage),
      fees,
      slippage,
      maxDrawdown: this.#maxDrawdown,
      maxDrawdownFraction: this.#maxDrawdownFraction,
      oneLeggedMs: this.#oneLeggedMs,
      oneLeggedNotionalSeconds: this.#oneLeggedNotionalSeconds,
      maxOneLeggedNotional: this.#maxOneLegged,
      orders: this.#orders,
      fills: this.#fills,
      rejects: this.#rejects,
      cancels: this.#cancels,
      fundingPayments: this.#fundingPayments,
      decisions: this.#decisions,
    };
  }
}
