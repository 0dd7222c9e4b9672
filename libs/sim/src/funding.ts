/**
 * Funding: the generic rate formula (see FundingParams), the time-weighted premium it
 * reads, and an exact split of one settlement between payers and receivers.
 *
 * The premium and the rate run every step and instrument, so they are computed in
 * decimal60.ts: bigint values rounded to 60 significant digits half-even after every
 * operation, exactly as the Decimals of the same formulas are (the core's precision and
 * rounding), so every rate is the one the Decimal formulas give, byte for byte.
 *
 * Rounding happens in one place: each payer's payment is rounded half-even to the
 * venue's settlement decimals, and their sum is what receivers share, pro rata to
 * position size, by the largest-remainder method in units of 10^-decimals. So the total
 * paid equals the total received exactly and no house account absorbs a residue.
 */
import { type AccountId, Decimal, type EpochMs, ZERO } from '@perpmesh/core';
import type { FundingParams } from './config.js';
import {
  add,
  cmp,
  DEC60_ZERO,
  type Dec60,
  div,
  fromDecimal,
  fromInteger,
  mul,
  sub,
  toDecimal,
  toPlacesHalfEven,
} from './decimal60.js';

function clamp(value: Dec60, low: Dec60, high: Dec60): Dec60 {
  if (cmp(value, high) > 0) return high;
  return cmp(value, low) < 0 ? low : value;
}

interface FixedFundingParams {
  readonly interestRate: Dec60;
  readonly premiumClamp: Dec60;
  readonly premiumClampLow: Dec60;
  readonly divisor: Dec60;
  readonly cap: Dec60;
  readonly capLow: Dec60;
  readonly rateDecimals: number;
}

const fixedParams = new WeakMap<FundingParams, FixedFundingParams>();

function fixedParamsOf(params: FundingParams): FixedFundingParams {
  let fixed = fixedParams.get(params);
  if (fixed === undefined) {
    const premiumClamp = fromDecimal(params.premiumClamp);
    const cap = fromDecimal(params.capPerInterval);
    fixed = {
      interestRate: fromDecimal(params.interestRate),
      premiumClamp,
      // The Decimal formula's lower bound is bound.neg(): zero's is negative zero.
      premiumClampLow: fromDecimal(params.premiumClamp.neg()),
      divisor: fromDecimal(params.divisor),
      cap,
      capLow: fromDecimal(params.capPerInterval.neg()),
      rateDecimals: params.rateDecimals,
    };
    fixedParams.set(params, fixed);
  }
  return fixed;
}

/** `fundingRate` in decimal60 values (the same operations, the same roundings). */
export function fundingRateFixed(premiumIndex: Dec60, params: FundingParams): Dec60 {
  const p = fixedParamsOf(params);
  const inner = clamp(sub(p.interestRate, premiumIndex), p.premiumClampLow, p.premiumClamp);
  const raw = toPlacesHalfEven(div(add(premiumIndex, inner), p.divisor), p.rateDecimals);
  return clamp(raw, p.capLow, p.cap);
}

/** rate = clamp( round((P + clamp(I - P, ±premiumClamp)) / divisor), ±capPerInterval ). */
export function fundingRate(premiumIndex: Decimal, params: FundingParams): Decimal {
  return toDecimal(fundingRateFixed(fromDecimal(premiumIndex), params));
}

/**
 * The premium index of a running funding interval: premium = (mark - index) / index,
 * integrated over time (premium x ms, summed) and divided by the ms accrued. Each
 * operation is the Decimal formula's, rounded as the Decimal is (decimal60.ts).
 */
export class PremiumIndex {
  #integral: Dec60 = DEC60_ZERO;
  #ms = 0;
  #sinceMs: EpochMs;
  #mark: Decimal | undefined;
  #index: Decimal | undefined;
  /** The premium of `#mark` and `#index`, once asked. */
  #premium: Dec60 | undefined;

  constructor(sinceMs: EpochMs) {
    this.#sinceMs = sinceMs;
  }

  /** New prices from the accrual point on (accrue up to now first). */
  setPrices(mark: Decimal, index: Decimal): void {
    this.#mark = mark;
    this.#index = index;
    this.#premium = undefined;
  }

  /** The premium of the current prices; undefined before the first. */
  premium(): Dec60 | undefined {
    if (this.#premium === undefined && this.#mark !== undefined && this.#index !== undefined) {
      const index = fromDecimal(this.#index);
      this.#premium = div(sub(fromDecimal(this.#mark), index), index);
    }
    return this.#premium;
  }

  /** Adds the current premium, held since the last accrual, to the interval's time-weighted sum. */
  accrue(untilMs: EpochMs): void {
    const dt = untilMs - this.#sinceMs;
    const premium = dt > 0 ? this.premium() : undefined;
    if (premium !== undefined) {
      this.#integral = add(this.#integral, mul(premium, fromInteger(dt)));
      this.#ms += dt;
    }
    this.#sinceMs = untilMs;
  }

  /** The interval's time-weighted premium; the current premium when no time accrued yet. */
  value(): Dec60 | undefined {
    if (this.#ms > 0) return div(this.#integral, fromInteger(this.#ms));
    return this.premium();
  }

  /** A new interval (after a settlement). */
  reset(): void {
    this.#integral = DEC60_ZERO;
    this.#ms = 0;
  }
}

export interface FundingHolder {
  readonly accountId: AccountId;
  /** Signed position size at the settlement instant. */
  readonly size: Decimal;
}

export interface FundingShare {
  readonly accountId: AccountId;
  /** Positive = received, negative = paid. */
  readonly amount: Decimal;
}

/**
 * Payments of one settlement. Longs pay shorts when `rate` > 0, shorts pay longs when
 * < 0; each payer pays |size| x mark x |rate|. Holders are processed in the given order,
 * which also breaks ties between equal remainders, so the result is deterministic.
 */
export function splitFunding(
  holders: readonly FundingHolder[],
  markPrice: Decimal,
  rate: Decimal,
  settlementDecimals: number,
): { shares: FundingShare[]; totalPaid: Decimal } {
  const active = holders.filter((h) => !h.size.isZero());
  if (rate.isZero() || active.length === 0) return { shares: [], totalPaid: ZERO };
  const longsPay = rate.isPos();
  const payers = active.filter((h) => h.size.isPos() === longsPay);
  const receivers = active.filter((h) => h.size.isPos() !== longsPay);
  const receiverSize = receivers.reduce((s, h) => s.plus(h.size.abs()), ZERO);
  // Positions always net to zero on a venue, so payers imply receivers; guard anyway.
  if (payers.length === 0 || receiverSize.isZero()) return { shares: [], totalPaid: ZERO };

  const shares: FundingShare[] = [];
  let totalPaid = ZERO;
  for (const h of payers) {
    const paid = h.size
      .abs()
      .mul(markPrice)
      .mul(rate.abs())
      .toDecimalPlaces(settlementDecimals, Decimal.ROUND_HALF_EVEN);
    totalPaid = totalPaid.plus(paid);
    shares.push({ accountId: h.accountId, amount: paid.neg() });
  }
  const unit = new Decimal(1).div(new Decimal(10).pow(settlementDecimals));
  const totalUnits = totalPaid.div(unit);
  const exact = receivers.map((h) => totalUnits.mul(h.size.abs()).div(receiverSize));
  const units = exact.map((u) => u.floor());
  let leftover = totalUnits.minus(units.reduce((s, u) => s.plus(u), ZERO)).toNumber();
  // Largest remainder first; equal remainders keep holder order (stable sort).
  const order = exact
    .map((u, i) => ({ i, frac: u.minus(units[i] as Decimal) }))
    .sort((a, b) => b.frac.comparedTo(a.frac));
  for (const { i } of order) {
    if (leftover <= 0) break;
    units[i] = (units[i] as Decimal).plus(1);
    leftover -= 1;
  }
  receivers.forEach((h, i) => {
    shares.push({ accountId: h.accountId, amount: (units[i] as Decimal).mul(unit) });
  });
  return { shares, totalPaid };
}
