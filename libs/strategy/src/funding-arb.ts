/**
 * Cross-venue funding-rate arbitrage, as a pure decider.
 *
 * For each configured instrument, across the configured venues:
 * - each venue's rate is divided by THAT venue's interval (from its own funding input,
 *   never an assumed 8 h) to compare per hour;
 * - the pair is: short where the per-hour rate is highest, long where it is lowest;
 * - expected carry over `holdingHorizonMs` = (rate_short/h x mark_short - rate_long/h x
 *   mark_long) x hours x size, minus entry AND exit fees of both legs, minus slippage of
 *   both legs walked on the live books for the intended size, entry and exit;
 * - entry when the net carry clears `entryThresholdBps` of the notional continuously for
 *   `persistenceMs`; both legs the same base size, a multiple of both venues' lots, sized
 *   to `targetNotionalPerLeg`, the available balances and the risk limits, placed in one
 *   decision (risk checks both before either is sent);
 * - a rejected or partly filled leg is hedged (the lagging leg topped up, at most
 *   `maxHedgeAttempts`) or the leading leg unwound back to the other's size, within the
 *   leg-imbalance budget (notional x seconds); every step is a decision;
 * - exits on spread reversal, take-profit, max holding time, or ahead of a settlement
 *   that costs more than staying earns; a non-urgent exit waits for a settlement that pays
 *   us when it is within `settlementGuardMs` (closing just before it forfeits the period);
 * - exit and unwind orders are reduce-only and sized to min(the leg, the venue position),
 *   and risk caps them again: a close never opens or flips a position.
 *
 * The arb book (legs with fills, fees and funding per leg, entry expectations, phase) is
 * part of the serialized state; restoring it and continuing gives the same decisions.
 */
import {
  applyFill,
  applyFunding,
  type Decimal,
  dec,
  FLAT_POSITION,
  fundingRatePerHour,
  MS_PER_HOUR,
  maxDec,
  minDec,
  type PositionState,
  positionSideOf,
  roundToStep,
  type Side,
  ZERO,
} from '@perpmesh/core';
import { z } from 'zod';
import {
  accountIdSchema,
  configDecimal,
  decimalCodec,
  instrumentIdSchema,
  msSchema,
  parseWith,
  positiveConfigDecimal,
  strategyIdSchema,
  venueIdSchema,
} from './codec.js';
import { buildDecider, type PlaceRequest, type Step, type StrategyState } from './engine.js';
import type { StrategyDecider, StrategyInput } from './model.js';
import { riskConfigSchema } from './risk.js';
import {
  accountKey,
  type BookState,
  type FactResult,
  type FundingState,
  isOpenOrder,
  type MarketState,
  marketKey,
  midOf,
  type OwnOrder,
  positionSize,
  walk,
} from './world.js';

// ---------------------------------------------------------------------------------------
// Config

export const fundingArbConfigSchema = z
  .object({
    kind: z.literal('funding_arb').optional(),
    strategyId: strategyIdSchema,
    instruments: z.array(instrumentIdSchema).min(1),
    venues: z
      .array(
        z.object({
          venue: venueIdSchema,
          account: accountIdSchema,
          /** Fee rate used in the carry estimate: taker (default) unless this account really pays maker. */
          feeMode: z.enum(['taker', 'maker']).default('taker'),
        }),
      )
      .min(2),
    /** Quote notional per leg to aim for (before balance and risk caps). */
    targetNotionalPerLeg: positiveConfigDecimal,
    holdingHorizonMs: z.int().positive(),
    /** Net carry over the horizon, after fees and slippage, as bps of one leg's notional. */
    entryThresholdBps: configDecimal,
    /** The entry condition must hold this long without a break. */
    persistenceMs: msSchema,
    /** Exit when the per-hour spread (short rate/h - long rate/h) falls below this, in bps per hour. */
    exitSpreadBpsPerHour: configDecimal.prefault('0'),
    /** Exit when marked PnL net of estimated exit costs reaches this many bps of notional. */
    takeProfitBps: positiveConfigDecimal.optional(),
    maxHoldingMs: z.int().positive(),
    /** After an arb on an instrument closes (or fails to enter), wait this long before a new entry. */
    reentryCooldownMs: msSchema.default(300_000),
    /** How far ahead a settlement counts as imminent (for adverse-settlement exits and deferrals). */
    settlementGuardMs: msSchema.default(120_000),
    /** Leg-imbalance budget in quote x seconds; spent while one leg is larger than the other. */
    legImbalanceBudgetNotionalSeconds: positiveConfigDecimal,
    maxHedgeAttempts: z.int().min(0).default(1),
    orderType: z.enum(['market', 'limit_ioc']).default('limit_ioc'),
    /** For limit_ioc: how far past the walked worst price the limit may go. */
    maxSlippageBps: configDecimal.prefault('20'),
    /** Cancel an arb order still open after this long. */
    orderTimeoutMs: z.int().positive().default(10_000),
    /** Wait between repeated unwind / exit attempts. */
    retryIntervalMs: z.int().positive().default(2_000),
    maxBookAgeMs: z.int().positive().default(5_000),
    maxFundingAgeMs: z.int().positive().default(120_000),
    /** The same skip reason for an instrument is reported at most this often. */
    skipReportIntervalMs: z.int().positive().default(60_000),
    risk: riskConfigSchema,
  })
  .superRefine((config, ctx) => {
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

// ---------------------------------------------------------------------------------------
// State: the arb book

const positionStateCodec = z.object({
  size: decimalCodec,
  side: z.enum(['long', 'short', 'flat']),
  entryPrice: decimalCodec.optional(),
  tradingPnl: decimalCodec,
  fees: decimalCodec,
  funding: decimalCodec,
  realizedPnl: decimalCodec,
  netRealizedPnl: decimalCodec,
  markPrice: decimalCodec.optional(),
  unrealizedPnl: decimalCodec,
  updatedAtMs: msSchema.optional(),
});

const legOrderCodec = z.object({ side: z.enum(['buy', 'sell']), filled: decimalCodec, role: z.string() });

const legCodec = z.object({
  venue: z.string(),
  account: z.string(),
  instrument: z.string(),
  /** sell for the short leg, buy for the long leg. */
  entrySide: z.enum(['buy', 'sell']),
  /** Signed size the leg started with when adopted at start (0 for legs we opened). */
  adoptedSize: decimalCodec,
  /** Every order of this leg with its cumulative filled size: the leg's size is their signed sum. */
  orders: z.record(z.string(), legOrderCodec),
  /** Money from our fills and funding payments (core position accounting). */
  position: positionStateCodec,
  lastOrderAtMs: msSchema.optional(),
});
export type ArbLeg = z.output<typeof legCodec>;

export const ARB_PHASES = ['entering', 'open', 'exiting', 'unwinding', 'closed'] as const;
/** idle (no arb for the instrument) -> entering -> open -> exiting -> closed; entering/open -> unwinding -> open | closed. */
export type ArbPhase = (typeof ARB_PHASES)[number];

const arbCodec = z.object({
  arbId: z.string(),
  instrument: z.string(),
  phase: z.enum(ARB_PHASES),
  short: legCodec,
  long: legCodec,
  targetSize: decimalCodec,
  lotSize: decimalCodec,
  /** What the entry expected (the numbers of the enter decision). */
  entry: z.record(z.string(), z.string()),
  expectedNetCarry: decimalCodec,
  startedAtMs: msSchema,
  openedAtMs: msSchema.optional(),
  imbalanceUsedNotionalSeconds: decimalCodec,
  imbalanceCheckedAtMs: msSchema.optional(),
  hedgeAttempts: z.int().min(0),
  lastActionAtMs: msSchema.optional(),
  exitReason: z.string().optional(),
  exitDeferredReason: z.string().optional(),
  /** The last `signal` reason emitted by noteOnce (so a wait is reported once, not every input). */
  lastNote: z.string().optional(),
  closedAtMs: msSchema.optional(),
  closeReason: z.string().optional(),
  /** Filled at close: per-leg and total trading PnL, fees, funding, net. */
  result: z.record(z.string(), z.string()).optional(),
});
export type Arb = z.output<typeof arbCodec>;

const fundingArbStateCodec = z.object({
  /** Active arbs by instrument (at most one per instrument). */
  arbs: z.record(z.string(), arbCodec),
  /** Finished arbs, newest last (bounded). */
  closed: z.array(arbCodec),
  arbSeq: z.int().min(0),
  /** Entry condition currently holding, per instrument: which pair and since when. */
  candidates: z.record(z.string(), z.object({ pair: z.string(), sinceMs: msSchema })),
  lastSkip: z.record(z.string(), z.object({ reasonCode: z.string(), atMs: msSchema })),
});
export type FundingArbState = z.output<typeof fundingArbStateCodec>;

const MAX_CLOSED_ARBS = 50;
const BPS = dec(10_000);

type ArbStep = Step<FundingArbState, FundingArbConfig>;

// ---------------------------------------------------------------------------------------
// Public entry

export function fundingArbDecider(config: FundingArbConfig): StrategyDecider<StrategyState<FundingArbState>> {
  return buildDecider(config, {
    kind: 'funding_arb',
    strategyCodec: fundingArbStateCodec,
    initialStrategyState: () => ({ arbs: {}, closed: [], arbSeq: 0, candidates: {}, lastSkip: {} }),
    react,
    closeAll: (step) => {
      for (const arb of activeArbs(step.strategy)) {
        if (arb.phase === 'exiting' || arb.phase === 'closed') continue;
        startExit(step, arb, 'operator_close_all', {});
      }
    },
  });
}

function react(step: ArbStep, input: StrategyInput, fact: FactResult): void {
  if (fact.order?.group !== undefined) recordLegOrder(step, fact.order, fact.newFill);
  if (input.kind === 'funding_payment' && fact.newFundingPayment) recordFunding(step, input);
  if (input.kind === 'start') adoptAtStart(step);
  for (const arb of activeArbs(step.strategy)) manageArb(step, arb);
  if (step.world.tradingState !== 'active' || !step.world.started) return;
  for (const instrument of step.config.instruments) {
    if (step.strategy.arbs[instrument]) continue;
    const last = lastClosed(step.strategy, instrument);
    if (last?.closedAtMs !== undefined && step.nowMs - last.closedAtMs < step.config.reentryCooldownMs) {
      skip(
        step,
        instrument,
        'reentry_cooldown',
        `arb ${last.arbId} closed ${step.nowMs - last.closedAtMs} ms ago (${last.closeReason})`,
        {
          cooldown_ms: String(step.config.reentryCooldownMs),
        },
      );
      continue;
    }
    considerEntry(step, instrument);
  }
}

function lastClosed(state: FundingArbState, instrument: string): Arb | undefined {
  for (let i = state.closed.length - 1; i >= 0; i--)
    if (state.closed[i]!.instrument === instrument) return state.closed[i];
  return undefined;
}

function activeArbs(state: FundingArbState): Arb[] {
  return Object.keys(state.arbs)
    .sort()
    .map((k) => state.arbs[k]!);
}

// ---------------------------------------------------------------------------------------
// Market reading

interface VenueView {
  readonly venue: string;
  readonly account: string;
  readonly market: MarketState;
  readonly book: BookState;
  readonly funding: FundingState;
  readonly ratePerHour: Decimal;
  readonly mid: Decimal;
  readonly mark: Decimal;
  readonly feeRate: Decimal;
}

function venueView(
  step: ArbStep,
  venue: string,
  instrument: string,
  requireFresh: boolean,
): VenueView | undefined {
  const cfg = step.config.venues.find((v) => v.venue === venue);
  if (!cfg) return undefined;
  const key = marketKey(venue, instrument);
  const market = step.world.markets[key];
  const book = step.world.books[key];
  const funding = step.world.funding[key];
  if (!market || !book || !funding) return undefined;
  if (requireFresh) {
    if (step.nowMs - book.receivedAtMs > step.config.maxBookAgeMs) return undefined;
    if (step.nowMs - funding.receivedAtMs > step.config.maxFundingAgeMs) return undefined;
  }
  const mid = midOf(book);
  if (!mid) return undefined;
  return {
    venue,
    account: cfg.account,
    market,
    book,
    funding,
    ratePerHour: fundingRatePerHour(funding.rate, { intervalMs: funding.intervalMs }),
    mid,
    mark: funding.markPrice ?? mid,
    feeRate: cfg.feeMode === 'maker' ? market.makerFeeRate : market.takerFeeRate,
  };
}

function venueInputs(v: VenueView): Record<string, string> {
  const p = `${v.venue}.`;
  return {
    [`${p}rate`]: v.funding.rate.toFixed(),
    [`${p}interval_ms`]: String(v.funding.intervalMs),
    [`${p}rate_per_hour`]: v.ratePerHour.toFixed(),
    [`${p}next_funding_time_ms`]: String(v.funding.nextFundingTimeMs),
    [`${p}mark`]: v.mark.toFixed(),
    [`${p}mid`]: v.mid.toFixed(),
    [`${p}fee_rate`]: v.feeRate.toFixed(),
  };
}

/** The smallest size that is a whole number of lots on both venues (their least common multiple). */
export function commonLotSize(a: Decimal, b: Decimal): Decimal {
  const places = Math.max(a.decimalPlaces(), b.decimalPlaces());
  const scale = dec(10).pow(places);
  const ai = BigInt(a.mul(scale).toFixed(0));
  const bi = BigInt(b.mul(scale).toFixed(0));
  let x = ai;
  let y = bi;
  while (y !== 0n) [x, y] = [y, x % y];
  return dec(((ai / x) * bi).toString()).div(scale);
}

/** Fees and slippage of taking `size` on one venue, as cost (positive = we pay). */
function takeCost(
  v: VenueView,
  side: Side,
  size: Decimal,
): { fee: Decimal; slippage: Decimal; worst: Decimal } | undefined {
  const w = walk(v.book, side, size);
  if (!w.unfilled.isZero() || !w.vwap || !w.worstPrice) return undefined;
  const slippage = side === 'buy' ? w.vwap.minus(v.mid).mul(size) : v.mid.minus(w.vwap).mul(size);
  return { fee: w.notional.mul(v.feeRate), slippage, worst: w.worstPrice };
}

/** Funding each leg pays or receives at its venue's next settlement if that falls within the guard window. */
function imminentSettlement(
  step: ArbStep,
  legs: ReadonlyArray<{ view: VenueView | undefined; signedSize: Decimal }>,
): { net: Decimal; inputs: Record<string, string> } {
  let net = ZERO;
  const inputs: Record<string, string> = {};
  for (const { view, signedSize } of legs) {
    if (!view) continue;
    const untilMs = view.funding.nextFundingTimeMs - step.nowMs;
    if (untilMs <= 0 || untilMs > step.config.settlementGuardMs) continue;
    const payment = signedSize.neg().mul(view.mark).mul(view.funding.rate);
    inputs[`${view.venue}.next_settlement_in_ms`] = String(untilMs);
    inputs[`${view.venue}.next_settlement_payment`] = payment.toFixed();
    net = net.plus(payment);
  }
  inputs.imminent_settlement_net = net.toFixed();
  return { net, inputs };
}

// ---------------------------------------------------------------------------------------
// Entry

function skip(
  step: ArbStep,
  instrument: string,
  reasonCode: string,
  message: string,
  inputs: Record<string, string>,
) {
  delete step.strategy.candidates[instrument];
  const last = step.strategy.lastSkip[instrument];
  if (last && last.reasonCode === reasonCode && step.nowMs - last.atMs < step.config.skipReportIntervalMs)
    return;
  step.strategy.lastSkip[instrument] = { reasonCode, atMs: step.nowMs };
  step.decide({ kind: 'skip', reasonCode, message, inputs: { instrument, ...inputs } });
}

interface EntryPlan {
  readonly short: VenueView;
  readonly long: VenueView;
  readonly size: Decimal;
  readonly lot: Decimal;
  readonly netCarry: Decimal;
  readonly shortWorst: Decimal;
  readonly longWorst: Decimal;
  readonly inputs: Record<string, string>;
}

function considerEntry(step: ArbStep, instrument: string): void {
  const cfg = step.config;
  const views = cfg.venues
    .map((v) => venueView(step, v.venue, instrument, true))
    .filter((v): v is VenueView => v !== undefined);
  if (views.length < 2) {
    skip(
      step,
      instrument,
      'insufficient_market_data',
      `fresh market, book and funding on ${views.length} venue(s); need 2`,
      {
        venues_ready: views.map((v) => v.venue).join(','),
      },
    );
    return;
  }
  // Per-hour rates only: a raw 8 h rate next to a raw 1 h rate says nothing.
  let best: { short: VenueView; long: VenueView; spread: Decimal } | undefined;
  for (const a of views) {
    for (const b of views) {
      if (a === b) continue;
      const spread = a.ratePerHour.minus(b.ratePerHour);
      if (!best || spread.gt(best.spread)) best = { short: a, long: b, spread };
    }
  }
  const { short, long, spread } = best!;
  const inputs: Record<string, string> = {
    ...venueInputs(short),
    ...venueInputs(long),
    short_venue: short.venue,
    long_venue: long.venue,
    spread_per_hour: spread.toFixed(),
  };
  if (!spread.gt(0)) {
    skip(
      step,
      instrument,
      'no_positive_spread',
      'no venue pair has a positive per-hour funding spread',
      inputs,
    );
    return;
  }
  const plan = planEntry(step, instrument, short, long, inputs);
  if (!plan) return;

  const imminent = imminentSettlement(step, [
    { view: short, signedSize: plan.size.neg() },
    { view: long, signedSize: plan.size },
  ]);
  if (imminent.net.lt(0)) {
    skip(
      step,
      instrument,
      'adverse_settlement_imminent',
      'a settlement within the guard window would cost the new position',
      {
        ...plan.inputs,
        ...imminent.inputs,
      },
    );
    return;
  }

  const pair = `${short.venue}>${long.venue}`;
  const candidate = step.strategy.candidates[instrument];
  if (!candidate || candidate.pair !== pair) {
    step.strategy.candidates[instrument] = { pair, sinceMs: step.nowMs };
    delete step.strategy.lastSkip[instrument];
    step.decide({
      kind: 'signal',
      reasonCode: 'entry_condition_started',
      message: `net carry clears the threshold for ${pair}; waiting ${cfg.persistenceMs} ms`,
      inputs: { instrument, ...plan.inputs },
    });
  }
  const sinceMs = step.strategy.candidates[instrument]!.sinceMs;
  if (step.nowMs - sinceMs < cfg.persistenceMs) return;
  enter(step, instrument, plan, sinceMs);
}

function planEntry(
  step: ArbStep,
  instrument: string,
  short: VenueView,
  long: VenueView,
  inputs: Record<string, string>,
): EntryPlan | undefined {
  const cfg = step.config;
  const lot = commonLotSize(short.market.lotSize, long.market.lotSize);
  const price = maxDec(short.mid, long.mid);
  const caps: Record<string, Decimal> = {
    target: cfg.targetNotionalPerLeg.div(price),
    risk_instrument: cfg.risk.maxNotionalPerInstrument.div(price),
  };
  for (const [name, v] of [
    ['short', short],
    ['long', long],
  ] as const) {
    const balance = step.world.balances[accountKey(v.venue, v.account)];
    if (!balance) {
      skip(step, instrument, 'unknown_balance', `no balance known for ${v.venue}/${v.account}`, inputs);
      return undefined;
    }
    const leverage = minDec(cfg.risk.leverage, v.market.maxLeverage);
    // margin + taker fee must fit: n / lev + n x fee <= available x usage
    const maxNotional = balance.available
      .mul(cfg.risk.availableBalanceUsage)
      .div(dec(1).div(leverage).plus(v.market.takerFeeRate.abs()));
    caps[`balance_${name}`] = maxNotional.div(v.mid);
    inputs[`${v.venue}.available`] = balance.available.toFixed();
  }
  const raw = Object.values(caps).reduce((a, b) => minDec(a, b));
  const size = roundToStep(raw.isNeg() ? ZERO : raw, lot, 'down');
  const minSize = maxDec(short.market.minSize, long.market.minSize);
  const minNotional = maxDec(short.market.minNotional, long.market.minNotional);
  Object.assign(inputs, {
    common_lot: lot.toFixed(),
    size: size.toFixed(),
    size_limited_by: Object.entries(caps).find(([, c]) => c.eq(raw))?.[0] ?? '',
    min_size: minSize.toFixed(),
    min_notional: minNotional.toFixed(),
  });
  if (size.isZero() || size.lt(minSize) || size.mul(minDec(short.mid, long.mid)).lt(minNotional)) {
    skip(
      step,
      instrument,
      'size_below_minimum',
      `size ${size.toFixed()} is below the venues' minimums or zero`,
      inputs,
    );
    return undefined;
  }

  const shortIn = takeCost(short, 'sell', size);
  const longIn = takeCost(long, 'buy', size);
  const shortOut = takeCost(short, 'buy', size);
  const longOut = takeCost(long, 'sell', size);
  if (!shortIn || !longIn || !shortOut || !longOut) {
    skip(
      step,
      instrument,
      'insufficient_depth',
      `the visible books cannot fill ${size.toFixed()} on both legs`,
      inputs,
    );
    return undefined;
  }
  const hours = dec(cfg.holdingHorizonMs).div(MS_PER_HOUR);
  const grossCarry = short.ratePerHour
    .mul(short.mark)
    .minus(long.ratePerHour.mul(long.mark))
    .mul(size)
    .mul(hours);
  const entryFees = shortIn.fee.plus(longIn.fee);
  const exitFees = shortOut.fee.plus(longOut.fee);
  const entrySlippage = shortIn.slippage.plus(longIn.slippage);
  const exitSlippage = shortOut.slippage.plus(longOut.slippage);
  const netCarry = grossCarry.minus(entryFees).minus(exitFees).minus(entrySlippage).minus(exitSlippage);
  const notional = size.mul(price);
  const netCarryBps = netCarry.div(notional).mul(BPS);
  Object.assign(inputs, {
    notional: notional.toFixed(),
    holding_horizon_ms: String(cfg.holdingHorizonMs),
    gross_carry: grossCarry.toFixed(),
    entry_fees: entryFees.toFixed(),
    exit_fees: exitFees.toFixed(),
    entry_slippage: entrySlippage.toFixed(),
    exit_slippage: exitSlippage.toFixed(),
    net_carry: netCarry.toFixed(),
    net_carry_bps: netCarryBps.toFixed(4),
    entry_threshold_bps: cfg.entryThresholdBps.toFixed(),
    persistence_ms: String(cfg.persistenceMs),
  });
  if (!netCarry.gt(0) || netCarryBps.lt(cfg.entryThresholdBps)) {
    skip(
      step,
      instrument,
      'net_carry_below_threshold',
      `net carry ${netCarry.toFixed(6)} (${netCarryBps.toFixed(2)} bps) = gross ${grossCarry.toFixed(6)} - fees ${entryFees.plus(exitFees).toFixed(6)} - slippage ${entrySlippage.plus(exitSlippage).toFixed(6)}; threshold ${cfg.entryThresholdBps.toFixed()} bps`,
      inputs,
    );
    return undefined;
  }
  return { short, long, size, lot, netCarry, shortWorst: shortIn.worst, longWorst: longIn.worst, inputs };
}

function emptyLeg(venue: string, account: string, instrument: string, entrySide: Side): ArbLeg {
  return {
    venue,
    account,
    instrument,
    entrySide,
    adoptedSize: ZERO,
    orders: {},
    position: { ...FLAT_POSITION },
  };
}

function enter(step: ArbStep, instrument: string, plan: EntryPlan, sinceMs: number): void {
  step.strategy.arbSeq += 1;
  const arbId = `${instrument}#${step.strategy.arbSeq}`;
  const requests = [
    legRequest(step, plan.short, 'sell', plan.size, false, 'entry', arbId, plan.shortWorst),
    legRequest(step, plan.long, 'buy', plan.size, false, 'entry', arbId, plan.longWorst),
  ];
  const inputs = { ...plan.inputs, instrument, arb_id: arbId, condition_since_ms: String(sinceMs) };
  const result = step.place(requests, {
    kind: 'enter',
    reasonCode: 'net_carry_above_threshold',
    message: `short ${plan.short.venue} / long ${plan.long.venue} ${plan.size.toFixed()} ${instrument}: net carry ${plan.netCarry.toFixed(6)} over the horizon`,
    inputs,
  });
  delete step.strategy.candidates[instrument];
  if (!result.ok) {
    step.strategy.arbSeq -= 1;
    step.strategy.lastSkip[instrument] = {
      reasonCode: `deny:${result.verdict.reasonCode}`,
      atMs: step.nowMs,
    };
    return;
  }
  const arb: Arb = {
    arbId,
    instrument,
    phase: 'entering',
    short: emptyLeg(plan.short.venue, plan.short.account, instrument, 'sell'),
    long: emptyLeg(plan.long.venue, plan.long.account, instrument, 'buy'),
    targetSize: plan.size,
    lotSize: plan.lot,
    entry: inputs,
    expectedNetCarry: plan.netCarry,
    startedAtMs: step.nowMs,
    imbalanceUsedNotionalSeconds: ZERO,
    hedgeAttempts: 0,
    lastActionAtMs: step.nowMs,
  };
  for (const order of result.orders) attachOrder(arb, order);
  step.strategy.arbs[instrument] = arb;
}

/** An order for one leg: market, or an IOC limit past the walked worst price by maxSlippageBps. */
function legRequest(
  step: ArbStep,
  view: Pick<VenueView, 'venue' | 'account' | 'market'> & { book?: BookState },
  side: Side,
  size: Decimal,
  reduceOnly: boolean,
  role: string,
  arbId: string,
  worstPrice: Decimal | undefined,
): PlaceRequest {
  const base = {
    venue: view.venue,
    account: view.account,
    instrument: view.market.instrument,
    side,
    size,
    reduceOnly,
    role,
    group: arbId,
  };
  const worst = worstPrice ?? (view.book ? walk(view.book, side, size).worstPrice : undefined);
  if (step.config.orderType === 'market' || !worst) {
    return { ...base, type: 'market', timeInForce: 'ioc', price: undefined };
  }
  const slip = step.config.maxSlippageBps.div(BPS);
  const price =
    side === 'buy'
      ? roundToStep(worst.mul(dec(1).plus(slip)), view.market.tickSize, 'up')
      : roundToStep(worst.mul(dec(1).minus(slip)), view.market.tickSize, 'down');
  return { ...base, type: 'limit', timeInForce: 'ioc', price };
}

function attachOrder(arb: Arb, order: OwnOrder): void {
  const leg = order.venue === arb.short.venue ? arb.short : arb.long;
  leg.orders[order.clientOrderId] = { side: order.side, filled: order.filled, role: order.role };
  leg.lastOrderAtMs = order.createdAtMs;
}

// ---------------------------------------------------------------------------------------
// Recording fills and funding in the arb book

function findArb(step: ArbStep, arbId: string): Arb | undefined {
  return (
    Object.values(step.strategy.arbs).find((a) => a.arbId === arbId) ??
    step.strategy.closed.find((a) => a.arbId === arbId)
  );
}

function recordLegOrder(step: ArbStep, order: OwnOrder, fill: FactResult['newFill']): void {
  const arb = findArb(step, order.group!);
  if (!arb) return;
  const leg =
    order.venue === arb.short.venue ? arb.short : order.venue === arb.long.venue ? arb.long : undefined;
  if (!leg) return;
  const entry = leg.orders[order.clientOrderId];
  if (entry) entry.filled = order.filled;
  else leg.orders[order.clientOrderId] = { side: order.side, filled: order.filled, role: order.role };
  if (fill) {
    leg.position = applyFill(leg.position as PositionState, {
      side: fill.side,
      price: fill.price,
      size: fill.size,
      fee: fill.fee,
    }) as ArbLeg['position'];
    if (arb.phase === 'closed') arb.result = arbResult(arb);
  }
}

function recordFunding(step: ArbStep, p: Extract<StrategyInput, { kind: 'funding_payment' }>): void {
  const matches = (leg: ArbLeg) =>
    leg.venue === p.venue && leg.account === p.account && leg.instrument === p.instrument;
  let arb = step.strategy.arbs[p.instrument];
  // A payment for a settlement while the arb was open can arrive after it closed.
  if (!arb || !(matches(arb.short) || matches(arb.long))) {
    arb = [...step.strategy.closed]
      .reverse()
      .find(
        (a) =>
          a.instrument === p.instrument &&
          (matches(a.short) || matches(a.long)) &&
          a.closedAtMs !== undefined &&
          p.fundingTimeMs <= a.closedAtMs,
      );
  }
  if (!arb) return;
  const leg = matches(arb.short) ? arb.short : arb.long;
  leg.position = applyFunding(leg.position as PositionState, {
    amount: p.amount,
    tsEventMs: p.fundingTimeMs,
  }) as ArbLeg['position'];
  if (arb.phase === 'closed' && arb.result) arb.result = arbResult(arb);
}

// ---------------------------------------------------------------------------------------
// Managing an active arb

/** Signed size of a leg: what it was adopted with plus the signed filled sizes of its orders. */
export function legSize(leg: ArbLeg): Decimal {
  return Object.values(leg.orders).reduce(
    (sum, o) => (o.side === 'buy' ? sum.plus(o.filled) : sum.minus(o.filled)),
    leg.adoptedSize,
  );
}

/** What the leg still holds in its own direction (never negative). */
function legOpenSize(leg: ArbLeg): Decimal {
  const signed = legSize(leg);
  const inDirection = leg.entrySide === 'buy' ? signed : signed.neg();
  return inDirection.isNeg() ? ZERO : inDirection;
}

/** What can be closed on the leg: the leg's size, but never more than the venue position in that direction. */
function legClosable(step: ArbStep, leg: ArbLeg): Decimal {
  const venue = positionSize(step.world, leg.venue, leg.account, leg.instrument);
  const venueInDirection = leg.entrySide === 'buy' ? venue : venue.neg();
  return minDec(legOpenSize(leg), venueInDirection.isNeg() ? ZERO : venueInDirection);
}

function arbOrders(step: ArbStep, arb: Arb, leg?: ArbLeg): OwnOrder[] {
  const legs = leg ? [leg] : [arb.short, arb.long];
  return legs
    .flatMap((l) => Object.keys(l.orders))
    .map((id) => step.world.orders[id])
    .filter((o): o is OwnOrder => o !== undefined && isOpenOrder(o));
}

function legView(step: ArbStep, leg: ArbLeg) {
  const key = marketKey(leg.venue, leg.instrument);
  const market = step.world.markets[key];
  const book = step.world.books[key];
  return market ? { venue: leg.venue, account: leg.account, market, ...(book ? { book } : {}) } : undefined;
}

function arbInputs(step: ArbStep, arb: Arb): Record<string, string> {
  const shortSize = legOpenSize(arb.short);
  const longSize = legOpenSize(arb.long);
  return {
    arb_id: arb.arbId,
    instrument: arb.instrument,
    phase: arb.phase,
    short_venue: arb.short.venue,
    long_venue: arb.long.venue,
    target_size: arb.targetSize.toFixed(),
    short_size: shortSize.toFixed(),
    long_size: longSize.toFixed(),
    imbalance: shortSize.minus(longSize).toFixed(),
    imbalance_used_notional_seconds: arb.imbalanceUsedNotionalSeconds.toFixed(),
    imbalance_budget_notional_seconds: step.config.legImbalanceBudgetNotionalSeconds.toFixed(),
    hedge_attempts: String(arb.hedgeAttempts),
  };
}

function manageArb(step: ArbStep, arb: Arb): void {
  const cfg = step.config;
  // Orders that never got an answer are canceled; their outcome then drives the next move.
  const stuck = arbOrders(step, arb).filter((o) => step.nowMs - o.createdAtMs >= cfg.orderTimeoutMs);
  if (stuck.length > 0) {
    step.cancel(stuck, {
      kind: 'cancel',
      reasonCode: 'order_timeout',
      message: `arb orders open longer than ${cfg.orderTimeoutMs} ms`,
      inputs: arbInputs(step, arb),
    });
  }

  const shortSize = legOpenSize(arb.short);
  const longSize = legOpenSize(arb.long);
  const imbalance = shortSize.minus(longSize); // > 0: the short leg leads
  const absImbalance = imbalance.abs();
  const balanced = absImbalance.lt(arb.lotSize);
  spendImbalanceBudget(step, arb, balanced ? ZERO : absImbalance);
  const budgetLeft = arb.imbalanceUsedNotionalSeconds.lt(cfg.legImbalanceBudgetNotionalSeconds);
  const open = arbOrders(step, arb);
  const halted = step.world.tradingState === 'halted';

  switch (arb.phase) {
    case 'entering': {
      if (shortSize.gte(arb.targetSize) && longSize.gte(arb.targetSize)) {
        markOpen(step, arb, 'legs_filled');
        return;
      }
      if (!balanced && !budgetLeft && open.length > 0) {
        step.cancel(open, {
          kind: 'cancel',
          reasonCode: 'imbalance_budget_exhausted',
          message: 'leg-imbalance budget spent while orders are open: canceling them to unwind',
          inputs: arbInputs(step, arb),
        });
        arb.phase = 'unwinding';
        return;
      }
      if (open.length > 0) return;
      if (balanced) {
        if (minDec(shortSize, longSize).gt(0)) markOpen(step, arb, 'legs_filled_partially');
        else closeArb(step, arb, 'entry_failed');
        return;
      }
      if (halted) return;
      const lagging = imbalance.isPos() ? arb.long : arb.short;
      const lastLagging = lastOrder(step, lagging);
      const rejected = lastLagging?.status === 'rejected';
      if (!rejected && budgetLeft && arb.hedgeAttempts < cfg.maxHedgeAttempts) {
        hedge(step, arb, lagging, absImbalance, lastLagging);
      } else {
        arb.phase = 'unwinding';
        unwind(
          step,
          arb,
          imbalance,
          rejected ? 'leg_rejected' : budgetLeft ? 'hedge_attempts_exhausted' : 'imbalance_budget_exhausted',
          lastLagging,
        );
      }
      return;
    }
    case 'unwinding': {
      if (open.length > 0) return;
      if (balanced) {
        if (minDec(shortSize, longSize).gt(0)) markOpen(step, arb, 'unwound_to_matched_size');
        else closeArb(step, arb, 'entry_failed');
        return;
      }
      if (halted || !retryDue(step, arb)) return;
      unwind(step, arb, imbalance, 'imbalance_remaining', undefined);
      return;
    }
    case 'open': {
      if (!balanced) {
        arb.phase = 'unwinding';
        step.decide({
          kind: 'signal',
          reasonCode: 'leg_imbalance_detected',
          message: 'open arb legs differ; unwinding the larger leg',
          inputs: arbInputs(step, arb),
        });
        return;
      }
      checkExit(step, arb);
      return;
    }
    case 'exiting': {
      const shortLeft = legClosable(step, arb.short);
      const longLeft = legClosable(step, arb.long);
      if (open.length === 0 && shortLeft.isZero() && longLeft.isZero()) {
        closeArb(step, arb, arb.exitReason ?? 'exit');
        return;
      }
      if (halted || !retryDue(step, arb)) return;
      const legs = [arb.short, arb.long].filter(
        (leg) => arbOrders(step, arb, leg).length === 0 && legClosable(step, leg).gt(0),
      );
      if (legs.length > 0) placeExit(step, arb, legs, 'exit_retry');
      return;
    }
    case 'closed':
      return;
  }
}

function noteOnce(
  step: ArbStep,
  arb: Arb,
  reasonCode: string,
  message: string,
  inputs: Record<string, string>,
): void {
  if (arb.lastNote === reasonCode) return;
  arb.lastNote = reasonCode;
  step.decide({ kind: 'signal', reasonCode, message, inputs });
}

/**
 * True when every filled size the venue reported has its fill (price, fee) recorded, or
 * when waiting for them took longer than the order timeout: the arb's result is only
 * final with the fills in it.
 */
function fillsSettled(step: ArbStep, arb: Arb): boolean {
  const missing = [arb.short, arb.long]
    .flatMap((leg) => Object.keys(leg.orders))
    .map((id) => step.world.orders[id])
    .filter((o): o is OwnOrder => o !== undefined && o.fillSize.lt(o.filled));
  if (missing.length === 0) return true;
  const since = Math.max(...missing.map((o) => o.updatedAtMs));
  if (step.nowMs - since >= step.config.orderTimeoutMs) return true;
  noteOnce(step, arb, 'waiting_for_fills', 'orders report fills whose prices and fees have not arrived yet', {
    ...arbInputs(step, arb),
    client_order_ids: missing.map((o) => o.clientOrderId).join(','),
  });
  return false;
}

function retryDue(step: ArbStep, arb: Arb): boolean {
  return arb.lastActionAtMs === undefined || step.nowMs - arb.lastActionAtMs >= step.config.retryIntervalMs;
}

function lastOrder(step: ArbStep, leg: ArbLeg): OwnOrder | undefined {
  const ids = Object.keys(leg.orders);
  const orders = ids.map((id) => step.world.orders[id]).filter((o): o is OwnOrder => o !== undefined);
  orders.sort((a, b) => a.createdAtMs - b.createdAtMs || a.clientOrderId.localeCompare(b.clientOrderId));
  return orders[orders.length - 1];
}

function spendImbalanceBudget(step: ArbStep, arb: Arb, imbalance: Decimal): void {
  const last = arb.imbalanceCheckedAtMs;
  arb.imbalanceCheckedAtMs = step.nowMs;
  if (last === undefined || imbalance.isZero()) return;
  const price =
    midOf(step.world.books[marketKey(arb.short.venue, arb.instrument)]) ?? arb.short.position.entryPrice;
  if (!price) return;
  const seconds = dec(Math.max(0, step.nowMs - last)).div(1000);
  arb.imbalanceUsedNotionalSeconds = arb.imbalanceUsedNotionalSeconds.plus(imbalance.mul(price).mul(seconds));
}

function hedge(
  step: ArbStep,
  arb: Arb,
  lagging: ArbLeg,
  size: Decimal,
  lastLagging: OwnOrder | undefined,
): void {
  const view = legView(step, lagging);
  arb.hedgeAttempts += 1;
  arb.lastActionAtMs = step.nowMs;
  if (!view) return;
  const result = step.place(
    [
      legRequest(
        step,
        view,
        lagging.entrySide,
        roundToStep(size, arb.lotSize, 'down'),
        false,
        'hedge',
        arb.arbId,
        undefined,
      ),
    ],
    {
      kind: 'hedge',
      reasonCode: lastLagging ? `lagging_leg_${lastLagging.status}` : 'lagging_leg',
      message: `top up the ${lagging === arb.short ? 'short' : 'long'} leg on ${lagging.venue} by ${size.toFixed()}`,
      inputs: {
        ...arbInputs(step, arb),
        lagging_venue: lagging.venue,
        lagging_last_reason: lastLagging?.reason ?? '',
      },
    },
  );
  if (result.ok) for (const o of result.orders) attachOrder(arb, o);
}

/** Reduce-only on the leading leg by the imbalance (risk caps it to the venue position). */
function unwind(
  step: ArbStep,
  arb: Arb,
  imbalance: Decimal,
  reasonCode: string,
  lastLagging: OwnOrder | undefined,
): void {
  const leading = imbalance.isPos() ? arb.short : arb.long;
  const size = minDec(imbalance.abs(), legClosable(step, leading));
  arb.lastActionAtMs = step.nowMs;
  const inputs = {
    ...arbInputs(step, arb),
    leading_venue: leading.venue,
    lagging_last_status: lastLagging?.status ?? '',
    lagging_last_reason: lastLagging?.reason ?? '',
    unwind_size: size.toFixed(),
  };
  if (!size.gt(0)) {
    // Our fills say the leg holds more than the venue position shows: the position or the
    // fill is still on its way. Wait for it rather than guess.
    noteOnce(
      step,
      arb,
      'waiting_for_venue_position',
      `the venue does not show the ${leading === arb.short ? 'short' : 'long'} leg on ${leading.venue} yet`,
      inputs,
    );
    return;
  }
  const view = legView(step, leading);
  if (!view) return;
  const side: Side = leading.entrySide === 'buy' ? 'sell' : 'buy';
  const result = step.place([legRequest(step, view, side, size, true, 'unwind', arb.arbId, undefined)], {
    kind: 'unwind',
    reasonCode,
    message: `reduce the ${leading === arb.short ? 'short' : 'long'} leg on ${leading.venue} by ${size.toFixed()} (reduce-only) to match the other leg`,
    inputs,
  });
  if (result.ok) for (const o of result.orders) attachOrder(arb, o);
}

function markOpen(step: ArbStep, arb: Arb, reasonCode: string): void {
  arb.phase = 'open';
  arb.openedAtMs = step.nowMs;
  step.decide({
    kind: 'signal',
    reasonCode,
    message: `arb open: short ${legOpenSize(arb.short).toFixed()} on ${arb.short.venue}, long ${legOpenSize(arb.long).toFixed()} on ${arb.long.venue}`,
    inputs: {
      ...arbInputs(step, arb),
      short_entry_price: arb.short.position.entryPrice?.toFixed() ?? '',
      long_entry_price: arb.long.position.entryPrice?.toFixed() ?? '',
      entry_fees: arb.short.position.fees.plus(arb.long.position.fees).toFixed(),
    },
  });
}

function checkExit(step: ArbStep, arb: Arb): void {
  const cfg = step.config;
  const shortView = venueView(step, arb.short.venue, arb.instrument, false);
  const longView = venueView(step, arb.long.venue, arb.instrument, false);
  const size = legOpenSize(arb.short);
  const heldMs = step.nowMs - (arb.openedAtMs ?? arb.startedAtMs);
  const inputs: Record<string, string> = { ...arbInputs(step, arb), held_ms: String(heldMs) };
  let reason: string | undefined;
  let message = '';
  if (heldMs >= cfg.maxHoldingMs) {
    reason = 'max_holding_time';
    message = `held ${heldMs} ms >= max ${cfg.maxHoldingMs} ms`;
  }
  if (!shortView || !longView) {
    if (reason) startExit(step, arb, reason, inputs, message);
    return;
  }
  Object.assign(inputs, venueInputs(shortView), venueInputs(longView));
  const spread = shortView.ratePerHour.minus(longView.ratePerHour);
  const exitSpread = cfg.exitSpreadBpsPerHour.div(BPS);
  inputs.spread_per_hour = spread.toFixed();
  inputs.exit_spread_per_hour = exitSpread.toFixed();
  if (!reason && spread.lt(exitSpread)) {
    reason = 'spread_reversal';
    message = `per-hour spread ${spread.toFixed()} < exit threshold ${exitSpread.toFixed()}`;
  }
  const notional = size.mul(shortView.mid);
  if (!reason && cfg.takeProfitBps) {
    const pnl = markedPnlAfterExit(arb, shortView, longView, size);
    const target = cfg.takeProfitBps.mul(notional).div(BPS);
    inputs.marked_pnl_after_exit_costs = pnl?.toFixed() ?? '';
    inputs.take_profit_target = target.toFixed();
    if (pnl?.gte(target)) {
      reason = 'take_profit';
      message = `marked PnL after exit costs ${pnl.toFixed(6)} >= target ${target.toFixed(6)}`;
    }
  }
  const imminent = imminentSettlement(step, [
    { view: shortView, signedSize: size.neg() },
    { view: longView, signedSize: legOpenSize(arb.long) },
  ]);
  Object.assign(inputs, imminent.inputs);
  if (!reason && imminent.net.lt(0)) {
    // Worth leaving only if the payment costs more than what staying is expected to earn.
    const remainingMs = Math.max(0, Math.min(cfg.holdingHorizonMs, cfg.maxHoldingMs - heldMs));
    const stayValue = maxDec(spread, ZERO).mul(notional).mul(dec(remainingMs).div(MS_PER_HOUR));
    inputs.stay_value = stayValue.toFixed();
    if (imminent.net.abs().gt(stayValue)) {
      reason = 'adverse_settlement';
      message = `next settlement costs ${imminent.net.abs().toFixed(6)} > expected carry of staying ${stayValue.toFixed(6)}`;
    }
  }
  if (!reason) {
    delete arb.exitDeferredReason;
    return;
  }
  if (reason !== 'adverse_settlement' && imminent.net.gt(0)) {
    // Closing now forfeits a payment due within the guard window: wait for it.
    if (arb.exitDeferredReason !== reason) {
      arb.exitDeferredReason = reason;
      step.decide({
        kind: 'signal',
        reasonCode: 'exit_deferred_for_settlement',
        message: `${reason}, but a settlement paying ${imminent.net.toFixed(6)} is due first`,
        inputs: { ...inputs, exit_reason: reason },
      });
    }
    return;
  }
  startExit(step, arb, reason, inputs, message);
}

/** Realized + unrealized (at mid) + funding of both legs, minus fees and slippage of closing now. */
function markedPnlAfterExit(
  arb: Arb,
  shortView: VenueView,
  longView: VenueView,
  size: Decimal,
): Decimal | undefined {
  const shortOut = takeCost(shortView, 'buy', size);
  const longOut = takeCost(longView, 'sell', size);
  if (!shortOut || !longOut) return undefined;
  let pnl = ZERO;
  for (const [leg, view] of [
    [arb.short, shortView],
    [arb.long, longView],
  ] as const) {
    const p = leg.position;
    const unrealized = p.entryPrice ? view.mid.minus(p.entryPrice).mul(p.size) : ZERO;
    pnl = pnl.plus(p.netRealizedPnl).plus(unrealized);
  }
  return pnl.minus(shortOut.fee).minus(longOut.fee).minus(shortOut.slippage).minus(longOut.slippage);
}

function startExit(
  step: ArbStep,
  arb: Arb,
  reason: string,
  inputs: Record<string, string>,
  message = reason,
): void {
  arb.phase = 'exiting';
  arb.exitReason = reason;
  delete arb.exitDeferredReason;
  const legs = [arb.short, arb.long].filter((leg) => legClosable(step, leg).gt(0));
  if (legs.length === 0 || step.world.tradingState === 'halted') {
    arb.lastActionAtMs = step.nowMs;
    step.decide({
      kind: 'exit',
      reasonCode: reason,
      message,
      inputs: { ...arbInputs(step, arb), ...inputs },
    });
    return;
  }
  placeExit(step, arb, legs, reason, inputs, message);
}

function placeExit(
  step: ArbStep,
  arb: Arb,
  legs: ReadonlyArray<ArbLeg>,
  reasonCode: string,
  inputs: Record<string, string> = {},
  message?: string,
): void {
  arb.lastActionAtMs = step.nowMs;
  const requests: PlaceRequest[] = [];
  for (const leg of legs) {
    const view = legView(step, leg);
    const size = legClosable(step, leg);
    if (!view || !size.gt(0)) continue;
    const side: Side = leg.entrySide === 'buy' ? 'sell' : 'buy';
    requests.push(legRequest(step, view, side, size, true, 'exit', arb.arbId, undefined));
  }
  if (requests.length === 0) return;
  const result = step.place(requests, {
    kind: 'exit',
    reasonCode,
    message: message ?? `close the remaining legs (${arb.exitReason ?? reasonCode}), reduce-only`,
    inputs: { ...arbInputs(step, arb), ...inputs, exit_reason: arb.exitReason ?? reasonCode },
  });
  if (result.ok) for (const o of result.orders) attachOrder(arb, o);
}

function arbResult(arb: Arb): Record<string, string> {
  const out: Record<string, string> = {};
  let trading = ZERO;
  let fees = ZERO;
  let funding = ZERO;
  for (const [name, leg] of [
    ['short', arb.short],
    ['long', arb.long],
  ] as const) {
    const p = leg.position;
    out[`${name}.trading_pnl`] = p.tradingPnl.toFixed();
    out[`${name}.fees`] = p.fees.toFixed();
    out[`${name}.funding_received`] = p.funding.toFixed();
    out[`${name}.net_pnl`] = p.netRealizedPnl.toFixed();
    trading = trading.plus(p.tradingPnl);
    fees = fees.plus(p.fees);
    funding = funding.plus(p.funding);
  }
  out.trading_pnl = trading.toFixed();
  out.fees = fees.toFixed();
  out.funding_received = funding.toFixed();
  out.carry_net_of_fees = funding.minus(fees).toFixed();
  out.net_pnl = trading.minus(fees).plus(funding).toFixed();
  out.expected_net_carry = arb.expectedNetCarry.toFixed();
  return out;
}

function closeArb(step: ArbStep, arb: Arb, reason: string): void {
  if (!fillsSettled(step, arb)) return;
  arb.phase = 'closed';
  arb.closedAtMs = step.nowMs;
  arb.closeReason = reason;
  arb.result = arbResult(arb);
  step.decide({
    kind: 'closed',
    reasonCode: reason,
    message: `arb ${arb.arbId} closed (${reason}): net ${arb.result.net_pnl}, funding ${arb.result.funding_received}, fees ${arb.result.fees}`,
    inputs: { ...arbInputs(step, arb), ...arb.result },
  });
  delete step.strategy.arbs[arb.instrument];
  step.strategy.closed.push(arb);
  if (step.strategy.closed.length > MAX_CLOSED_ARBS) step.strategy.closed.shift();
}

// ---------------------------------------------------------------------------------------
// Start: adopt what the venues show

function adoptAtStart(step: ArbStep): void {
  const known = new Set(
    activeArbs(step.strategy).flatMap((a) => [...Object.keys(a.short.orders), ...Object.keys(a.long.orders)]),
  );
  const open = Object.values(step.world.orders).filter(isOpenOrder);
  const resumed = open.filter((o) => known.has(o.clientOrderId));
  if (resumed.length > 0) {
    step.decide({
      kind: 'adopt',
      reasonCode: 'orders_resumed',
      message: `${resumed.length} open arb order(s) from the saved book are still open`,
      inputs: { client_order_ids: resumed.map((o) => o.clientOrderId).join(',') },
    });
  }
  const stray = open.filter((o) => !known.has(o.clientOrderId));
  if (stray.length > 0) {
    step.cancel(stray, {
      kind: 'cancel',
      reasonCode: 'stray_order_at_start',
      message: 'own open orders that no arb in the book accounts for',
      inputs: {},
    });
  }

  for (const instrument of step.config.instruments) {
    const arb = step.strategy.arbs[instrument];
    const held = step.config.venues
      .map((v) => ({ ...v, size: positionSize(step.world, v.venue, v.account, instrument) }))
      .filter((v) => !v.size.isZero());
    if (arb) {
      for (const leg of [arb.short, arb.long]) {
        const venue = positionSize(step.world, leg.venue, leg.account, instrument);
        const mine = legSize(leg);
        if (!venue.eq(mine)) {
          step.decide({
            kind: 'adopt',
            reasonCode: 'position_mismatch',
            message: `the saved leg on ${leg.venue} is ${mine.toFixed()}, the venue shows ${venue.toFixed()}; closes are capped to the venue`,
            inputs: {
              ...arbInputs(step, arb),
              venue: leg.venue,
              leg_size: mine.toFixed(),
              venue_size: venue.toFixed(),
            },
          });
        }
      }
      continue;
    }
    if (held.length === 0) continue;
    adoptPositions(step, instrument, held);
  }
}

function adoptPositions(
  step: ArbStep,
  instrument: string,
  held: ReadonlyArray<{ venue: string; account: string; size: Decimal }>,
): void {
  const shorts = held.filter((h) => h.size.isNeg()).sort((a, b) => a.size.cmp(b.size));
  const longs = held.filter((h) => h.size.isPos()).sort((a, b) => b.size.cmp(a.size));
  const other = (venue: string) => step.config.venues.find((v) => v.venue !== venue)!;
  const shortPick = shorts[0] ?? (longs[0] ? { ...other(longs[0].venue), size: ZERO } : undefined);
  const longPick = longs[0] ?? (shorts[0] ? { ...other(shorts[0].venue), size: ZERO } : undefined);
  if (!shortPick || !longPick) return;
  const lots = [shortPick, longPick].map((p) => step.world.markets[marketKey(p.venue, instrument)]?.lotSize);
  const lot =
    lots[0] && lots[1] ? commonLotSize(lots[0], lots[1]) : (lots[0] ?? lots[1] ?? dec('0.00000001'));
  step.strategy.arbSeq += 1;
  const arbId = `${instrument}#${step.strategy.arbSeq}`;
  const leg = (p: { venue: string; account: string; size: Decimal }, entrySide: Side): ArbLeg => {
    const l = emptyLeg(p.venue, p.account, instrument, entrySide);
    l.adoptedSize = p.size;
    const entryPrice = step.world.positions[`${p.venue}|${p.account}|${instrument}`]?.entryPrice;
    if (!p.size.isZero()) {
      l.position = {
        ...FLAT_POSITION,
        size: p.size,
        side: positionSideOf(p.size),
        ...(entryPrice ? { entryPrice } : {}),
      } as ArbLeg['position'];
    }
    return l;
  };
  const arb: Arb = {
    arbId,
    instrument,
    phase: 'unwinding',
    short: leg(shortPick, 'sell'),
    long: leg(longPick, 'buy'),
    targetSize: minDec(shortPick.size.abs(), longPick.size.abs()),
    lotSize: lot,
    entry: {},
    expectedNetCarry: ZERO,
    startedAtMs: step.nowMs,
    imbalanceUsedNotionalSeconds: ZERO,
    hedgeAttempts: 0,
  };
  const balanced = shortPick.size.abs().eq(longPick.size.abs());
  if (balanced) {
    arb.phase = 'open';
    arb.openedAtMs = step.nowMs;
  }
  step.strategy.arbs[instrument] = arb;
  const ignored = held.filter((h) => h !== shortPick && h !== longPick);
  step.decide({
    kind: 'adopt',
    reasonCode: balanced ? 'positions_adopted' : 'positions_adopted_unbalanced',
    message: balanced
      ? `adopted a hedged pair: short ${shortPick.venue}, long ${longPick.venue}`
      : 'adopted positions that do not hedge each other; the larger leg will be unwound',
    inputs: {
      ...arbInputs(step, arb),
      ...Object.fromEntries(held.map((h) => [`${h.venue}.position_size`, h.size.toFixed()])),
      not_adopted: ignored.map((h) => h.venue).join(','),
    },
  });
}
