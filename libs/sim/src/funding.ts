/**
 * Funding: the generic rate formula (see FundingParams) and an exact split of one
 * settlement between payers and receivers.
 *
 * Rounding happens in one place: each payer's payment is rounded half-even to the
 * venue's settlement decimals, and their sum is what receivers share, pro rata to
 * position size, by the largest-remainder method in units of 10^-decimals. So the total
 * paid equals the total received exactly and no house account absorbs a residue.
 */
import { type AccountId, Decimal, ZERO } from '@perpmesh/core';
import type { FundingParams } from './config.js';

function clamp(value: Decimal, bound: Decimal): Decimal {
  if (value.gt(bound)) return bound;
  const low = bound.neg();
  return value.lt(low) ? low : value;
}

/** rate = clamp( round((P + clamp(I - P, ±premiumClamp)) / divisor), ±capPerInterval ). */
export function fundingRate(premiumIndex: Decimal, params: FundingParams): Decimal {
  const inner = clamp(params.interestRate.minus(premiumIndex), params.premiumClamp);
  const raw = premiumIndex
    .plus(inner)
    .div(params.divisor)
    .toDecimalPlaces(params.rateDecimals, Decimal.ROUND_HALF_EVEN);
  return clamp(raw, params.capPerInterval);
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
