/**
 * Entering an arb: for each instrument without one, pick the venue pair with the widest
 * per-hour spread, size both legs (one base size, a multiple of both lots, within the
 * target, the available balances and the risk limits), estimate the carry net of costs,
 * and place both legs in one decision once the condition has held for `persistenceMs`.
 * A skip says why, with the numbers, at most once per `skipReportIntervalMs`.
 */
import { type Decimal, dec, maxDec, minDec, roundToStep, ZERO } from '@perpmesh/core';
import { accountKey } from '../../world.js';
import { type Arb, attachOrder, emptyLeg, lastClosed } from './arb-book.js';
import { type ArbStep, legRequest, type VenueView, venueInputs, venueView } from './arb-step.js';
import { BPS, commonLotSize, estimateCarry, imminentSettlement, widestSpreadPair } from './carry.js';

/** Considers a new arb on every configured instrument that has none (only while trading is active). */
export function considerNewArbs(step: ArbStep): void {
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
  const { short, long, spread } = widestSpreadPair(views)!;
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

  const imminent = imminentSettlement(
    [
      { view: short, signedSize: plan.size.neg() },
      { view: long, signedSize: plan.size },
    ],
    step.nowMs,
    cfg.settlementGuardMs,
  );
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

  const carry = estimateCarry(short, long, size, cfg.holdingHorizonMs);
  if (!carry) {
    skip(
      step,
      instrument,
      'insufficient_depth',
      `the visible books cannot fill ${size.toFixed()} on both legs`,
      inputs,
    );
    return undefined;
  }
  const { grossCarry, entryFees, exitFees, entrySlippage, exitSlippage, netCarry } = carry;
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
  return {
    short,
    long,
    size,
    lot,
    netCarry,
    shortWorst: carry.shortWorst,
    longWorst: carry.longWorst,
    inputs,
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
