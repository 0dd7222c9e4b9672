/**
 * Entering an arb: for each instrument without one, cost EVERY ordered venue pair (size
 * both legs: one base size, a multiple of both lots, within the target, the risk limit,
 * what both books can fill and the available balances; the carry of the settlements that
 * fall inside the holding window net of fees and slippage; break-even time) and take the
 * best net one; place both legs in one decision once the condition has held for
 * `persistenceMs`. A risk denial backs the instrument off. A skip says why, with the
 * numbers, at most once per `skipReportIntervalMs`.
 */
import { type Decimal, dec, maxDec, minDec, roundToStep, ZERO } from '@perpmesh/core';
import { accountKey, marketKey, midOf } from '../../world.js';
import { type Arb, emptyLeg, lastClosed, legOpenSize } from './arb-book.js';
import {
  type ArbStep,
  attachPlaced,
  human,
  inReportCurrency,
  legRequest,
  type VenueView,
  venueInputs,
  venueView,
} from './arb-step.js';
import { breakerInputs } from './breaker.js';
import {
  BPS,
  breakEvenHours,
  commonLotSize,
  estimateCarry,
  fillableBothWays,
  imminentSettlement,
} from './carry.js';
import { type ArbExposure, arbExposures } from './exposures.js';

/**
 * Considers a new arb on every configured exposure (an instrument, or instruments that are
 * the same exposure: exposures.ts) that has none (only while trading is active). Arbs,
 * candidates and skips are keyed by the exposure id (the instrument for `instruments`).
 */
export function considerNewArbs(step: ArbStep): void {
  if (step.world.tradingState !== 'active' || !step.world.started) return;
  const tripped = step.strategy.breaker?.tripped;
  const exposures = new Map(arbExposures(step.config).map((e) => [e.id, e]));
  const eligible: string[] = [];
  for (const instrument of exposures.keys()) {
    if (step.strategy.arbs[instrument]) continue;
    if (tripped) {
      skip(step, instrument, 'circuit_breaker_tripped', `entries paused: ${tripped.message}`, {
        ...breakerInputs(step.strategy.breaker!),
        tripped_at_ms: String(tripped.atMs),
      });
      continue;
    }
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
    eligible.push(instrument);
  }
  // Rank by the best net carry (bps) each instrument offers now, so the best candidates
  // get the capital first; each is re-costed when its turn comes (caps change as arbs enter).
  const ranked = eligible
    .map((instrument, order) => ({
      instrument,
      order,
      // Costing every pair is the expensive part: with one candidate there is nothing to rank.
      bps: eligible.length > 1 ? bestBps(step, exposures.get(instrument)!) : undefined,
    }))
    .sort((a, b) => {
      if (a.bps && b.bps) return b.bps.cmp(a.bps) || a.order - b.order;
      if (a.bps) return -1;
      if (b.bps) return 1;
      return a.order - b.order;
    });
  for (const [rank, { instrument }] of ranked.entries()) {
    considerEntry(step, exposures.get(instrument)!, rank + 1);
  }
}

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
  readonly netCarryBps: Decimal;
  readonly shortWorst: Decimal;
  readonly longWorst: Decimal;
  /** The balance that sized the legs down (`venue/account`), when one did. */
  readonly sizedDownBy?: string;
  readonly inputs: Record<string, string>;
}

/** Why a pair does not qualify: a skip's reason, message and numbers. */
interface PairRejection {
  readonly reasonCode: string;
  readonly message: string;
  readonly inputs: Record<string, string>;
}

type PairVerdict = { readonly plan: EntryPlan } | { readonly rejected: PairRejection };

function considerEntry(step: ArbStep, exposure: ArbExposure, rank: number): void {
  const cfg = step.config;
  const instrument = exposure.id;
  const backoff = step.strategy.entryBackoff[instrument];
  if (backoff && step.nowMs < backoff.untilMs) {
    skip(
      step,
      instrument,
      'risk_denied_backoff',
      `risk denied the last entry (${backoff.reasonCode}); next try in ${backoff.untilMs - step.nowMs} ms`,
      { backoff_until_ms: String(backoff.untilMs), denials: String(backoff.denials) },
    );
    return;
  }
  const found = bestPairOf(step, exposure);
  if ('skip' in found) {
    skip(step, instrument, found.skip.reasonCode, found.skip.message, found.skip.inputs);
    return;
  }
  const { best, verdicts } = found;
  const pairsEvaluated = String(verdicts.length);
  if (!best) {
    // Report the pair with the widest per-hour spread: the one an operator would look at first.
    const widest = verdicts.reduce((a, b) => (b.spread.gt(a.spread) ? b : a));
    if (!widest.spread.gt(0)) {
      skip(step, instrument, 'no_positive_spread', 'no venue pair has a positive per-hour funding spread', {
        ...pairInputs(widest.short, widest.long, widest.spread),
        pairs_evaluated: pairsEvaluated,
      });
      return;
    }
    const rejected = (widest.verdict as { rejected: PairRejection }).rejected;
    skip(step, instrument, rejected.reasonCode, rejected.message, {
      ...rejected.inputs,
      pairs_evaluated: pairsEvaluated,
    });
    return;
  }
  const plan = best;
  plan.inputs.pairs_evaluated = pairsEvaluated;
  plan.inputs.rank = String(rank);
  plan.inputs.pairs_qualified = String(verdicts.filter((v) => 'plan' in v.verdict).length);

  const pair = `${plan.short.venue}>${plan.long.venue}`;
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

/** The best plan's net carry in bps for ranking; undefined when the instrument has none now. */
function bestBps(step: ArbStep, exposure: ArbExposure): Decimal | undefined {
  const found = bestPairOf(step, exposure);
  return 'best' in found ? found.best?.netCarryBps : undefined;
}

type PairOutcome = { short: VenueView; long: VenueView; spread: Decimal; verdict: PairVerdict };

/** Every ordered venue pair of an exposure (each venue's leg instrument) costed; the best qualifying plan by net carry. */
function bestPairOf(
  step: ArbStep,
  exposure: ArbExposure,
): { skip: PairRejection } | { best: EntryPlan | undefined; verdicts: PairOutcome[] } {
  const cfg = step.config;
  const views = cfg.venues
    .map((v) => {
      const instrument = exposure.legs[v.venue];
      return instrument === undefined ? undefined : venueView(step, v.venue, instrument, true);
    })
    .filter((v): v is VenueView => v !== undefined);
  if (views.length < 2) {
    return {
      skip: {
        reasonCode: 'insufficient_market_data',
        message: `fresh market, book and funding on ${views.length} venue(s); need 2`,
        inputs: { venues_ready: views.map((v) => v.venue).join(',') },
      },
    };
  }
  for (const v of views) {
    const disagreement = markDisagreement(v, cfg.maxMarkDeviationBps);
    if (disagreement) {
      return { skip: { reasonCode: 'mark_price_disagrees', ...disagreement } };
    }
    // A settle conversion read from the market that is unreadable or off the configured rate.
    const blocked = v.conversion.blocked;
    if (blocked) {
      return { skip: { ...blocked, inputs: { venue: v.venue, ...v.conversion.inputs } } };
    }
  }
  const verdicts: PairOutcome[] = [];
  for (const short of views) {
    for (const long of views) {
      if (short === long) continue;
      const spread = short.ratePerHour.minus(long.ratePerHour);
      verdicts.push({ short, long, spread, verdict: evaluatePair(step, short, long, spread) });
    }
  }
  let best: EntryPlan | undefined;
  for (const { verdict } of verdicts) {
    if ('plan' in verdict && (!best || verdict.plan.netCarry.gt(best.netCarry))) best = verdict.plan;
  }
  return { best, verdicts };
}

function pairInputs(short: VenueView, long: VenueView, spread: Decimal): Record<string, string> {
  return {
    ...venueInputs(short),
    ...venueInputs(long),
    short_venue: short.venue,
    long_venue: long.venue,
    spread_per_hour: spread.toFixed(),
    fee_basis: 'taker',
    ...conversionInputs(short, long),
  };
}

/**
 * The currency the decision's money is in and the conversion it assumed, stated in every
 * pair's inputs: `report_currency` and `settle_conversion` (`1 USDT = 1 USDC (configured)`).
 */
function conversionInputs(short: VenueView, long: VenueView): Record<string, string> {
  const currency = short.conversion.to;
  const assumed = [short, long]
    .filter((v) => v.conversion.from !== currency)
    .map((v) => v.conversion.statement);
  return {
    report_currency: currency,
    settle_conversion: assumed.length > 0 ? assumed.join('; ') : short.conversion.statement,
    [`${short.venue}.to_report_rate`]: short.conversion.rate.toFixed(),
    [`${long.venue}.to_report_rate`]: long.conversion.rate.toFixed(),
    ...short.conversion.inputs,
    ...long.conversion.inputs,
  };
}

/** What an enter decision's message says about currencies when the legs settle in different ones. */
function conversionNote(short: VenueView, long: VenueView): string {
  if (short.conversion.from === long.conversion.from) return '';
  return `; legs settle in ${short.conversion.from} (${short.venue}) and ${long.conversion.from} (${long.venue}), money in ${short.conversion.to} at ${[short, long].find((v) => v.conversion.from !== v.conversion.to)!.conversion.statement}`;
}

/** A mark that disagrees with the venue's own book mid or index beyond the tolerance: its reason, else undefined. */
function markDisagreement(
  v: VenueView,
  maxBps: Decimal,
): { message: string; inputs: Record<string, string> } | undefined {
  const refs: Array<[string, Decimal | undefined]> = [
    ['mid', v.mid],
    ['index', v.funding.indexPrice],
  ];
  for (const [name, ref] of refs) {
    if (!ref?.gt(0) || !v.funding.markPrice) continue;
    const deviationBps = v.funding.markPrice.minus(ref).abs().div(ref).mul(BPS);
    if (deviationBps.gt(maxBps)) {
      return {
        message: `${v.venue} mark ${human(v.funding.markPrice)} is ${deviationBps.toFixed(2)} bps from its ${name} ${human(ref)} (max ${maxBps.toFixed()} bps)`,
        inputs: {
          venue: v.venue,
          mark: v.funding.markPrice.toFixed(),
          [name]: ref.toFixed(),
          deviation_bps: deviationBps.toFixed(4),
          max_mark_deviation_bps: maxBps.toFixed(),
        },
      };
    }
  }
  return undefined;
}

/**
 * One ordered pair (short on `short`, long on `long`): sized within the target, the risk
 * limit, both books' depth and both available balances; costed; checked against the
 * threshold, the break-even filter and an imminent adverse settlement.
 */
function evaluatePair(step: ArbStep, short: VenueView, long: VenueView, spread: Decimal): PairVerdict {
  const cfg = step.config;
  const inputs = pairInputs(short, long, spread);
  const reject = (reasonCode: string, message: string): PairVerdict => ({
    rejected: { reasonCode, message, inputs },
  });
  const lot = commonLotSize(short.market.lotSize, long.market.lotSize);
  // Money of both legs in the report currency (exposures.ts); balances and orders stay native.
  const [reportShort, reportLong] = [inReportCurrency(short), inReportCurrency(long)];
  const price = maxDec(reportShort.mid, reportLong.mid);
  const caps: Record<string, Decimal> = {
    target: cfg.targetNotionalPerLeg.div(price),
    risk_instrument: cfg.risk.maxNotionalPerInstrument.div(price),
    // A thinner book limits the size to what it can fill both ways (in and out).
    depth_short: fillableBothWays(short.book),
    depth_long: fillableBothWays(long.book),
  };
  // Capital already given to active arbs: what is left under the per-venue and total caps.
  const used = allocatedNotional(step);
  caps.venue_short = maxDec(cfg.risk.maxNotionalPerVenue.minus(used.venues[short.venue] ?? ZERO), ZERO).div(
    price,
  );
  caps.venue_long = maxDec(cfg.risk.maxNotionalPerVenue.minus(used.venues[long.venue] ?? ZERO), ZERO).div(
    price,
  );
  if (cfg.maxTotalNotional) caps.total = maxDec(cfg.maxTotalNotional.minus(used.total), ZERO).div(price);
  inputs.allocated_total_notional = used.total.toFixed();
  const beforeBalance = roundToStep(
    Object.values(caps).reduce((a, b) => minDec(a, b)),
    lot,
    'down',
  );
  const balanceCaps: Record<string, Decimal> = {};
  const accounts: Record<string, string> = {};
  for (const [name, v, side] of [
    ['short', short, 'sell'],
    ['long', long, 'buy'],
  ] as const) {
    const balance = step.world.balances[accountKey(v.venue, v.account)];
    if (!balance) return reject('unknown_balance', `no balance known for ${v.venue}/${v.account}`);
    const leverage = minDec(cfg.risk.leverage, v.market.maxLeverage);
    // Valued at the price risk will value the order at (its limit, or the touched side),
    // never below the mid: the size this allows then passes risk's own margin check.
    const request = legRequest(step, v, side, beforeBalance, false, 'entry', '', undefined);
    const touched = side === 'buy' ? v.book.asks[0]?.price : undefined;
    const riskPrice = maxDec(v.mid, request.price ?? touched ?? v.mid);
    // margin + taker fee must fit: n / lev + n x fee <= available x usage
    const maxNotional = balance.available
      .mul(cfg.risk.availableBalanceUsage)
      .div(dec(1).div(leverage).plus(v.market.takerFeeRate.abs()));
    balanceCaps[`balance_${name}`] = maxNotional.div(riskPrice);
    accounts[`balance_${name}`] = `${v.venue}/${v.account}`;
    inputs[`${v.venue}.available`] = balance.available.toFixed();
    inputs[`${v.venue}.risk_price`] = riskPrice.toFixed();
  }
  const all = { ...caps, ...balanceCaps };
  const raw = Object.values(all).reduce((a, b) => minDec(a, b));
  const size = roundToStep(raw.isNeg() ? ZERO : raw, lot, 'down');
  const limitedBy = Object.entries(all).find(([, c]) => c.eq(raw))?.[0] ?? '';
  const minSize = maxDec(short.market.minSize, long.market.minSize);
  const minNotional = maxDec(short.market.minNotional, long.market.minNotional);
  Object.assign(inputs, {
    common_lot: lot.toFixed(),
    size: size.toFixed(),
    size_limited_by: limitedBy,
    size_before_balance: beforeBalance.toFixed(),
    min_size: minSize.toFixed(),
    min_notional: minNotional.toFixed(),
  });
  let sizedDownBy: string | undefined;
  if (size.lt(beforeBalance)) {
    const binding = accounts[limitedBy] ?? '';
    inputs.binding_balance = binding;
    if (!cfg.sizeDownToBalance) {
      return reject(
        'insufficient_available_balance',
        `the available balance of ${binding} carries ${size.toFixed()} of the ${beforeBalance.toFixed()} intended; sizing down is not configured (sizeDownToBalance)`,
      );
    }
    sizedDownBy = binding;
    inputs.sized_down_by_balance = binding;
  }
  const belowMinimum =
    size.isZero() || size.lt(minSize) || size.mul(minDec(short.mid, long.mid)).lt(minNotional);
  if (belowMinimum && ['total', 'venue_short', 'venue_long'].includes(limitedBy)) {
    return reject(
      'allocation_exhausted',
      `the ${limitedBy === 'total' ? 'total' : 'per-venue'} notional cap is taken by other arbs (size left ${size.toFixed()})`,
    );
  }
  if (belowMinimum) {
    return reject('size_below_minimum', `size ${size.toFixed()} is below the venues' minimums or zero`);
  }

  const horizonMs = Math.min(cfg.holdingHorizonMs, cfg.maxHoldingMs);
  const carry = estimateCarry(reportShort, reportLong, size, { nowMs: step.nowMs, horizonMs });
  if (!carry) {
    return reject('insufficient_depth', `the visible books cannot fill ${size.toFixed()} on both legs`);
  }
  const { grossCarry, entryFees, exitFees, entrySlippage, exitSlippage, netCarry } = carry;
  const notional = size.mul(price);
  const netCarryBps = netCarry.div(notional).mul(BPS);
  const costs = entryFees.plus(exitFees).plus(entrySlippage).plus(exitSlippage);
  const breakEven = breakEvenHours(reportShort, reportLong, size, costs);
  Object.assign(inputs, {
    notional: notional.toFixed(),
    holding_horizon_ms: String(horizonMs),
    [`${short.venue}.settlements_in_horizon`]: String(carry.shortFunding.settlements),
    [`${short.venue}.funding_in_horizon`]: carry.shortFunding.amount.toFixed(),
    [`${long.venue}.settlements_in_horizon`]: String(carry.longFunding.settlements),
    [`${long.venue}.funding_in_horizon`]: carry.longFunding.amount.toFixed(),
    gross_carry: grossCarry.toFixed(),
    entry_fees: entryFees.toFixed(),
    exit_fees: exitFees.toFixed(),
    entry_slippage: entrySlippage.toFixed(),
    exit_slippage: exitSlippage.toFixed(),
    net_carry: netCarry.toFixed(),
    net_carry_bps: netCarryBps.toFixed(4),
    entry_threshold_bps: cfg.entryThresholdBps.toFixed(),
    persistence_ms: String(cfg.persistenceMs),
    break_even_hours: breakEven?.toFixed() ?? 'never',
  });
  if (!netCarry.gt(0) || netCarryBps.lt(cfg.entryThresholdBps)) {
    return reject(
      'net_carry_below_threshold',
      `net carry ${human(netCarry)} (${netCarryBps.toFixed(2)} bps) = gross ${human(grossCarry)} - fees ${human(entryFees.plus(exitFees))} - slippage ${human(entrySlippage.plus(exitSlippage))}; threshold ${cfg.entryThresholdBps.toFixed()} bps`,
    );
  }
  if (cfg.maxBreakEvenHours && (!breakEven || breakEven.gt(cfg.maxBreakEvenHours))) {
    inputs.max_break_even_hours = cfg.maxBreakEvenHours.toFixed();
    return reject(
      'break_even_too_long',
      `entry and exit costs ${human(costs)} take ${breakEven ? `${breakEven.toFixed(2)} h` : 'forever'} to earn back at the current rates (max ${cfg.maxBreakEvenHours.toFixed()} h)`,
    );
  }
  const imminent = imminentSettlement(
    [
      { view: reportShort, signedSize: size.neg() },
      { view: reportLong, signedSize: size },
    ],
    step.nowMs,
    cfg.settlementGuardMs,
  );
  if (imminent.net.lt(0)) {
    Object.assign(inputs, imminent.inputs);
    return reject(
      'adverse_settlement_imminent',
      'a settlement within the guard window would cost the new position',
    );
  }
  return {
    plan: {
      short,
      long,
      size,
      lot,
      netCarry,
      netCarryBps,
      // Back in each venue's own currency: these price the orders.
      shortWorst: carry.shortWorst.div(short.conversion.rate),
      longWorst: carry.longWorst.div(long.conversion.rate),
      ...(sizedDownBy ? { sizedDownBy } : {}),
      inputs,
    },
  };
}

function enter(step: ArbStep, instrument: string, plan: EntryPlan, sinceMs: number): void {
  const currency = plan.short.conversion.to;
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
    message: `short ${plan.short.venue} / long ${plan.long.venue} ${plan.size.toFixed()} ${instrument}: net carry ${human(plan.netCarry)} ${currency} over the horizon${conversionNote(plan.short, plan.long)}${plan.sizedDownBy ? `; sized down to the available balance of ${plan.sizedDownBy}` : ''}`,
    inputs,
  });
  delete step.strategy.candidates[instrument];
  if (!result.ok) {
    step.strategy.arbSeq -= 1;
    step.strategy.lastSkip[instrument] = {
      reasonCode: `deny:${result.verdict.reasonCode}`,
      atMs: step.nowMs,
    };
    // Back off: the same signal and denial must not repeat on every market-data input.
    const denials = (step.strategy.entryBackoff[instrument]?.denials ?? 0) + 1;
    step.strategy.entryBackoff[instrument] = {
      untilMs: step.nowMs + step.config.riskDenyBackoffMs * 2 ** Math.min(denials - 1, 4),
      denials,
      reasonCode: result.verdict.reasonCode,
    };
    return;
  }
  delete step.strategy.entryBackoff[instrument];
  const arb: Arb = {
    arbId,
    instrument,
    phase: 'entering',
    short: emptyLeg(plan.short.venue, plan.short.account, plan.short.market.instrument, 'sell'),
    long: emptyLeg(plan.long.venue, plan.long.account, plan.long.market.instrument, 'buy'),
    targetSize: plan.size,
    lotSize: plan.lot,
    entry: inputs,
    expectedNetCarry: plan.netCarry,
    startedAtMs: step.nowMs,
    imbalanceUsedNotionalSeconds: ZERO,
    hedgeAttempts: 0,
    lastActionAtMs: step.nowMs,
  };
  // Legs settled in different assets: the totals convert at the rate this entry assumed.
  if (plan.short.conversion.from !== plan.long.conversion.from) {
    arb.short.reportRate = plan.short.conversion.rate;
    arb.long.reportRate = plan.long.conversion.rate;
  }
  attachPlaced(step, arb, result.orders);
  step.strategy.arbs[instrument] = arb;
}

/** Per-leg notional given to active arbs: per venue (each leg) and in total (one leg per arb, the larger). */
function allocatedNotional(step: ArbStep): { venues: Record<string, Decimal>; total: Decimal } {
  const venues: Record<string, Decimal> = {};
  let total = ZERO;
  for (const arb of Object.values(step.strategy.arbs)) {
    if (arb.phase === 'closed') continue;
    let larger = ZERO;
    for (const leg of [arb.short, arb.long]) {
      const price = midOf(step.world.books[marketKey(leg.venue, leg.instrument)]) ?? leg.position.entryPrice;
      if (!price) continue;
      const notional = maxDec(arb.targetSize, legOpenSize(leg)).mul(price);
      venues[leg.venue] = (venues[leg.venue] ?? ZERO).plus(notional);
      larger = maxDec(larger, notional);
    }
    total = total.plus(larger);
  }
  return { venues, total };
}
