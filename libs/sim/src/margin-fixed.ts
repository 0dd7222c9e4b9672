/**
 * The liquidation check's "surely safe" answer in integers, pure. margin.ts decides
 * liquidation exactly when equity < maintenance margin, in Decimal; after every price update
 * it runs for every account with positions, and most are far from it. Here
 *
 *   equity - maintenance = (wallet - sum of cost bases) + sum over instruments of
 *                          mark x (size - |size| x maintenanceMarginRate)
 *
 * is summed in integers of one scale per venue, 10^-decimals: the first term (it changes only
 * with fills and ledgers) rounded down once, each instrument's coefficient exact in lots, the
 * mark in ticks. An account is surely safe when the sum is at least two units (the first
 * term's floor may sit a unit above the exact value): the exact value is then above 0 by
 * far more than a 60-digit Decimal's rounding, so margin.ts would say safe too. Anything
 * else (little room, a value off the grid, a step that is not a power of ten) goes to the
 * Decimal check; this never changes its answer, only skips it.
 */
import { Decimal } from '@perpmesh/core';
import type { InstrumentSpec } from './config.js';
import { powerOfTenDecimals } from './fixed.js';

/**
 * The room an integer sum needs for a sure answer: a rounded-down term may sit one unit above
 * its exact value, and the exact value is then above 0 by far more than a 60-digit Decimal's
 * rounding.
 */
export const SURE_MARGIN_UNITS = 2n;

/** One instrument's constants at the venue's scale. */
export interface InstrumentMaintenanceScale {
  /** maintenanceMarginRate = rateUnits / 10^rateDecimals. */
  readonly rateUnits: bigint;
  readonly rateDecimals: number;
  /** One lot x tick x 10^-rateDecimals in venue units (10^-decimals). */
  readonly factor: bigint;
}

export interface MaintenanceScale {
  /** The venue's unit is 10^-decimals. */
  readonly decimals: number;
  /** 10^decimals. */
  readonly unitsPerOne: Decimal;
  readonly instruments: ReadonlyMap<string, InstrumentMaintenanceScale>;
}

/** The venue's scale, or undefined when a tick or lot is not a power of ten (then every check is Decimal). */
export function maintenanceScale(
  specs: readonly InstrumentSpec[],
  /** The least decimals (the settlement decimals: the scale is then the accounts' money scale). */
  atLeast = 0,
): MaintenanceScale | undefined {
  const parts: { id: string; unitDecimals: number; rateDecimals: number; rateUnits: bigint }[] = [];
  for (const spec of specs) {
    const tick = powerOfTenDecimals(spec.tickSize);
    const lot = powerOfTenDecimals(spec.lotSize);
    if (tick === undefined || lot === undefined) return undefined;
    const rateDecimals = spec.maintenanceMarginRate.decimalPlaces();
    const rateUnits = BigInt(spec.maintenanceMarginRate.mul(new Decimal(10).pow(rateDecimals)).toFixed());
    parts.push({ id: spec.instrumentId, unitDecimals: tick + lot, rateDecimals, rateUnits });
  }
  const decimals = Math.max(atLeast, ...parts.map((p) => p.unitDecimals + p.rateDecimals));
  return {
    decimals,
    unitsPerOne: new Decimal(10).pow(decimals),
    instruments: new Map(
      parts.map((p) => [
        p.id,
        {
          rateUnits: p.rateUnits,
          rateDecimals: p.rateDecimals,
          factor: 10n ** BigInt(decimals - p.unitDecimals - p.rateDecimals),
        },
      ]),
    ),
  };
}

/** wallet - sum of cost bases, in venue units, rounded down (the sure side). */
export function baseUnits(walletLessCosts: Decimal, scale: MaintenanceScale): bigint {
  return BigInt(walletLessCosts.mul(scale.unitsPerOne).toDecimalPlaces(0, Decimal.ROUND_FLOOR).toFixed());
}

/** (size - |size| x rate) per tick of mark, in venue units: exact. */
export function positionCoefficient(positionLots: number, inst: InstrumentMaintenanceScale): bigint {
  const lots = BigInt(positionLots);
  const abs = lots < 0n ? -lots : lots;
  return (lots * 10n ** BigInt(inst.rateDecimals) - abs * inst.rateUnits) * inst.factor;
}

/**
 * `positionCoefficient(positionLots) x markTicks`, exact: in floating point when every
 * partial result is a safe integer (then each is exact, and no BigInt is made but the
 * answer), else in bigint.
 */
export function maintenanceTermUnits(
  positionLots: number,
  markTicks: number,
  inst: InstrumentMaintenanceScale,
): bigint {
  const perLot = positionLots * 10 ** inst.rateDecimals;
  const rate = Math.abs(positionLots) * Number(inst.rateUnits);
  const perTick = (perLot - rate) * Number(inst.factor);
  const term = perTick * markTicks;
  if (
    Number.isSafeInteger(perLot) &&
    Number.isSafeInteger(rate) &&
    Number.isSafeInteger(perLot - rate) &&
    Number.isSafeInteger(Number(inst.factor)) &&
    Number.isSafeInteger(perTick) &&
    Number.isSafeInteger(term)
  ) {
    return BigInt(term);
  }
  return positionCoefficient(positionLots, inst) * BigInt(markTicks);
}

/** True when base + sum of coefficient x mark ticks is at least two units: equity surely above maintenance. */
export function surelyAboveMaintenance(
  base: bigint,
  terms: readonly { readonly coefficient: bigint; readonly markTicks: number }[],
): boolean {
  let sum = base;
  for (const t of terms) {
    if (!Number.isSafeInteger(t.markTicks)) return false;
    sum += t.coefficient * BigInt(t.markTicks);
  }
  return sum >= SURE_MARGIN_UNITS;
}

/** One instrument's margin inputs in integers (the order being checked counted in its side). */
export interface FixedMarginPart {
  /** Signed position in lots, the mark in ticks. */
  readonly lots: number;
  readonly markTicks: number;
  /** The cost basis in money units. */
  readonly costUnits: bigint;
  /** Resting non-reduce-only notional per side, in tick x lot units. */
  readonly buyUnits: bigint;
  readonly sellUnits: bigint;
  readonly leverage: number;
  /** Money units per tick x lot. */
  readonly notionalFactor: bigint;
}

/**
 * True when margin.ts would surely find available margin >= 0 for these parts (the initial
 * margin check of an order): wallet + unrealized - initial margin, in money units, with the
 * wallet rounded down and each instrument's initial margin (held + open-order excess) /
 * leverage rounded up, at least two units: the exact value is then above 0 by more than a
 * 60-digit Decimal's rounding. Anything else goes to the Decimal check (never a different
 * answer, only a skipped one).
 */
export function surelyFitsInitialMargin(
  walletFloorUnits: bigint,
  parts: readonly FixedMarginPart[],
): boolean {
  let sum = walletFloorUnits;
  for (const p of parts) {
    const part = equityLessInitialUnits(p);
    if (part === undefined) return false;
    sum += part;
  }
  return sum >= SURE_MARGIN_UNITS;
}

/**
 * One instrument's unrealized PnL less its initial margin rounded up, in money units (the
 * part `surelyFitsInitialMargin` sums); undefined when the mark or size is not a safe integer.
 */
export function equityLessInitialUnits(p: FixedMarginPart): bigint | undefined {
  if (!Number.isSafeInteger(p.markTicks) || !Number.isSafeInteger(p.lots)) return undefined;
  const lots = BigInt(p.lots);
  const mark = BigInt(p.markTicks);
  const held = (lots < 0n ? -lots : lots) * mark;
  const buyExcess = lots < 0n ? p.buyUnits - held : p.buyUnits;
  const sellExcess = lots > 0n ? p.sellUnits - held : p.sellUnits;
  let excess = buyExcess > sellExcess ? buyExcess : sellExcess;
  if (excess < 0n) excess = 0n;
  const leverage = BigInt(p.leverage);
  const initial = ((held + excess) * p.notionalFactor + leverage - 1n) / leverage; // ceil, >= 0
  return lots * mark * p.notionalFactor - p.costUnits - initial;
}
