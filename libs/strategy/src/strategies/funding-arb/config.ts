/**
 * The funding-arb config: its schema and `parseFundingArbConfig`.
 *
 * Every duration (`...Ms` fields) takes the same duration strings as the rest of the
 * config (`"48h"`, `"30s"`, `"1h30m"`) through the strategy codec's `configDuration`; a plain number is
 * still read as milliseconds.
 */
import { z } from 'zod';
import {
  accountIdSchema,
  configDecimal,
  configDuration,
  instrumentIdSchema,
  parseWith,
  positiveConfigDecimal,
  positiveConfigDuration,
  strategyIdSchema,
  venueIdSchema,
} from '../../codec.js';
import { riskConfigSchema } from '../../risk.js';
import { checkExposures, exposuresSchema } from './exposures.js';

export const fundingArbConfigSchema = z
  .object({
    kind: z.literal('funding_arb').optional(),
    strategyId: strategyIdSchema,
    /** The same instrument on every venue; or `exposures` (exposures.ts): each venue its own, with the settle conversion. */
    instruments: z.array(instrumentIdSchema).min(1).optional(),
    exposures: exposuresSchema.optional(),
    venues: z
      .array(
        z.object({
          venue: venueIdSchema,
          account: accountIdSchema,
          /**
           * Kept for configs that set it; the estimate charges what the orders really pay:
           * every arb order is IOC or market (`orderType`), so it takes and pays taker.
           */
          feeMode: z.enum(['taker', 'maker']).default('taker'),
        }),
      )
      .min(2),
    /** Quote notional per leg to aim for (before balance and risk caps). */
    targetNotionalPerLeg: positiveConfigDecimal,
    /**
     * When a leg's available balance cannot carry the target: true sizes both legs down to
     * what it can carry (the enter decision names that balance); false (default) skips with
     * `insufficient_available_balance`.
     */
    sizeDownToBalance: z.boolean().default(false),
    /**
     * Cap on the per-leg notional of all active arbs together; candidates across instruments
     * are ranked by net carry and the best get the capital first (per venue the cap is
     * `risk.maxNotionalPerVenue`, per instrument `risk.maxNotionalPerInstrument`).
     */
    maxTotalNotional: positiveConfigDecimal.optional(),
    /** Carry is estimated over this long (never longer than `maxHoldingMs`). */
    holdingHorizonMs: positiveConfigDuration,
    /**
     * Net carry over the horizon, after fees and slippage, as bps of one leg's notional. An
     * arb enters only on a positive net carry, so the threshold is 0 or more: a negative one
     * would read as "enter at a loss" and do nothing, and is refused.
     */
    entryThresholdBps: configDecimal.refine((d) => d.gte(0), {
      error: 'must be 0 or more: an arb enters only on a positive net carry',
    }),
    /** The entry condition must hold this long without a break. */
    persistenceMs: configDuration,
    /** Exit when the per-hour spread (short rate/h - long rate/h) falls below this, in bps per hour. */
    exitSpreadBpsPerHour: configDecimal.prefault('0'),
    /** Exit when marked PnL net of estimated exit costs reaches this many bps of notional. */
    takeProfitBps: positiveConfigDecimal.optional(),
    maxHoldingMs: positiveConfigDuration,
    /** After an arb on an instrument closes (or fails to enter), wait this long before a new entry. */
    reentryCooldownMs: configDuration.default(300_000),
    /** How far ahead a settlement counts as imminent (for adverse-settlement exits and deferrals). */
    settlementGuardMs: configDuration.default(120_000),
    /** Leg-imbalance budget in quote x seconds; spent while one leg is larger than the other. */
    legImbalanceBudgetNotionalSeconds: positiveConfigDecimal,
    maxHedgeAttempts: z.int().min(0).default(1),
    orderType: z.enum(['market', 'limit_ioc']).default('limit_ioc'),
    /** For limit_ioc: how far past the walked worst price the limit may go. */
    maxSlippageBps: configDecimal.prefault('20'),
    /** Cancel an arb order still open after this long. */
    orderTimeoutMs: positiveConfigDuration.default(10_000),
    /** Wait between repeated unwind / exit attempts. */
    retryIntervalMs: positiveConfigDuration.default(2_000),
    maxBookAgeMs: positiveConfigDuration.default(5_000),
    maxFundingAgeMs: positiveConfigDuration.default(120_000),
    /** No entry while a venue's mark differs from its book mid or its index by more than this. */
    maxMarkDeviationBps: positiveConfigDecimal.prefault('50'),
    /** After risk denies an entry, wait this long before trying the instrument again (doubling per denial, up to 16x). */
    riskDenyBackoffMs: positiveConfigDuration.default(60_000),
    /** Entry filter: skip a candidate whose entry and exit costs take longer than this to earn back at the current rates. */
    maxBreakEvenHours: positiveConfigDecimal.optional(),
    /** The same skip reason for an instrument is reported at most this often. */
    skipReportIntervalMs: positiveConfigDuration.default(60_000),
    /** Operator alarms (alarms.ts). */
    alarms: z
      .object({
        /** A leg imbalance lasting this long raises `alarm_one_legged`. */
        oneLeggedAfterMs: configDuration.default(30_000),
        /** A leg's book or funding older than this raises `alarm_stale_data` (a broken feed, not a quiet book). */
        staleDataAfterMs: positiveConfigDuration.default(60_000),
        /** A leg closer to liquidation than this (bps of the mark) raises `alarm_liquidation_distance`. */
        minLiquidationDistanceBps: positiveConfigDecimal.prefault('1000'),
        /** Maintenance margin rate for the liquidation formula (the venue's liquidation price is not an input yet). */
        maintenanceMarginRate: configDecimal.prefault('0.005'),
      })
      .prefault({}),
    /** Pause entries (until the operator resumes) after this realized drawdown or losing streak. */
    circuitBreaker: z
      .object({
        /** Quote: realized net PnL of closed arbs this far below its peak trips the breaker. */
        maxDrawdown: positiveConfigDecimal.optional(),
        /** This many losing arbs in a row trips the breaker. */
        maxConsecutiveLosses: z.int().min(1).optional(),
      })
      .default({}),
    risk: riskConfigSchema,
  })
  .superRefine((config, ctx) => {
    checkExposures(config, (issue) => ctx.addIssue({ code: 'custom', ...issue }));
    const seen = new Set<string>();
    for (const [i, v] of config.venues.entries()) {
      if (seen.has(v.venue)) {
        ctx.addIssue({
          code: 'custom',
          path: ['venues', i, 'venue'],
          message: 'venue listed twice',
          input: v.venue,
        });
      }
      seen.add(v.venue);
    }
  });
export type FundingArbConfig = z.output<typeof fundingArbConfigSchema>;

/** Validates a funding-arb config; the error names the bad field (`fundingArb.venues[1].venue`). */
export function parseFundingArbConfig(raw: unknown, field = 'fundingArb'): FundingArbConfig {
  return parseWith(fundingArbConfigSchema, raw, field);
}
