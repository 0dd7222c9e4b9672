/**
 * Funding-rate normalization.
 *
 * Venues quote the funding rate as a fraction per THEIR interval (Binance 8 h, 4 h or
 * 1 h per symbol; Hyperliquid, Lighter, Extended 1 h), so rates are only comparable
 * once divided by that interval. We compare per hour and show annualized (x 24 x 365,
 * simple, not compounded).
 *
 * Sign convention (the one every venue uses): a positive rate means longs pay shorts.
 * For a position of signed size `s` (long > 0) at mark price `m`, one settlement pays
 *
 *     payment = -s * m * rate
 *
 * where `payment` is what the account RECEIVES: negative for a long when the rate is
 * positive, positive for a short. This matches position.ts, where funding received is
 * positive.
 */
import { Decimal } from './decimal.js';
import { ValidationError } from './errors.js';

export const MS_PER_HOUR = 3_600_000;
export const HOURS_PER_YEAR = 24 * 365;

/** A funding interval as the venue states it: in hours, or in milliseconds. */
export type FundingInterval = { readonly intervalHours: Decimal | number } | { readonly intervalMs: number };

function requireDecimal(value: unknown, field: string): Decimal {
  if (!(value instanceof Decimal) || !value.isFinite()) {
    throw new ValidationError(field, `must be a finite decimal, got ${String(value)}`);
  }
  return value;
}

function positiveHours(value: Decimal | number, field: string): Decimal {
  const hours =
    value instanceof Decimal
      ? value
      : typeof value === 'number' && Number.isFinite(value)
        ? new Decimal(value)
        : undefined;
  if (hours === undefined || !hours.isFinite() || !hours.gt(0)) {
    throw new ValidationError(field, `must be a positive duration, got ${String(value)}`);
  }
  return hours;
}

/** The interval in hours (exact: `intervalMs / 3_600_000` as a decimal). */
export function fundingIntervalHours(interval: FundingInterval): Decimal {
  return 'intervalMs' in interval
    ? hoursFromMs(interval.intervalMs, 'intervalMs')
    : positiveHours(interval.intervalHours, 'intervalHours');
}

function hoursFromMs(ms: unknown, field: string): Decimal {
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms <= 0) {
    throw new ValidationError(field, `must be a positive integer of milliseconds, got ${String(ms)}`);
  }
  return new Decimal(ms).div(MS_PER_HOUR);
}

/** The venue's rate for its interval, expressed per hour. */
export function fundingRatePerHour(rate: Decimal, interval: FundingInterval): Decimal {
  return requireDecimal(rate, 'rate').div(fundingIntervalHours(interval));
}

/** Simple annualization of an hourly rate (x 8760). */
export function annualizeHourlyRate(ratePerHour: Decimal): Decimal {
  return requireDecimal(ratePerHour, 'ratePerHour').mul(HOURS_PER_YEAR);
}

export interface NormalizedFundingRate {
  readonly ratePerHour: Decimal;
  /** Per 8 hours, the unit many dashboards and venues quote. */
  readonly ratePer8h: Decimal;
  readonly annualized: Decimal;
}

export function normalizeFundingRate(rate: Decimal, interval: FundingInterval): NormalizedFundingRate {
  const ratePerHour = fundingRatePerHour(rate, interval);
  return { ratePerHour, ratePer8h: ratePerHour.mul(8), annualized: annualizeHourlyRate(ratePerHour) };
}

/**
 * What one settlement at `rate` pays the position: `-signedSize * markPrice * rate`.
 * Positive = received (shorts when rate > 0), negative = paid.
 */
export function fundingPayment(signedSize: Decimal, markPrice: Decimal, rate: Decimal): Decimal {
  requireDecimal(signedSize, 'signedSize');
  requireDecimal(markPrice, 'markPrice');
  requireDecimal(rate, 'rate');
  return signedSize.neg().mul(markPrice).mul(rate);
}

/**
 * Expected funding for holding the position for a horizon, at a constant hourly rate and
 * mark: `-signedSize * markPrice * ratePerHour * horizonHours`. An estimate: real funding
 * settles at discrete instants and only positions open at that instant pay or receive.
 */
export function expectedFundingPayment(params: {
  readonly signedSize: Decimal;
  readonly markPrice: Decimal;
  readonly ratePerHour: Decimal;
  readonly horizon: { readonly hours: Decimal | number } | { readonly ms: number };
}): Decimal {
  const horizonHours =
    'ms' in params.horizon
      ? hoursFromMs(params.horizon.ms, 'horizon.ms')
      : positiveHours(params.horizon.hours, 'horizon.hours');
  return fundingPayment(
    params.signedSize,
    params.markPrice,
    requireDecimal(params.ratePerHour, 'ratePerHour').mul(horizonHours),
  );
}
