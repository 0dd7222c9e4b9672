/**
 * Start: adopt what the venues show. Open orders the saved book knows are resumed, the
 * rest canceled; a saved leg that differs from the venue position is reported (closes are
 * capped to the venue anyway); positions without a saved arb are adopted as one (opened
 * if they hedge each other, else unwound to the smaller leg), never entered again.
 */
import { type Decimal, dec, FLAT_POSITION, minDec, positionSideOf, type Side, ZERO } from '@perpmesh/core';
import { isOpenOrder, marketKey, positionSize } from '../../world.js';
import { type Arb, type ArbLeg, activeArbs, emptyLeg, legSize } from './arb-book.js';
import { type ArbStep, arbInputs } from './arb-step.js';
import { commonLotSize } from './carry.js';

export function adoptAtStart(step: ArbStep): void {
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
