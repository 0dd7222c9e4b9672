/**
 * An order's size, price and fee as the integer asset amounts Extended settles in, and its
 * settlement expiration. The rounding always favours the venue: a buyer pays the rounded-up
 * quote, a seller receives the truncated one, the fee is rounded up (the rules of
 * Extended's own SDK).
 */
import { Decimal, parseDecimal, parsePositiveDecimal, ValidationError } from '@perpmesh/core';
import { parseInteger } from './felt.js';

export type SettlementSide = 'buy' | 'sell';

export interface SettlementAmountsInput {
  readonly side: SettlementSide;
  /** Size in the synthetic asset (decimal text or Decimal). */
  readonly qty: Decimal | string;
  /** Limit price in collateral per synthetic. */
  readonly price: Decimal | string;
  /** Fee rate as a fraction of the notional (taker plus builder fee), e.g. "0.0005". */
  readonly totalFee: Decimal | string;
  /** Units of the synthetic asset per 1 (l2Config.syntheticResolution). */
  readonly syntheticResolution: number | bigint | string;
  /** Units of the collateral asset per 1 (l2Config.collateralResolution). */
  readonly collateralResolution: number | bigint | string;
}

export interface SettlementAmounts {
  /** Synthetic units, negative for a sell. */
  readonly baseAmount: bigint;
  /** Collateral units, negative for a buy. */
  readonly quoteAmount: bigint;
  /** Collateral units, never negative. */
  readonly feeAmount: bigint;
}

export const SETTLEMENT_EXPIRATION_BUFFER_SECONDS = 14 * 24 * 60 * 60;

function resolution(value: unknown, field: string): Decimal {
  const n = parseInteger(value, field);
  if (n <= 0n) throw new ValidationError(field, `must be a positive integer, got ${n}`);
  return new Decimal(n.toString());
}

function toUnits(value: Decimal, mode: typeof Decimal.ROUND_CEIL | typeof Decimal.ROUND_FLOOR): bigint {
  return BigInt(value.toDecimalPlaces(0, mode).toFixed(0));
}

export function settlementAmounts(input: SettlementAmountsInput): SettlementAmounts {
  if (input.side !== 'buy' && input.side !== 'sell') {
    throw new ValidationError('side', `must be "buy" or "sell", got ${JSON.stringify(input.side)}`);
  }
  const qty = parsePositiveDecimal(input.qty, 'qty');
  const price = parsePositiveDecimal(input.price, 'price');
  const totalFee = parseDecimal(input.totalFee, 'totalFee');
  if (totalFee.lt(0))
    throw new ValidationError('totalFee', `must not be negative, got ${totalFee.toFixed()}`);
  const synthetic = resolution(input.syntheticResolution, 'syntheticResolution');
  const collateral = resolution(input.collateralResolution, 'collateralResolution');

  const isBuy = input.side === 'buy';
  const rounding = isBuy ? Decimal.ROUND_CEIL : Decimal.ROUND_FLOOR;
  const notionalUnits = qty.mul(price).mul(collateral);
  const base = toUnits(qty.mul(synthetic), rounding);
  const quote = toUnits(notionalUnits, rounding);
  const fee = toUnits(totalFee.mul(notionalUnits), Decimal.ROUND_CEIL);
  return isBuy
    ? { baseAmount: base, quoteAmount: -quote, feeAmount: fee }
    : { baseAmount: -base, quoteAmount: quote, feeAmount: fee };
}

/** The settlement's expiration in Unix seconds: the order's expiry rounded up, plus 14 days. */
export function settlementExpirationSeconds(expiryEpochMillis: number | bigint | string): bigint {
  const ms = parseInteger(expiryEpochMillis, 'expiryEpochMillis');
  if (ms <= 0n) throw new ValidationError('expiryEpochMillis', `must be positive, got ${ms}`);
  return (ms + 999n) / 1000n + BigInt(SETTLEMENT_EXPIRATION_BUFFER_SECONDS);
}
