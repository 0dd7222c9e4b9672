/**
 * Start: adopt what the venues show. Saved open orders the venue no longer lists are
 * treated as done (the venue position holds what they filled: their fills reported later
 * do not count twice), unless the runtime has not delivered them yet: those are in flight,
 * kept open and awaited like a listed order (their size is neither sent again nor in the
 * venue position); open orders the saved book knows are resumed, the rest canceled; the
 * legs of a saved arb that differ from the venue positions take the venues' sizes, and only
 * then is the imbalance judged (a hedged pair stays open; a leading leg is rebalanced by
 * the management rules); positions without a saved arb are adopted as one (opened if they
 * hedge each other, else unwound to the smaller leg), never entered again; a position no
 * arb accounts for (a third venue, a venue beside a saved arb's legs) is closed
 * reduce-only. Every one of these is a decision that says what was done.
 */
import {
  applyFill,
  type Decimal,
  dec,
  FLAT_POSITION,
  minDec,
  type PositionState,
  positionSideOf,
  type Side,
  ZERO,
} from '@perpmesh/core';
import type { StartInput } from '../../model.js';
import { isOpenOrder, marketKey, markPrice, positionKey, positionSize } from '../../world.js';
import { type Arb, type ArbLeg, activeArbs, emptyLeg, foldIntoAdoptedSize, legSize } from './arb-book.js';
import { type ArbStep, arbInputs, human, legRequest } from './arb-step.js';
import { commonLotSize } from './carry.js';
import { type ArbExposure, arbExposures } from './exposures.js';
import { legImbalance } from './management.js';

export function adoptAtStart(step: ArbStep, input: StartInput): void {
  const known = new Set(
    activeArbs(step.strategy).flatMap((a) => [...Object.keys(a.short.orders), ...Object.keys(a.long.orders)]),
  );
  // Saved orders the venue no longer lists are over: whatever they filled is in the venue
  // positions read at start (their fills may still be reported); waiting for an answer that
  // never comes would stall the arb. An order the runtime has still to send is not listed
  // because it is not placed yet: its answer will come.
  const listed = new Set(input.openOrders.map((o) => o.clientOrderId));
  const unsent = new Set(input.unsentOrderIds ?? []);
  const notListed = Object.values(step.world.orders).filter(
    (o) => isOpenOrder(o) && !listed.has(o.clientOrderId),
  );
  const inFlight = notListed.filter((o) => unsent.has(o.clientOrderId));
  const missing = notListed.filter((o) => !unsent.has(o.clientOrderId));
  if (missing.length > 0) {
    for (const o of missing) {
      o.status = 'expired';
      o.reason = 'not listed by the venue at start';
      o.updatedAtMs = step.nowMs;
    }
    step.decide({
      kind: 'adopt',
      reasonCode: 'orders_missing_at_start',
      message: `${missing.length} saved open order(s) the venue no longer lists: treated as done: the venue positions read at start hold what they filled`,
      inputs: {
        client_order_ids: missing.map((o) => o.clientOrderId).join(','),
        filled: missing.map((o) => o.filled.toFixed()).join(','),
        action: 'treated_as_done',
      },
    });
  }
  if (inFlight.length > 0) {
    step.decide({
      kind: 'adopt',
      reasonCode: 'orders_in_flight_at_start',
      message: `${inFlight.length} saved order(s) not delivered to execution yet: in flight, their outcome is awaited (their size is not sent again, and counts only as it fills)`,
      inputs: {
        client_order_ids: inFlight.map((o) => o.clientOrderId).join(','),
        action: 'awaited',
      },
    });
  }
  const open = Object.values(step.world.orders).filter(isOpenOrder);
  const resumed = open.filter((o) => known.has(o.clientOrderId) && !inFlight.includes(o));
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

  for (const exposure of arbExposures(step.config)) {
    const instrument = exposure.id;
    const arb = step.strategy.arbs[instrument];
    // Each venue's position in its own leg instrument (the same instrument unless `exposures`).
    const held = step.config.venues
      .filter((v) => exposure.legs[v.venue] !== undefined)
      .map((v) => ({
        ...v,
        instrument: exposure.legs[v.venue]!,
        size: positionSize(step.world, v.venue, v.account, exposure.legs[v.venue]!),
      }))
      .filter((v) => !v.size.isZero());
    if (arb) {
      reconcileLegs(step, arb, new Set(missing.map((o) => o.clientOrderId)));
      const legVenues = new Set([arb.short.venue, arb.long.venue]);
      unwindStrays(
        step,
        held.filter((h) => !legVenues.has(h.venue)),
        `arb ${arb.arbId} holds its legs on ${arb.short.venue} and ${arb.long.venue}`,
      );
      continue;
    }
    if (held.length === 0) continue;
    const adopted = adoptPositions(step, exposure, held);
    unwindStrays(
      step,
      held.filter((h) => !adopted.includes(h.venue)),
      `the adopted arb holds its legs on ${adopted.join(' and ')}`,
    );
  }
}

/**
 * Venue positions no arb in the book accounts for (a third venue, or a venue beside a
 * saved arb's legs): closed with a reduce-only order each, so nothing unhedged is left
 * that no arb manages. One decision per position says so (or why it could not be placed).
 */
function unwindStrays(
  step: ArbStep,
  strays: ReadonlyArray<{ venue: string; account: string; instrument: string; size: Decimal }>,
  why: string,
): void {
  for (const stray of strays) {
    const instrument = stray.instrument;
    const inputs = {
      instrument,
      venue: stray.venue,
      account: stray.account,
      venue_size: stray.size.toFixed(),
      action: 'unwound',
    };
    const message = `a ${stray.size.toFixed()} position on ${stray.venue} belongs to no arb (${why}): closing it reduce-only`;
    const market = step.world.markets[marketKey(stray.venue, instrument)];
    if (!market || step.world.tradingState === 'halted') {
      step.decide({
        kind: 'adopt',
        reasonCode: 'stray_position',
        message: `${message}; ${market ? 'trading is halted' : 'its market is not known yet'}, so it is left for the operator`,
        inputs: { ...inputs, action: 'left_for_operator' },
      });
      continue;
    }
    const book = step.world.books[marketKey(stray.venue, instrument)];
    const view = { venue: stray.venue, account: stray.account, market, ...(book ? { book } : {}) };
    const side: Side = stray.size.isPos() ? 'sell' : 'buy';
    step.place([legRequest(step, view, side, stray.size.abs(), true, 'unwind_stray', undefined, undefined)], {
      kind: 'unwind',
      reasonCode: 'stray_position_unwound',
      message,
      inputs,
    });
  }
}

/**
 * Every leg of a saved arb that differs from its venue position takes the venue's size (the
 * venue is what is really held); only then, on the reconciled book, is the imbalance judged
 * (a leg judged against the other's saved size would call a hedged pair one-sided). One
 * decision says which legs changed and what management does next: nothing when the legs
 * match within a lot; else the entry rules (hedge or unwind), the unwind of the leading
 * leg, or the exit closing what each venue holds.
 */
function reconcileLegs(step: ArbStep, arb: Arb, notListed: ReadonlySet<string>): void {
  for (const leg of [arb.short, arb.long]) countOrdersInVenueSize(step, leg, notListed);
  const changed = [arb.short, arb.long].flatMap((leg) => {
    const change = setLegToVenue(step, leg);
    return change ? [{ leg, ...change }] : [];
  });
  if (changed.length === 0) return;
  const { imbalance, balanced } = legImbalance(arb);
  const then = balanced
    ? 'legs_match'
    : arb.phase === 'entering'
      ? 'rebalance_legs'
      : arb.phase === 'exiting'
        ? 'exit_continues'
        : 'unwind_leading_leg';
  const leading = imbalance.isPos() ? 'short' : 'long';
  const lead = `the ${leading} leg leads by ${human(imbalance.abs())}`;
  const next = {
    legs_match: imbalance.isZero()
      ? 'the legs hedge each other'
      : `the legs hedge each other within the ${arb.lotSize.toFixed()} lot`,
    rebalance_legs: `${lead}: the entry rules hedge the lagging leg or unwind the leading one`,
    unwind_leading_leg: `${lead} and will be unwound to match`,
    exit_continues: `${lead}; the exit closes what each venue holds`,
  }[then];
  const described = changed.map(
    (c) =>
      `${c.leg === arb.short ? 'short' : 'long'} leg on ${c.leg.venue} ${c.saved.toFixed()} -> ${c.venue.toFixed()}`,
  );
  step.decide({
    kind: 'adopt',
    reasonCode: 'position_mismatch',
    message: `arb ${arb.arbId} legs reconciled from the venues (${described.join(', ')}): ${next}`,
    inputs: {
      ...arbInputs(step, arb),
      venue: changed.map((c) => c.leg.venue).join(','),
      leg_size: changed.map((c) => c.saved.toFixed()).join(','),
      venue_size: changed.map((c) => c.venue.toFixed()).join(','),
      action: 'leg_set_to_venue_size',
      then,
      adoption_price: changed.map((c) => c.price?.toFixed() ?? '').join(','),
    },
  });
}

/**
 * The venue position read at start holds what the leg's orders filled by then: all of it
 * for an order the venue no longer lists (folded into `adoptedSize`, so its fills replayed
 * after the start do not count twice), the listed filled size for an order still open.
 */
function countOrdersInVenueSize(step: ArbStep, leg: ArbLeg, notListed: ReadonlySet<string>): void {
  for (const [id, entry] of Object.entries(leg.orders)) {
    const order = step.world.orders[id];
    if (!order) continue;
    if (notListed.has(id)) foldIntoAdoptedSize(leg, id, order.fillSize);
    else if (isOpenOrder(order) && order.filled.gt(entry.filled)) entry.filled = order.filled;
  }
}

/**
 * Sets a leg to its venue position when they differ, booking the difference in the leg's
 * accounting at the venue's entry price (else the mark); says what it changed.
 */
function setLegToVenue(
  step: ArbStep,
  leg: ArbLeg,
): { saved: Decimal; venue: Decimal; price: Decimal | undefined } | undefined {
  const venue = positionSize(step.world, leg.venue, leg.account, leg.instrument);
  const saved = legSize(leg);
  if (venue.eq(saved)) return undefined;
  const delta = venue.minus(saved);
  const price = adoptionPrice(step, leg.venue, leg.account, leg.instrument);
  leg.adoptedSize = leg.adoptedSize.plus(delta);
  if (price) {
    if (!leg.position.size.isZero() && leg.position.entryPrice === undefined) {
      leg.position = { ...leg.position, entryPrice: price };
    }
    leg.position = applyFill(leg.position as PositionState, {
      side: delta.isPos() ? 'buy' : 'sell',
      price,
      size: delta.abs(),
    }) as ArbLeg['position'];
  }
  return { saved, venue, price };
}

/** The price an adopted size is booked at: the venue's entry price, else its mark (book mid, funding mark). */
function adoptionPrice(
  step: ArbStep,
  venue: string,
  account: string,
  instrument: string,
): Decimal | undefined {
  return (
    step.world.positions[positionKey(venue, account, instrument)]?.entryPrice ??
    markPrice(step.world, venue, account, instrument)
  );
}

function adoptPositions(
  step: ArbStep,
  exposure: ArbExposure,
  held: ReadonlyArray<{ venue: string; account: string; size: Decimal }>,
): string[] {
  const instrument = exposure.id;
  const legInstrument = (venue: string) => exposure.legs[venue] ?? instrument;
  const shorts = held.filter((h) => h.size.isNeg()).sort((a, b) => a.size.cmp(b.size));
  const longs = held.filter((h) => h.size.isPos()).sort((a, b) => b.size.cmp(a.size));
  const other = (venue: string) =>
    step.config.venues.find((v) => v.venue !== venue && exposure.legs[v.venue] !== undefined)!;
  const shortPick = shorts[0] ?? (longs[0] ? { ...other(longs[0].venue), size: ZERO } : undefined);
  const longPick = longs[0] ?? (shorts[0] ? { ...other(shorts[0].venue), size: ZERO } : undefined);
  if (!shortPick || !longPick) return [];
  const lots = [shortPick, longPick].map(
    (p) => step.world.markets[marketKey(p.venue, legInstrument(p.venue))]?.lotSize,
  );
  const lot =
    lots[0] && lots[1] ? commonLotSize(lots[0], lots[1]) : (lots[0] ?? lots[1] ?? dec('0.00000001'));
  step.strategy.arbSeq += 1;
  const arbId = `${instrument}#${step.strategy.arbSeq}`;
  const leg = (p: { venue: string; account: string; size: Decimal }, entrySide: Side): ArbLeg => {
    const l = emptyLeg(p.venue, p.account, legInstrument(p.venue), entrySide);
    l.adoptedSize = p.size;
    // Without the venue's entry price the leg is priced at the mark, so reducing it can be booked.
    const entryPrice = adoptionPrice(step, p.venue, p.account, legInstrument(p.venue));
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
  return [shortPick.venue, longPick.venue];
}
