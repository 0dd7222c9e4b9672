/**
 * Exact fixed-point quantities of one instrument, as the matching engine keeps them:
 * prices as whole ticks and sizes as whole lots (safe integers), notionals (lots x ticks)
 * as bigint in units of tickSize x lotSize. Decimals exist only at the edges (requests,
 * events, views, margin), converted here and nowhere else. Every conversion is exact:
 * a value that is not a whole number of ticks or lots, or too large for a safe integer,
 * converts to NaN and the caller refuses it.
 */
import { Decimal, roundToStep, ValidationError, ZERO } from '@perpmesh/core';
import type { InstrumentSpec } from './config.js';
import { floatTextUnits } from './decimal60.js';

export class InstrumentScale {
  readonly tickSize: Decimal;
  readonly lotSize: Decimal;
  /** tickSize x lotSize: the unit of a notional in lots x ticks. */
  readonly notionalUnit: Decimal;
  /** The largest order size in whole lots. */
  readonly maxSizeLots: number;
  /**
   * The minimum size in lots and the minimum notional in units, rounded up: an order of
   * whole lots (and ticks) meets a minimum exactly when it reaches these. 0 = no minimum;
   * undefined = not an exact threshold (then only the Decimal check decides).
   */
  readonly minSizeLots: number | undefined;
  readonly minNotionalUnits: bigint | undefined;
  private readonly tickDecimals: number | undefined;
  private readonly lotDecimals: number | undefined;
  /** The Decimals of recent prices and sizes: a level's price and a common size recur (`RecentDecimals`). */
  readonly #prices = new RecentDecimals();
  readonly #sizes = new RecentDecimals();

  constructor(spec: InstrumentSpec) {
    this.tickSize = spec.tickSize;
    this.lotSize = spec.lotSize;
    this.tickDecimals = powerOfTenDecimals(spec.tickSize);
    this.lotDecimals = powerOfTenDecimals(spec.lotSize);
    this.notionalUnit = spec.tickSize.mul(spec.lotSize);
    this.maxSizeLots = this.lotsOf(spec.maxOrderSize);
    // The largest order must be a safe number of lots (book totals add up resting orders).
    if (!Number.isSafeInteger(this.maxSizeLots)) {
      throw new ValidationError(
        'maxOrderSize',
        `${spec.instrumentId}: ${spec.maxOrderSize.toFixed()} is not a whole number of lots ${spec.lotSize.toFixed()} below 2^53`,
      );
    }
    const minSizeLots = ceilMultiple(spec.minSize, spec.lotSize);
    this.minSizeLots =
      minSizeLots !== undefined && minSizeLots <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(minSizeLots)
        : undefined;
    this.minNotionalUnits = ceilMultiple(spec.minNotional, this.notionalUnit);
  }

  /** The price in whole ticks; NaN when it is not a whole, safe number of ticks. */
  ticksOf(price: Decimal): number {
    return wholeMultiple(price, this.tickSize, this.tickDecimals);
  }

  /** The size in whole lots; NaN when it is not a whole, safe number of lots. */
  lotsOf(size: Decimal): number {
    return wholeMultiple(size, this.lotSize, this.lotDecimals);
  }

  /** Core's `roundToStep` to the tick (the same value; for a tick of 10^-k a rounding to k places, no division). */
  roundToTick(value: Decimal, mode: RoundMode): Decimal {
    return roundToGrid(value, this.tickSize, this.tickDecimals, mode);
  }

  /** Core's `roundToStep` to the lot (the same value, as `roundToTick`). */
  roundToLot(value: Decimal, mode: RoundMode): Decimal {
    return roundToGrid(value, this.lotSize, this.lotDecimals, mode);
  }

  price(ticks: number): Decimal {
    return this.#prices.get(ticks) ?? this.#prices.set(ticks, this.tickSize.mul(ticks));
  }

  size(lots: number): Decimal {
    if (lots === 0) return ZERO;
    return this.#sizes.get(lots) ?? this.#sizes.set(lots, this.lotSize.mul(lots));
  }

  notional(units: bigint): Decimal {
    return units === 0n ? ZERO : this.notionalUnit.mul(units.toString());
  }
}

/**
 * The last Decimal built for each of a few whole numbers (direct-mapped: slot = n mod 256; a
 * new number takes its slot). Decimals are immutable, so one object can stand for its value
 * wherever it is read; equal values being the same object only makes identity-keyed caches
 * (margin parts) hit more often, with the same results.
 */
export class RecentDecimals {
  readonly #keys: number[] = new Array<number>(RECENT_SLOTS).fill(Number.NaN);
  readonly #values: (Decimal | undefined)[] = new Array<Decimal | undefined>(RECENT_SLOTS).fill(undefined);

  /** The Decimal kept for `n` (a safe integer), if any. */
  get(n: number): Decimal | undefined {
    const slot = n & (RECENT_SLOTS - 1);
    return this.#keys[slot] === n ? this.#values[slot] : undefined;
  }

  /** Keeps `value` for `n` and returns it. */
  set(n: number, value: Decimal): Decimal {
    const slot = n & (RECENT_SLOTS - 1);
    this.#keys[slot] = n;
    this.#values[slot] = value;
    return value;
  }
}

const RECENT_SLOTS = 256;

export type RoundMode = 'down' | 'up' | 'nearest';

const ROUNDING = {
  down: Decimal.ROUND_FLOOR,
  up: Decimal.ROUND_CEIL,
  nearest: Decimal.ROUND_HALF_EVEN,
} as const;

/**
 * `roundToStep(value, step, mode)`: value / step rounded to a whole number, times step.
 * With step = 10^-k that is value rounded to k places in the same mode, which decimal.js
 * does without the 60-digit division (a third of the CPU).
 */
export function roundToGrid(
  value: Decimal,
  step: Decimal,
  stepDecimals: number | undefined,
  mode: RoundMode,
): Decimal {
  return stepDecimals === undefined
    ? roundToStep(value, step, mode)
    : value.toDecimalPlaces(stepDecimals, ROUNDING[mode]);
}

/** k when `step` is 10^-k (0.001 -> 3, 1 -> 0), else undefined. */
export function powerOfTenDecimals(step: Decimal): number | undefined {
  const text = step.toFixed();
  if (text === '1') return 0;
  return /^0\.0*1$/.test(text) ? text.length - 2 : undefined;
}

/**
 * value / step as a safe integer, or NaN. With a step of 10^-k (most ticks and lots) the
 * digits of `value` written with k decimals are the answer (no division).
 */
export function wholeMultiple(value: Decimal, step: Decimal, stepDecimals?: number): number {
  if (stepDecimals !== undefined) {
    const places = value.decimalPlaces();
    if (places > stepDecimals) return Number.NaN;
    // The digits as they are (toFixed() without places neither rounds nor makes a new
    // Decimal), then the missing places as zeros. Number() of an integer's digits is exact
    // up to 2^53; beyond, the result is not a safe integer.
    const text = value.toFixed();
    const digits = places === 0 ? text : text.replace('.', '');
    const n = Number(places === stepDecimals ? digits : digits + ZEROS.slice(0, stepDecimals - places));
    return Number.isSafeInteger(n) ? n : Number.NaN;
  }
  const q = value.div(step);
  if (!q.isInteger()) return Number.NaN;
  const n = q.toNumber();
  return Number.isSafeInteger(n) ? n : Number.NaN;
}

const ZEROS = '0'.repeat(64);

/**
 * The least whole n with n x step >= value (0 for a value <= 0), checked by multiplying back
 * (the quotient is a 60-digit Decimal); undefined when the check fails.
 */
export function ceilMultiple(value: Decimal, step: Decimal): bigint | undefined {
  if (!value.gt(0)) return 0n;
  const n = value.div(step).ceil();
  if (n.mul(step).lt(value) || !n.minus(1).mul(step).lt(value)) return undefined;
  return BigInt(n.toFixed());
}

/** lots x ticks as an exact notional in units of tickSize x lotSize. */
export function notionalUnits(lots: number, ticks: number): bigint {
  // A product that is a safe integer is exact in floating point (one BigInt made, not three).
  const product = lots * ticks;
  return Number.isSafeInteger(product) ? BigInt(product) : BigInt(lots) * BigInt(ticks);
}

/**
 * `lots` x the model factor `x` (> 0) rounded down to whole lots, exactly as
 * `roundToLot(lotSize x lots x Decimal(x.toFixed(15)), 'down')` in lots (world.ts
 * `floatToDecimal`): x through its fixed 15-decimal text, in bigint.
 */
export function scaledLotsDown(lots: number, x: number): number {
  // The digits of x.toFixed(15) (decimal60.ts, exact without the text).
  const digits = floatTextUnits(x);
  if (digits !== undefined && lots < SPLIT_LOTS_LIMIT) {
    // lots x digits / 10^15 in safe integers: digits = high x 10^8 + low, so
    // lots x digits = (lots x high + carry) x 10^8 + rest, and the floor is (lots x high + carry) / 10^7's.
    const low = digits % 1e8;
    const high = (digits - low) / 1e8;
    const lowProduct = lots * low;
    const carry = (lowProduct - (lowProduct % 1e8)) / 1e8;
    const upper = lots * high + carry;
    return (upper - (upper % 1e7)) / 1e7;
  }
  return Number((BigInt(lots) * BigInt(x.toFixed(15).replace('.', ''))) / FLOAT_TEXT_SCALE);
}

/** Below this, lots x 10^8 (and lots x the high digits) are safe integers. */
const SPLIT_LOTS_LIMIT = Math.floor(Number.MAX_SAFE_INTEGER / 1e8);

const FLOAT_TEXT_SCALE = 10n ** 15n;

/**
 * A position's money (cost basis, realized PnL) in fixed point: bigint units of 10^-decimals,
 * fine enough for every lots x ticks notional and for the settlement decimals a partial close
 * rounds the removed cost to. Only for ticks and lots that are powers of ten (else Decimal).
 */
export interface CostScale {
  readonly decimals: number;
  /** 10^-decimals. */
  readonly unit: Decimal;
  /** One lot x one tick in units. */
  readonly notionalFactor: bigint;
  /** 10^-settlementDecimals in units: a partial close removes a whole number of these. */
  readonly settlementStep: bigint;
  readonly settlementDecimals: number;
}

/**
 * The instrument's cost scale at the venue's money decimals (`moneyDecimals`), or undefined
 * when its tick or lot is not a power of ten or the venue has no fixed money scale.
 */
export function costScale(
  scale: InstrumentScale,
  settlementDecimals: number,
  venueDecimals: number | undefined,
): CostScale | undefined {
  const tick = powerOfTenDecimals(scale.tickSize);
  const lot = powerOfTenDecimals(scale.lotSize);
  if (tick === undefined || lot === undefined || venueDecimals === undefined) return undefined;
  const decimals = Math.max(tick + lot, settlementDecimals, venueDecimals);
  return {
    decimals,
    unit: new Decimal(10).pow(-decimals),
    notionalFactor: 10n ** BigInt(decimals - tick - lot),
    settlementStep: 10n ** BigInt(decimals - settlementDecimals),
    settlementDecimals,
  };
}

/**
 * The venue's money scale, 10^-decimals, for every ledger and cost basis of its accounts: at
 * least `atLeast` (the settlement decimals, the liquidation check's scale) and every
 * instrument's tick x lot decimals; undefined when a tick or lot is not a power of ten.
 */
export function moneyDecimals(scales: readonly InstrumentScale[], atLeast: number): number | undefined {
  let decimals = atLeast;
  for (const scale of scales) {
    const tick = powerOfTenDecimals(scale.tickSize);
    const lot = powerOfTenDecimals(scale.lotSize);
    if (tick === undefined || lot === undefined) return undefined;
    decimals = Math.max(decimals, tick + lot);
  }
  return decimals;
}

/** `value` in units of 10^-decimals, or undefined when it has more decimals (exact). */
export function exactUnits(value: Decimal, decimals: number): bigint | undefined {
  if (value.decimalPlaces() > decimals) return undefined;
  const text = value.toFixed(decimals);
  return BigInt(decimals === 0 ? text : text.replace('.', ''));
}

/**
 * lots x ticks in money units of `cost` (x its notional factor), exact: one BigInt when every
 * partial product is a safe integer (then each is exact in floating point).
 */
export function moneyUnits(lots: number, ticks: number, cost: CostScale): bigint {
  const notional = lots * ticks;
  const factor = Number(cost.notionalFactor);
  const units = notional * factor;
  if (Number.isSafeInteger(notional) && Number.isSafeInteger(factor) && Number.isSafeInteger(units)) {
    return BigInt(units);
  }
  return BigInt(lots) * BigInt(ticks) * cost.notionalFactor;
}

/** `units` of the scale as a Decimal (exact). */
export function costDecimal(units: bigint, scale: CostScale): Decimal {
  return units === 0n ? ZERO : scale.unit.mul(units.toString());
}

/** n / d (d > 0) rounded half-even to a whole number, exact (decimal.js ROUND_HALF_EVEN). */
export function divRoundHalfEven(n: bigint, d: bigint): bigint {
  const q = n / d; // truncated toward zero
  const r = n % d;
  if (r === 0n) return q;
  const twice = (r < 0n ? -r : r) * 2n;
  if (twice < d || (twice === d && q % 2n === 0n)) return q;
  return n < 0n ? q - 1n : q + 1n;
}

/** A rate (a fee rate) as rateUnits / 10^rateDecimals, exact. */
export interface FixedRate {
  readonly units: bigint;
  readonly scale: bigint;
}

export function fixedRate(rate: Decimal): FixedRate {
  const decimals = rate.decimalPlaces();
  return {
    units: BigInt(rate.mul(new Decimal(10).pow(decimals)).toFixed()),
    scale: 10n ** BigInt(decimals),
  };
}

/**
 * The fee on `lots` x `ticks` at `rate` in money units: the notional x rate rounded half-even
 * to the settlement decimals, as `notional.mul(rate).toDecimalPlaces(settlementDecimals,
 * ROUND_HALF_EVEN)` (exact: both are exact products rounded once).
 */
export function feeUnits(lots: number, ticks: number, rate: FixedRate, cost: CostScale): bigint {
  return feeOfNotionalUnits(notionalUnits(lots, ticks), rate, cost);
}

/** `feeUnits` of a notional already in units of tick x lot (`notionalUnits`: a trade's maker and taker share it). */
export function feeOfNotionalUnits(notional: bigint, rate: FixedRate, cost: CostScale): bigint {
  if (rate.units === 0n) return 0n;
  const product = notional * cost.notionalFactor * rate.units;
  return divRoundHalfEven(product, rate.scale * cost.settlementStep) * cost.settlementStep;
}
