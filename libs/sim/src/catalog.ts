/**
 * More perpetuals for the simulated world than the presets' BTC and ETH: a venue lists one
 * of these when its config names it (opt-in), so a world without them — every existing
 * seed — moves exactly as before. Prices are round late-2026 levels; tick and lot sizes
 * give a tick of roughly 1 bp or finer and a lot worth well under the min notional
 * (assumed, like the presets' unresearched values). Funding follows the venue's rules.
 */
import type { DecimalInput, InstrumentId } from '@perpmesh/core';
import type { InstrumentSpecInput } from './config.js';

export interface CatalogInstrument {
  readonly spec: InstrumentSpecInput & { readonly instrumentId: InstrumentId };
  readonly initialPrice: DecimalInput;
  readonly volatilityPerSqrtHour: number;
  /** Background participants' sizes (base units): first quote level, largest noise order, insurance unwind slice. */
  readonly levelSize: DecimalInput;
  readonly noiseMaxSize: DecimalInput;
  readonly unwindSize: DecimalInput;
}

const entry = (
  base: string,
  price: string,
  tickSize: string,
  lotSize: string,
  volatilityPerSqrtHour: number,
  sizes: { level: string; noise: string; unwind: string; max: string },
): CatalogInstrument => ({
  spec: {
    instrumentId: `${base}-USDC-PERP`,
    tickSize,
    lotSize,
    minNotional: '10',
    maxOrderSize: sizes.max,
    maxLeverage: 20,
    maintenanceMarginRate: '0.02',
  },
  initialPrice: price,
  volatilityPerSqrtHour,
  levelSize: sizes.level,
  noiseMaxSize: sizes.noise,
  unwindSize: sizes.unwind,
});

/** A world forks their random streams after BTC and ETH, in the order its config names them. */
export const CATALOG_INSTRUMENTS: readonly CatalogInstrument[] = [
  entry('SOL', '150', '0.01', '0.01', 0.009, { level: '60', noise: '100', unwind: '200', max: '20000' }),
  entry('XRP', '0.6', '0.0001', '1', 0.01, {
    level: '15000',
    noise: '25000',
    unwind: '50000',
    max: '5000000',
  }),
  entry('DOGE', '0.15', '0.00001', '10', 0.012, {
    level: '60000',
    noise: '100000',
    unwind: '200000',
    max: '20000000',
  }),
  entry('AVAX', '30', '0.001', '0.1', 0.011, { level: '300', noise: '500', unwind: '1000', max: '100000' }),
  entry('LINK', '15', '0.001', '0.1', 0.01, { level: '600', noise: '1000', unwind: '2000', max: '200000' }),
  entry('LTC', '80', '0.01', '0.01', 0.009, { level: '110', noise: '200', unwind: '400', max: '40000' }),
  entry('ADA', '0.45', '0.0001', '1', 0.011, {
    level: '20000',
    noise: '35000',
    unwind: '70000',
    max: '7000000',
  }),
  entry('BNB', '580', '0.01', '0.01', 0.007, { level: '15', noise: '25', unwind: '50', max: '5000' }),
];

/** The catalog entry of an instrument id, or undefined (BTC and ETH are the presets' own). */
export function catalogInstrument(instrumentId: InstrumentId): CatalogInstrument | undefined {
  return CATALOG_INSTRUMENTS.find((c) => c.spec.instrumentId === instrumentId);
}
