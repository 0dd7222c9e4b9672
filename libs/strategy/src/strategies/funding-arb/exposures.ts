/**
 * Which instruments on which venues the funding arb treats as ONE exposure, and the
 * settle-asset conversion that equivalence assumes (libs/venues/README.md, "Same asset,
 * different settlement").
 *
 * Two config forms, one shape inside (`arbExposures`):
 * - `instruments: [BTC-USDC-PERP]`: every venue trades that same instrument (one settle asset);
 * - `exposures: { BTC-USD: { legs: { binanceusdm: BTC-USDT-PERP, hyperliquid: BTC-USDC-PERP },
 *   settleConversion: { USDT: { USDC: "1" } } } }`: each venue its own instrument; money of
 *   legs settled in different assets is added only after converting with the configured rate
 *   (`1 USDT = rate USDC`), and every decision names the rate it used.
 *
 * Sizes are equal in base units (both legs hold the same BTC); funding rates are fractions
 * of notional, comparable as they are. The arb's report currency is the settle asset of its
 * first configured venue's leg.
 *
 * `marketConversion: { price: index, maxConversionDeviationBps: "25" }` reads the rate from
 * the market instead: 1 BTC is P_to on the report leg and P_from on the other, so
 * 1 FROM = P_to / P_from TO, from each venue's own index (or mark) price of the same base in
 * its settle asset (the price its funding reading carries: Binance premiumIndex, OKX index
 * tickers, Hyperliquid oraclePx / markPx). Market data carries perps only, so no USDC/USDT
 * spot book is read. The read rate is used while it is within the guard of the configured
 * one; beyond it, or unreadable, entries are blocked with the reason (`blocked`).
 */
import { type Decimal, dec, isInstrumentId, parseInstrument, roundForReport } from '@perpmesh/core';
import { z } from 'zod';
import { instrumentIdSchema, positiveConfigDecimal, venueIdSchema } from '../../codec.js';
import { BPS } from './carry.js';

const currencySchema = z
  .string()
  .regex(/^[A-Z0-9]{1,16}$/, { error: 'expected a currency code such as "USDT"' });

/** Exposure ids name the arb (its key in the book and its arb ids `${id}#n`). */
const exposureIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/, { error: 'expected 1-32 letters, digits, "_" or "-"' });

/** Read the settle conversion from the legs' prices, guarded by the configured rate. */
export const marketConversionSchema = z.strictObject({
  /** Which price of each leg's perp: its index (spot-based; the default) or its mark (includes the perp's premium). */
  price: z.enum(['index', 'mark']).default('index'),
  /** Entries are blocked while the read rate is further than this from the configured one. */
  maxConversionDeviationBps: positiveConfigDecimal,
});

export const exposureSchema = z.object({
  /** venue -> the instrument it trades for this exposure. */
  legs: z.record(venueIdSchema, instrumentIdSchema),
  /** `{ FROM: { TO: rate } }`: 1 FROM = rate TO, assumed by the arb (the reverse is 1 / rate). */
  settleConversion: z.record(currencySchema, z.record(currencySchema, positiveConfigDecimal)).default({}),
  /** When set, the rate is read from the market and `settleConversion` is the guard's reference. */
  marketConversion: marketConversionSchema.optional(),
});

export const exposuresSchema = z.record(exposureIdSchema, exposureSchema);
export type ExposureConfig = z.output<typeof exposureSchema>;

/** One exposure the arb trades: its id (the arb key), each venue's instrument, the conversions. */
export interface ArbExposure {
  readonly id: string;
  /** venue -> instrument. */
  readonly legs: Readonly<Record<string, string>>;
  readonly settleConversion: ExposureConfig['settleConversion'];
  readonly marketConversion?: ExposureConfig['marketConversion'];
}

/** A leg's money in the arb's report currency: `amount x rate`; `statement` says what was assumed. */
export interface SettleConversion {
  readonly from: string;
  readonly to: string;
  readonly rate: Decimal;
  /** `1 USDT = 1 USDC (configured)`, `1 USDT = 1.0002 USDC (read: ...)`, or `USDC (same settle asset)`. */
  readonly statement: string;
  /** Market-read conversions: the figures of the read and of its guard, as decision inputs (`<venue>.conversion_*`). */
  readonly inputs?: Readonly<Record<string, string>>;
  /** Why entries must not rely on this conversion now (the rate is then the configured one). */
  readonly blocked?: { readonly reasonCode: string; readonly message: string };
}

interface ExposureFields {
  readonly instruments?: readonly string[] | undefined;
  readonly exposures?: Readonly<Record<string, ExposureConfig>> | undefined;
  readonly venues: ReadonlyArray<{ readonly venue: string }>;
}

/** The exposures of a config in one shape: `instruments` become exposures named by the instrument. */
export function arbExposures(config: ExposureFields): ArbExposure[] {
  if (config.exposures) {
    return Object.entries(config.exposures).map(([id, e]) => ({
      id,
      legs: e.legs,
      settleConversion: e.settleConversion,
      ...(e.marketConversion ? { marketConversion: e.marketConversion } : {}),
    }));
  }
  return (config.instruments ?? []).map((instrument) => ({
    id: instrument,
    legs: Object.fromEntries(config.venues.map((v) => [v.venue, instrument])),
    settleConversion: {},
  }));
}

/** The exposure an arb key names (undefined when the config no longer lists it). */
export function exposureOf(config: ExposureFields, id: string): ArbExposure | undefined {
  return arbExposures(config).find((e) => e.id === id);
}

/** The settle asset of an instrument id (`BTC-USDT-PERP` -> `USDT`). */
export function settleOf(instrument: string): string {
  return parseInstrument(instrument).settle;
}

/**
 * How `from` converts into `to` under the exposure's configured rates, or undefined when
 * no rate is configured either way.
 */
export function settleConversion(
  exposure: ArbExposure,
  from: string,
  to: string,
): SettleConversion | undefined {
  if (from === to) return { from, to, rate: dec(1), statement: `${to} (same settle asset)` };
  const direct = exposure.settleConversion[from]?.[to];
  if (direct)
    return { from, to, rate: direct, statement: `1 ${from} = ${direct.toFixed()} ${to} (configured)` };
  const reverse = exposure.settleConversion[to]?.[from];
  if (reverse) {
    return {
      from,
      to,
      rate: dec(1).div(reverse),
      statement: `1 ${to} = ${reverse.toFixed()} ${from} (configured)`,
    };
  }
  return undefined;
}

/** The report currency of an exposure: the settle asset of the first configured venue's leg. */
export function reportCurrency(
  exposure: ArbExposure,
  venues: ReadonlyArray<{ readonly venue: string }>,
): string {
  const first = venues.find((v) => exposure.legs[v.venue] !== undefined);
  return settleOf(exposure.legs[first?.venue ?? Object.keys(exposure.legs)[0]!]!);
}

/** The conversion of one venue's leg into the exposure's report currency (identity when it has no leg there). */
export function legConversion(
  exposure: ArbExposure,
  venues: ReadonlyArray<{ readonly venue: string }>,
  venue: string,
): SettleConversion {
  const to = reportCurrency(exposure, venues);
  const instrument = exposure.legs[venue];
  const from = instrument ? settleOf(instrument) : to;
  // Parse-time checks (checkExposures) guarantee a rate for every pair of settle assets.
  return settleConversion(exposure, from, to) ?? { from, to, rate: dec(1), statement: `${to} (no rate)` };
}

/** A leg's perp prices as the venue's funding reading gives them (in its settle asset). */
export interface LegPrices {
  readonly indexPrice?: Decimal | undefined;
  readonly markPrice?: Decimal | undefined;
}

/**
 * The conversion of one venue's leg into the report currency with the market read when the
 * exposure asks for it (`marketConversion`): the rate P_report / P_leg from the two legs'
 * prices (`pricesOf(venue, instrument)`), checked against the configured rate. Without
 * `marketConversion`, or for a leg in the report currency, the configured `legConversion`.
 */
export function marketLegConversion(
  exposure: ArbExposure,
  venues: ReadonlyArray<{ readonly venue: string }>,
  venue: string,
  pricesOf: (venue: string, instrument: string) => LegPrices | undefined,
): SettleConversion {
  const configured = legConversion(exposure, venues, venue);
  const read = exposure.marketConversion;
  if (!read || configured.from === configured.to) return configured;
  const reportVenue = venues.find(
    (v) => exposure.legs[v.venue] !== undefined && settleOf(exposure.legs[v.venue]!) === configured.to,
  )?.venue;
  const priceOf = (v: string | undefined) => {
    const instrument = v === undefined ? undefined : exposure.legs[v];
    const prices = v === undefined || instrument === undefined ? undefined : pricesOf(v, instrument);
    const price = read.price === 'index' ? prices?.indexPrice : prices?.markPrice;
    return price?.gt(0) ? price : undefined;
  };
  const [toPrice, fromPrice] = [priceOf(reportVenue), priceOf(venue)];
  const max = read.maxConversionDeviationBps;
  const at = `${venue}.conversion`;
  const guard = {
    [`${at}_source`]: 'market',
    [`${at}_price`]: read.price,
    [`${at}_configured_rate`]: configured.rate.toFixed(),
    max_conversion_deviation_bps: max.toFixed(),
  };
  if (!toPrice || !fromPrice || reportVenue === undefined) {
    const missing = [!toPrice ? reportVenue : undefined, !fromPrice ? venue : undefined]
      .filter((v) => v !== undefined)
      .join(', ');
    return {
      ...configured,
      inputs: guard,
      blocked: {
        reasonCode: 'conversion_rate_unavailable',
        message: `cannot read 1 ${configured.from} in ${configured.to} from the ${read.price} prices: none from ${missing || 'the report leg'}`,
      },
    };
  }
  const rate = toPrice.div(fromPrice);
  const deviationBps = rate.div(configured.rate).minus(1).abs().mul(BPS);
  const figures = `${read.price} ${roundForReport(toPrice).toFixed()} ${configured.to} on ${reportVenue} / ${roundForReport(fromPrice).toFixed()} ${configured.from} on ${venue}`;
  const inputs = {
    ...guard,
    [`${at}_read_rate`]: rate.toFixed(),
    [`${at}_deviation_bps`]: deviationBps.toFixed(4),
    [`${at}_report_leg_price`]: toPrice.toFixed(),
    [`${at}_leg_price`]: fromPrice.toFixed(),
  };
  if (deviationBps.gt(max)) {
    return {
      ...configured,
      inputs,
      blocked: {
        reasonCode: 'conversion_rate_deviates',
        message: `1 ${configured.from} reads ${roundForReport(rate).toFixed()} ${configured.to} (${figures}): ${deviationBps.toFixed(2)} bps from the configured ${configured.rate.toFixed()} (max ${max.toFixed()} bps)`,
      },
    };
  }
  return {
    from: configured.from,
    to: configured.to,
    rate,
    statement: `1 ${configured.from} = ${roundForReport(rate).toFixed()} ${configured.to} (read: ${figures}; ${deviationBps.toFixed(2)} bps from the configured ${configured.rate.toFixed()})`,
    inputs,
  };
}

type Issue = { path: PropertyKey[]; message: string; input?: unknown };

/**
 * The parse-time checks: exactly one of `instruments` / `exposures`; every leg's venue is
 * configured; every configured venue has a leg in every exposure; all legs are perps of
 * one base asset; every pair of distinct settle assets has a conversion.
 */
export function checkExposures(config: ExposureFields, addIssue: (issue: Issue) => void): void {
  const hasInstruments = config.instruments !== undefined;
  const hasExposures = config.exposures !== undefined;
  if (hasInstruments === hasExposures) {
    addIssue({
      path: [hasInstruments ? 'exposures' : 'instruments'],
      message: hasInstruments
        ? 'give either instruments (the same instrument on every venue) or exposures, not both'
        : 'required: instruments (the same instrument on every venue) or exposures (each venue its own)',
    });
    return;
  }
  if (!config.exposures) return;
  const configured = new Set(config.venues.map((v) => v.venue));
  const ids = Object.keys(config.exposures);
  if (ids.length === 0) addIssue({ path: ['exposures'], message: 'list at least one exposure' });
  for (const [id, exposure] of Object.entries(config.exposures)) {
    const at = ['exposures', id];
    for (const venue of Object.keys(exposure.legs)) {
      if (!configured.has(venue)) {
        addIssue({ path: [...at, 'legs', venue], message: `venue ${venue} is not in venues`, input: venue });
      }
    }
    for (const v of config.venues) {
      if (exposure.legs[v.venue] === undefined) {
        addIssue({
          path: [...at, 'legs', v.venue],
          message: `required: the instrument ${v.venue} trades for ${id}`,
        });
      }
    }
    const parsed = Object.entries(exposure.legs)
      .filter(([, instrument]) => isInstrumentId(instrument))
      .map(([venue, instrument]) => ({ venue, instrument: parseInstrument(instrument) }));
    const first = parsed[0];
    for (const { venue, instrument } of parsed) {
      if (instrument.kind !== 'perp') {
        addIssue({ path: [...at, 'legs', venue], message: 'must be a perpetual', input: instrument.id });
      } else if (first && instrument.base !== first.instrument.base) {
        addIssue({
          path: [...at, 'legs', venue],
          message: `base ${instrument.base} differs from ${first.instrument.base} (${first.venue}): not the same exposure`,
          input: instrument.id,
        });
      }
    }
    const exp: ArbExposure = { id, legs: exposure.legs, settleConversion: exposure.settleConversion };
    const settles = [...new Set(parsed.map((p) => p.instrument.settle))];
    if (exposure.marketConversion && settles.length < 2) {
      addIssue({
        path: [...at, 'marketConversion'],
        message: 'every leg settles in the same asset: there is no conversion to read',
      });
    }
    for (const [i, a] of settles.entries()) {
      for (const b of settles.slice(i + 1)) {
        if (!settleConversion(exp, a, b)) {
          addIssue({
            path: [...at, 'settleConversion'],
            message: `legs settle in ${a} and ${b}: state the rate the arb assumes, e.g. { ${a}: { ${b}: "1" } }`,
          });
        }
      }
    }
  }
}
