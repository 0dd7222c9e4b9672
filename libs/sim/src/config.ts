/**
 * Venue and instrument configuration of a simulated venue: named defaults live in
 * presets.ts, and `venueConfig` is the one validating constructor. Rates are fractions
 * (0.0005 = 0.05%), never percents; durations carry their unit in the name.
 */
import {
  Decimal,
  type DecimalInput,
  type InstrumentId,
  isMultipleOf,
  parseDecimal,
  ValidationError,
  type VenueId,
} from '@perpmesh/core';

export interface InstrumentSpec {
  readonly instrumentId: InstrumentId;
  readonly baseAsset: string;
  readonly quoteAsset: string;
  /** Prices are whole multiples of this. */
  readonly tickSize: Decimal;
  /** Sizes are whole multiples of this. */
  readonly lotSize: Decimal;
  /** Smallest order size (a multiple of lotSize; some venues' minimum is several lots). */
  readonly minSize: Decimal;
  /** Smallest order notional (size * price) in the settle asset; reduce-only orders are exempt. */
  readonly minNotional: Decimal;
  readonly maxOrderSize: Decimal;
  /** Whole number, e.g. 125 for 125x. */
  readonly maxLeverage: number;
  /** Maintenance margin as a fraction of notional at mark (0.004 = 0.40%). */
  readonly maintenanceMarginRate: Decimal;
}

/**
 * One generic funding formula covers the venues of VENUES.md:
 *
 *   rate = clamp( (P + clamp(I - P, -premiumClamp, +premiumClamp)) / divisor, -cap, +cap )
 *
 * with P the time-weighted premium index (mark - index) / index over the interval and
 * I the interest rate. Binance-like: divisor 1 on an 8 h interval. Lighter / Hyperliquid:
 * an 8 h-equivalent rate paid 1/8 hourly, divisor 8. Extended: I = 0 and premiumClamp = 0
 * reduce it to clamp(P / 8, ±cap). The rate is rounded half-even to `rateDecimals`.
 */
export interface FundingParams {
  readonly intervalMs: number;
  /** I, for the premium's own horizon (8 h-equivalent when divisor is 8). */
  readonly interestRate: Decimal;
  readonly premiumClamp: Decimal;
  readonly divisor: Decimal;
  /** Largest |rate| paid in one interval. */
  readonly capPerInterval: Decimal;
  readonly rateDecimals: number;
}

export interface VenueConfig {
  readonly venueId: VenueId;
  /** The asset collateral, PnL, fees and funding are counted in. */
  readonly settleAsset: string;
  /** Negative = rebate. */
  readonly makerFeeRate: Decimal;
  readonly takerFeeRate: Decimal;
  readonly funding: FundingParams;
  /** Charged on the notional at mark of liquidated positions, paid to the insurance account. */
  readonly liquidationFeeRate: Decimal;
  /** Market orders never fill further than this fraction from mark (0.05 = 5%). */
  readonly marketProtectionBand: Decimal;
  /** Leverage of an instrument until the account sets its own (capped by maxLeverage). */
  readonly defaultLeverage: number;
  /** Lighter-style: each (account, apiKey) must send strictly increasing nonces. */
  readonly requireIncreasingNonce: boolean;
  /** Lighter-style: a client order id already used by one of the account's known orders is rejected. */
  readonly rejectDuplicateClientOrderId: boolean;
  /** Decimal places of fees, funding payments and liquidation fees in the settle asset. */
  readonly settlementDecimals: number;
  /** How many closed orders stay queryable (and count for duplicate client order ids). */
  readonly closedOrderRetention: number;
  readonly instruments: readonly InstrumentSpec[];
}

type Inputs<T> = {
  [K in keyof T]?: T[K] extends Decimal
    ? DecimalInput
    : T[K] extends readonly (infer U)[]
      ? readonly Inputs<U>[]
      : T[K] extends object
        ? Inputs<T[K]>
        : T[K];
};
export type InstrumentSpecInput = Inputs<InstrumentSpec>;
export type FundingParamsInput = Inputs<FundingParams>;
export type VenueConfigInput = Inputs<VenueConfig>;

function need<T>(value: T | undefined, field: string): T {
  if (value === undefined || value === null) throw new ValidationError(field, 'is required');
  return value;
}

function decimalAt(value: unknown, field: string, rule: 'any' | 'positive' | 'non-negative'): Decimal {
  const d = parseDecimal(need(value, field), field);
  if (rule === 'positive' && !d.gt(0)) throw new ValidationError(field, `must be > 0, got ${d.toFixed()}`);
  if (rule === 'non-negative' && d.isNeg())
    throw new ValidationError(field, `must be >= 0, got ${d.toFixed()}`);
  return d;
}

function intAt(value: unknown, field: string, min: number, max: number): number {
  const n = need(value, field);
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ValidationError(field, `must be an integer in [${min}, ${max}], got ${JSON.stringify(n)}`);
  }
  return n;
}

function boolAt(value: unknown, field: string): boolean {
  const b = need(value, field);
  if (typeof b !== 'boolean')
    throw new ValidationError(field, `must be true or false, got ${JSON.stringify(b)}`);
  return b;
}

function stringAt(value: unknown, field: string): string {
  const s = need(value, field);
  if (typeof s !== 'string' || s.length === 0) throw new ValidationError(field, `must be a non-empty string`);
  return s;
}

export function instrumentSpec(input: InstrumentSpecInput, path = 'instrument'): InstrumentSpec {
  const instrumentId = stringAt(input.instrumentId, `${path}.instrumentId`);
  if (!/^[A-Z0-9]+-[A-Z0-9]+-PERP$/.test(instrumentId)) {
    throw new ValidationError(
      `${path}.instrumentId`,
      `must look like BASE-QUOTE-PERP, got ${JSON.stringify(instrumentId)}`,
    );
  }
  const [base, quote] = instrumentId.split('-') as [string, string];
  const lotSize = decimalAt(input.lotSize, `${path}.lotSize`, 'positive');
  const minSize =
    input.minSize === undefined ? lotSize : decimalAt(input.minSize, `${path}.minSize`, 'positive');
  if (!isMultipleOf(minSize, lotSize)) {
    throw new ValidationError(
      `${path}.minSize`,
      `${minSize.toFixed()} is not a multiple of lot ${lotSize.toFixed()}`,
    );
  }
  const maxOrderSize = decimalAt(input.maxOrderSize, `${path}.maxOrderSize`, 'positive');
  if (maxOrderSize.lt(minSize)) {
    throw new ValidationError(
      `${path}.maxOrderSize`,
      `${maxOrderSize.toFixed()} is below minSize ${minSize.toFixed()}`,
    );
  }
  const mmr = decimalAt(input.maintenanceMarginRate, `${path}.maintenanceMarginRate`, 'positive');
  const maxLeverage = intAt(input.maxLeverage, `${path}.maxLeverage`, 1, 1000);
  // Maintenance must sit below initial margin at max leverage, or a fresh max-leverage position would be liquidatable.
  if (!mmr.lt(new Decimal(1).div(maxLeverage))) {
    throw new ValidationError(
      `${path}.maintenanceMarginRate`,
      `${mmr.toFixed()} must be below 1/maxLeverage (${maxLeverage}x)`,
    );
  }
  return {
    instrumentId,
    baseAsset: input.baseAsset === undefined ? base : stringAt(input.baseAsset, `${path}.baseAsset`),
    quoteAsset: input.quoteAsset === undefined ? quote : stringAt(input.quoteAsset, `${path}.quoteAsset`),
    tickSize: decimalAt(input.tickSize, `${path}.tickSize`, 'positive'),
    lotSize,
    minSize,
    minNotional: decimalAt(input.minNotional, `${path}.minNotional`, 'non-negative'),
    maxOrderSize,
    maxLeverage,
    maintenanceMarginRate: mmr,
  };
}

export function fundingParams(input: FundingParamsInput, path = 'funding'): FundingParams {
  return {
    intervalMs: intAt(input.intervalMs, `${path}.intervalMs`, 1000, 7 * 24 * 3_600_000),
    interestRate: decimalAt(input.interestRate, `${path}.interestRate`, 'any'),
    premiumClamp: decimalAt(input.premiumClamp, `${path}.premiumClamp`, 'non-negative'),
    divisor: decimalAt(input.divisor, `${path}.divisor`, 'positive'),
    capPerInterval: decimalAt(input.capPerInterval, `${path}.capPerInterval`, 'positive'),
    rateDecimals: intAt(input.rateDecimals, `${path}.rateDecimals`, 4, 18),
  };
}

/** Validates a full venue config; errors name the dotted field (`venue.instruments[1].tickSize`). */
export function venueConfig(input: VenueConfigInput, path = 'venue'): VenueConfig {
  const venueId = stringAt(input.venueId, `${path}.venueId`);
  const instrumentsInput = need(input.instruments, `${path}.instruments`);
  if (!Array.isArray(instrumentsInput) || instrumentsInput.length === 0) {
    throw new ValidationError(`${path}.instruments`, 'must list at least one instrument');
  }
  const instruments = instrumentsInput.map((i, n) => instrumentSpec(i, `${path}.instruments[${n}]`));
  const seen = new Set<string>();
  instruments.forEach((i, n) => {
    if (seen.has(i.instrumentId)) {
      throw new ValidationError(`${path}.instruments[${n}].instrumentId`, `duplicate ${i.instrumentId}`);
    }
    seen.add(i.instrumentId);
  });
  const maxOfMax = Math.max(...instruments.map((i) => i.maxLeverage));
  return {
    venueId,
    settleAsset:
      input.settleAsset === undefined ? 'USDC' : stringAt(input.settleAsset, `${path}.settleAsset`),
    makerFeeRate: decimalAt(input.makerFeeRate, `${path}.makerFeeRate`, 'any'),
    takerFeeRate: decimalAt(input.takerFeeRate, `${path}.takerFeeRate`, 'non-negative'),
    funding: fundingParams(need(input.funding, `${path}.funding`), `${path}.funding`),
    liquidationFeeRate: decimalAt(input.liquidationFeeRate, `${path}.liquidationFeeRate`, 'non-negative'),
    marketProtectionBand: decimalAt(input.marketProtectionBand, `${path}.marketProtectionBand`, 'positive'),
    defaultLeverage: intAt(input.defaultLeverage, `${path}.defaultLeverage`, 1, maxOfMax),
    requireIncreasingNonce: boolAt(input.requireIncreasingNonce, `${path}.requireIncreasingNonce`),
    rejectDuplicateClientOrderId: boolAt(
      input.rejectDuplicateClientOrderId,
      `${path}.rejectDuplicateClientOrderId`,
    ),
    settlementDecimals: intAt(input.settlementDecimals, `${path}.settlementDecimals`, 0, 18),
    closedOrderRetention: intAt(input.closedOrderRetention, `${path}.closedOrderRetention`, 0, 10_000_000),
    instruments,
  };
}
