/**
 * Operator alarms on active arbs, one decision per incident: `alarm_<name>` when a
 * condition starts, `alarm_cleared` when it ends (the state remembers which are raised, so
 * a condition that holds for hours is one alarm, not one per input). A webhook bridge
 * forwards these decisions (reason codes starting with `alarm_`).
 *
 * - one_legged: the legs differ by a lot or more for longer than `alarms.oneLeggedAfterMs`;
 * - liquidation_distance: a leg's mark is closer to its liquidation price than
 *   `alarms.minLiquidationDistanceBps` (the venue's liquidation price is not in the inputs,
 *   so the isolated-margin formula at the configured leverage and maintenance margin);
 * - funding_against: the open arb's per-hour spread (short - long) turned negative;
 * - stale_data: a leg's book or funding is older (core `readingAgeMs`) than alarms.staleDataAfterMs;
 * - account_drift: an open arb's leg differs from the venue position by a lot or more.
 */
import { type Decimal, dec, minDec, readingAgeMs } from '@perpmesh/core';
import { isOpenOrder, marketKey, midOf, positionKey, positionSize } from '../../world.js';
import { type Arb, type ArbLeg, activeArbs, legOpenSize, legSize } from './arb-book.js';
import { type ArbStep, arbInputs, human } from './arb-step.js';
import { BPS, ratePerHourOf } from './carry.js';

export interface AlarmCondition {
  readonly key: string;
  readonly name: string;
  readonly message: string;
  readonly inputs: Record<string, string>;
}

/** The liquidation price of a leg by the isolated-margin formula: entry x (1 -/+ 1/leverage +/- maintenance). */
export function formulaLiquidationPrice(
  entrySide: 'buy' | 'sell',
  entryPrice: Decimal,
  leverage: Decimal,
  maintenanceMarginRate: Decimal,
): Decimal {
  const move = dec(1).div(leverage).minus(maintenanceMarginRate);
  return entrySide === 'buy' ? entryPrice.mul(dec(1).minus(move)) : entryPrice.mul(dec(1).plus(move));
}

/** How far the mark is from liquidation, as a fraction of the mark (negative = past it). */
export function liquidationDistance(entrySide: 'buy' | 'sell', mark: Decimal, liquidation: Decimal): Decimal {
  return (entrySide === 'buy' ? mark.minus(liquidation) : liquidation.minus(mark)).div(mark);
}

/** The conditions that hold now for one arb. */
export function arbAlarmConditions(step: ArbStep, arb: Arb): AlarmCondition[] {
  const cfg = step.config.alarms;
  const out: AlarmCondition[] = [];
  const base = () => arbInputs(step, arb);
  if (arb.imbalanceSinceMs !== undefined && step.nowMs - arb.imbalanceSinceMs >= cfg.oneLeggedAfterMs) {
    out.push({
      key: `${arb.arbId}:one_legged`,
      name: 'one_legged',
      message: `arb ${arb.arbId} has been one-legged for ${step.nowMs - arb.imbalanceSinceMs} ms`,
      inputs: base(),
    });
  }
  for (const leg of [arb.short, arb.long]) {
    const liq = legLiquidation(step, leg);
    if (liq?.distanceBps.lt(cfg.minLiquidationDistanceBps)) {
      out.push({
        key: `${arb.arbId}:${leg.venue}:liquidation_distance`,
        name: 'liquidation_distance',
        message: `the ${leg === arb.short ? 'short' : 'long'} leg on ${leg.venue} is ${liq.distanceBps.toFixed(0)} bps from liquidation at ${human(liq.price)} (alarm below ${cfg.minLiquidationDistanceBps.toFixed()} bps)`,
        inputs: {
          ...base(),
          venue: leg.venue,
          mark: liq.mark.toFixed(),
          liquidation_price: liq.price.toFixed(),
          liquidation_price_source: 'formula',
          distance_bps: liq.distanceBps.toFixed(2),
        },
      });
    }
    const key = marketKey(leg.venue, leg.instrument);
    const book = step.world.books[key];
    const funding = step.world.funding[key];
    // A quiet book is not a broken feed: entries wait for fresh data (maxBookAgeMs), the
    // alarm only fires once data is older than alarms.staleDataAfterMs.
    const staleAfterMs = step.config.alarms.staleDataAfterMs;
    const bookAge = book ? readingAgeMs(book, step.nowMs) : undefined;
    const fundingAge = funding ? readingAgeMs(funding, step.nowMs) : undefined;
    if (
      bookAge === undefined ||
      fundingAge === undefined ||
      bookAge > staleAfterMs ||
      fundingAge > Math.max(step.config.maxFundingAgeMs, staleAfterMs)
    ) {
      out.push({
        key: `${arb.arbId}:${leg.venue}:stale_data`,
        name: 'stale_data',
        message: `market data for the ${leg.venue} leg is stale (book ${bookAge ?? 'none'} ms, funding ${fundingAge ?? 'none'} ms old)`,
        inputs: {
          ...base(),
          venue: leg.venue,
          book_age_ms: String(bookAge ?? ''),
          funding_age_ms: String(fundingAge ?? ''),
        },
      });
    }
  }
  if (arb.phase === 'open') {
    const fs = step.world.funding[marketKey(arb.short.venue, arb.short.instrument)];
    const fl = step.world.funding[marketKey(arb.long.venue, arb.long.instrument)];
    if (fs && fl) {
      const spread = ratePerHourOf(fs).minus(ratePerHourOf(fl));
      if (spread.isNeg()) {
        out.push({
          key: `${arb.arbId}:funding_against`,
          name: 'funding_against',
          message: `funding turned against arb ${arb.arbId}: per-hour spread ${human(spread)}`,
          inputs: { ...base(), spread_per_hour: spread.toFixed() },
        });
      }
    }
    const ordersOpen = [arb.short, arb.long].some((leg) =>
      Object.keys(leg.orders).some((id) => {
        const o = step.world.orders[id];
        return o !== undefined && isOpenOrder(o);
      }),
    );
    for (const leg of ordersOpen ? [] : [arb.short, arb.long]) {
      // Drift is the account service's own report against the leg. A position our own fills
      // moved since that report is our arithmetic on top of it; across two streams stamped by
      // different clocks a fill can look newer than a report that already holds it. The
      // account's next report (every few seconds) is compared instead; so it is when own fills
      // of the report's own millisecond came after it (it may hold only some of them).
      const reported = step.world.positions[positionKey(leg.venue, leg.account, leg.instrument)];
      if (reported?.ownFills || reported?.sameMsFills || fillsInFlight(step, leg)) continue;
      const venue = positionSize(step.world, leg.venue, leg.account, leg.instrument);
      const lot = step.world.markets[marketKey(leg.venue, leg.instrument)]?.lotSize ?? arb.lotSize;
      if (venue.minus(legSize(leg)).abs().gte(lot)) {
        out.push({
          key: `${arb.arbId}:${leg.venue}:account_drift`,
          name: 'account_drift',
          message: `the ${leg.venue} position ${venue.toFixed()} differs from the arb leg ${legSize(leg).toFixed()}`,
          inputs: {
            ...base(),
            venue: leg.venue,
            venue_size: venue.toFixed(),
            leg_size: legSize(leg).toFixed(),
          },
        });
      }
    }
  }
  return out;
}

/**
 * A leg order the venue reported filled beyond the fills we have seen: the leg counts it, but
 * its exec.fill, and the account's report holding it, are still on their way (the order's
 * status can come first, e.g. in the venue's answer to the order). Adopted sizes are the
 * venue's already.
 */
function fillsInFlight(step: ArbStep, leg: ArbLeg): boolean {
  return Object.entries(leg.orders).some(([id, entry]) => {
    if (entry.inAdoptedSize !== undefined) return false;
    const order = step.world.orders[id];
    return order?.filled.gt(order.fillSize) === true;
  });
}

function legLiquidation(step: ArbStep, leg: ArbLeg) {
  if (!legOpenSize(leg).gt(0)) return undefined;
  const key = marketKey(leg.venue, leg.instrument);
  const entry =
    leg.position.entryPrice ??
    step.world.positions[positionKey(leg.venue, leg.account, leg.instrument)]?.entryPrice;
  const mark = step.world.funding[key]?.markPrice ?? midOf(step.world.books[key]);
  const market = step.world.markets[key];
  if (!entry || !mark || !market) return undefined;
  const leverage = minDec(step.config.risk.leverage, market.maxLeverage);
  const price = formulaLiquidationPrice(
    leg.entrySide,
    entry,
    leverage,
    step.config.alarms.maintenanceMarginRate,
  );
  return { price, mark, distanceBps: liquidationDistance(leg.entrySide, mark, price).mul(BPS) };
}

/** Raises the conditions that began and clears the ones that ended: one decision each. */
export function updateAlarms(step: ArbStep): void {
  const raised = step.strategy.alarms ?? {};
  step.strategy.alarms = raised;
  const now = new Map<string, AlarmCondition>();
  for (const arb of activeArbs(step.strategy)) {
    if (arb.phase === 'closed') continue;
    for (const c of arbAlarmConditions(step, arb)) now.set(c.key, c);
  }
  for (const [key, c] of now) {
    if (raised[key]) continue;
    raised[key] = { name: c.name, sinceMs: step.nowMs, message: c.message };
    step.decide({
      kind: 'signal',
      reasonCode: `alarm_${c.name}`,
      message: c.message,
      inputs: { ...c.inputs, alarm_key: key, alarm_state: 'raised' },
    });
  }
  for (const key of Object.keys(raised).sort()) {
    if (now.has(key)) continue;
    const was = raised[key]!;
    delete raised[key];
    step.decide({
      kind: 'signal',
      reasonCode: 'alarm_cleared',
      message: `${was.name} cleared after ${step.nowMs - was.sinceMs} ms`,
      inputs: {
        alarm_key: key,
        alarm: was.name,
        alarm_state: 'cleared',
        duration_ms: String(step.nowMs - was.sinceMs),
      },
    });
  }
}
