/**
 * Managing an active arb, phase by phase (entering -> open -> exiting -> closed;
 * entering/open -> unwinding -> open | closed), every step a decision:
 * - entering: a rejected or partly filled leg is hedged (the lagging leg topped up, at most
 *   `maxHedgeAttempts`) or the leading leg unwound back to the other's size, within the
 *   leg-imbalance budget (notional x seconds);
 * - open: exits on spread reversal, take-profit, max holding time, or ahead of a
 *   settlement that costs more than staying earns; a non-urgent exit waits for a
 *   settlement that pays us when it is within `settlementGuardMs`;
 * - exit and unwind orders are reduce-only and sized to min(the leg, the venue position),
 *   and risk caps them again: a close never opens or flips a position.
 */
import { type Decimal, dec, maxDec, minDec, roundToStep, type Side, ZERO } from '@perpmesh/core';
import type { PlaceRequest } from '../../engine.js';
import { isOpenOrder, marketKey, midOf, type OwnOrder } from '../../world.js';
import {
  type Arb,
  type ArbLeg,
  arbAttribution,
  arbResult,
  archiveArb,
  legClosable,
  legOpenSize,
} from './arb-book.js';
import {
  type ArbStep,
  arbInputs,
  attachPlaced,
  human,
  legRequest,
  legView,
  noteOnce,
  venueInputs,
  venueView,
} from './arb-step.js';
import { recordClosedArb } from './breaker.js';
import { BPS, breakEvenHours, imminentSettlement, markedPnlAfterExit, stayValue } from './carry.js';

/** One step of an active arb: time out stuck orders, spend the imbalance budget, then act on its phase. */
export function manageArb(step: ArbStep, arb: Arb): void {
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

  const { shortSize, longSize, imbalance, balanced } = legImbalance(arb);
  const absImbalance = imbalance.abs();
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
      const shortLeft = legClosable(step.world, arb.short);
      const longLeft = legClosable(step.world, arb.long);
      if (open.length === 0 && shortLeft.isZero() && longLeft.isZero()) {
        closeArb(step, arb, arb.exitReason ?? 'exit');
        return;
      }
      if (halted || !retryDue(step, arb)) return;
      const legs = [arb.short, arb.long].filter(
        (leg) => arbOrders(step, arb, leg).length === 0 && legClosable(step.world, leg).gt(0),
      );
      if (legs.length > 0) placeExit(step, arb, legs, 'exit_retry');
      return;
    }
    case 'closed':
      return;
  }
}

/**
 * How far apart the legs are: `imbalance` > 0 when the short leg leads. Legs within the
 * arb's lot of each other count as matched (no order could close a smaller gap).
 */
export function legImbalance(arb: Arb): {
  shortSize: Decimal;
  longSize: Decimal;
  imbalance: Decimal;
  balanced: boolean;
} {
  const shortSize = legOpenSize(arb.short);
  const longSize = legOpenSize(arb.long);
  const imbalance = shortSize.minus(longSize);
  return { shortSize, longSize, imbalance, balanced: imbalance.abs().lt(arb.lotSize) };
}

/** Starts closing an arb: reduce-only orders on every leg the venue still shows (none while halted). */
export function startExit(
  step: ArbStep,
  arb: Arb,
  reason: string,
  inputs: Record<string, string>,
  message = reason,
): void {
  arb.phase = 'exiting';
  arb.exitReason = reason;
  delete arb.exitDeferredReason;
  const legs = [arb.short, arb.long].filter((leg) => legClosable(step.world, leg).gt(0));
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

function arbOrders(step: ArbStep, arb: Arb, leg?: ArbLeg): OwnOrder[] {
  const legs = leg ? [leg] : [arb.short, arb.long];
  return legs
    .flatMap((l) => Object.keys(l.orders))
    .map((id) => step.world.orders[id])
    .filter((o): o is OwnOrder => o !== undefined && isOpenOrder(o));
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
    .filter((o): o is OwnOrder => o !== undefined)
    .filter((o) => o.fillSize.lt(o.filled));
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

/**
 * Charges the imbalance that stood since the last check for the time since then (so the
 * time before the fill that ends an imbalance is charged, and a fill that starts one is
 * not charged for the time before it), then records the current one.
 */
function spendImbalanceBudget(step: ArbStep, arb: Arb, imbalance: Decimal): void {
  const last = arb.imbalanceCheckedAtMs;
  // A book saved before `imbalanceSize` existed: charge the current imbalance as before.
  const standing = arb.imbalanceSize ?? imbalance;
  arb.imbalanceCheckedAtMs = step.nowMs;
  arb.imbalanceSize = imbalance;
  if (imbalance.isZero()) delete arb.imbalanceSinceMs;
  else if (arb.imbalanceSinceMs === undefined) arb.imbalanceSinceMs = step.nowMs;
  if (last === undefined || standing.isZero()) return;
  const price =
    midOf(step.world.books[marketKey(arb.short.venue, arb.short.instrument)]) ??
    arb.short.position.entryPrice;
  if (!price) return;
  const seconds = dec(Math.max(0, step.nowMs - last)).div(1000);
  arb.imbalanceUsedNotionalSeconds = arb.imbalanceUsedNotionalSeconds.plus(standing.mul(price).mul(seconds));
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
  // The lagging venue's own lot: the common lot of both venues can be coarser and leave more unhedged.
  const hedgeSize = roundToStep(size, view.market.lotSize, 'down');
  const unhedged = size.minus(hedgeSize);
  const result = step.place(
    [legRequest(step, view, lagging.entrySide, hedgeSize, false, 'hedge', arb.arbId, undefined)],
    {
      kind: 'hedge',
      reasonCode: lastLagging ? `lagging_leg_${lastLagging.status}` : 'lagging_leg',
      message: `top up the ${lagging === arb.short ? 'short' : 'long'} leg on ${lagging.venue} by ${hedgeSize.toFixed()}${unhedged.isZero() ? '' : `; ${unhedged.toFixed()} stays unhedged (below the ${view.market.lotSize.toFixed()} lot)`}`,
      inputs: {
        ...arbInputs(step, arb),
        lagging_venue: lagging.venue,
        lagging_last_reason: lastLagging?.reason ?? '',
        hedge_size: hedgeSize.toFixed(),
        lagging_lot: view.market.lotSize.toFixed(),
        unhedged_after: unhedged.toFixed(),
      },
    },
  );
  if (result.ok) attachPlaced(step, arb, result.orders);
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
  const size = minDec(imbalance.abs(), legClosable(step.world, leading));
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
    message: `reduce the ${leading === arb.short ? 'short' : 'long'} leg on ${leading.venue} by ${human(size)} (reduce-only) to match the other leg`,
    inputs,
  });
  if (result.ok) attachPlaced(step, arb, result.orders);
}

function markOpen(step: ArbStep, arb: Arb, reasonCode: string): void {
  arb.phase = 'open';
  arb.openedAtMs = step.nowMs;
  step.decide({
    kind: 'signal',
    reasonCode,
    message: `arb open: short ${human(legOpenSize(arb.short))} on ${arb.short.venue}, long ${human(legOpenSize(arb.long))} on ${arb.long.venue}`,
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
  const shortView = venueView(step, arb.short.venue, arb.short.instrument, false);
  const longView = venueView(step, arb.long.venue, arb.long.instrument, false);
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
    message = `per-hour spread ${human(spread)} < exit threshold ${human(exitSpread)}`;
  }
  const notional = size.mul(shortView.mid);
  Object.assign(inputs, arbAttribution(arb, { short: shortView.mid, long: longView.mid }));
  const afterExit = markedPnlAfterExit(
    { position: arb.short.position, view: shortView },
    { position: arb.long.position, view: longView },
    size,
  );
  if (afterExit) {
    // Hours of the current funding still needed before closing would leave the arb at break-even.
    const remaining = breakEvenHours(shortView, longView, size, afterExit.neg());
    inputs.pnl_after_exit_costs = afterExit.toFixed();
    inputs.break_even_hours_remaining = remaining?.toFixed() ?? 'never';
  }
  if (!reason && cfg.takeProfitBps) {
    const pnl = markedPnlAfterExit(
      { position: arb.short.position, view: shortView },
      { position: arb.long.position, view: longView },
      size,
    );
    const target = cfg.takeProfitBps.mul(notional).div(BPS);
    inputs.marked_pnl_after_exit_costs = pnl?.toFixed() ?? '';
    inputs.take_profit_target = target.toFixed();
    if (pnl?.gte(target)) {
      reason = 'take_profit';
      message = `marked PnL after exit costs ${human(pnl)} >= target ${human(target)}`;
    }
  }
  const legs = [
    { view: shortView, signedSize: size.neg() },
    { view: longView, signedSize: legOpenSize(arb.long) },
  ];
  const imminent = imminentSettlement(legs, step.nowMs, cfg.settlementGuardMs);
  Object.assign(inputs, imminent.inputs);
  if (!reason && imminent.net.lt(0)) {
    // Worth leaving only if the payment costs more than what staying is expected to earn:
    // the settlements after it that fall inside the time left, per leg.
    const remainingMs = Math.max(0, Math.min(cfg.holdingHorizonMs, cfg.maxHoldingMs - heldMs));
    const stay = stayValue(legs, step.nowMs, remainingMs, cfg.settlementGuardMs);
    inputs.stay_value = stay.toFixed();
    inputs.stay_remaining_ms = String(remainingMs);
    if (imminent.net.abs().gt(maxDec(stay, ZERO))) {
      reason = 'adverse_settlement';
      message = `next settlement costs ${human(imminent.net.abs())} > expected carry of staying ${human(stay)}`;
    }
  }
  if (!reason) {
    delete arb.exitDeferredReason;
    delete arb.exitDeferredAtMs;
    return;
  }
  if (reason !== 'adverse_settlement' && imminent.net.gt(0)) {
    // Closing now forfeits a payment due within the guard window: wait for it — once. That
    // payment is due within the window, so when the window has passed since the deferral it
    // has been paid; deferring again for the next one would hold the arb forever where
    // settlements come every guard window or faster.
    if (arb.exitDeferredReason !== reason) {
      arb.exitDeferredReason = reason;
      arb.exitDeferredAtMs = step.nowMs;
      step.decide({
        kind: 'signal',
        reasonCode: 'exit_deferred_for_settlement',
        message: `${reason}, but a settlement paying ${human(imminent.net)} is due first`,
        inputs: { ...inputs, exit_reason: reason },
      });
    }
    arb.exitDeferredAtMs ??= step.nowMs;
    if (step.nowMs - arb.exitDeferredAtMs < cfg.settlementGuardMs) return;
    inputs.exit_deferred_at_ms = String(arb.exitDeferredAtMs);
  }
  startExit(step, arb, reason, inputs, message);
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
    const size = legClosable(step.world, leg);
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
  if (result.ok) attachPlaced(step, arb, result.orders);
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
    message: `arb ${arb.arbId} closed (${reason}): net ${human(dec(arb.result.net_pnl!))}, funding ${human(dec(arb.result.funding_received!))}, fees ${human(dec(arb.result.fees!))}`,
    inputs: { ...arbInputs(step, arb), ...arb.result },
  });
  archiveArb(step.strategy, arb);
  recordClosedArb(step, dec(arb.result.net_pnl!));
}
