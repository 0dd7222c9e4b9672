/**
 * Cross-margin math, pure: what an account's positions and resting orders need at mark,
 * what it has, when it is liquidated and at what mark it would be. The exchange gathers
 * the inputs from its state (positions, open-order exposure, marks, leverage) and acts on
 * the answers; nothing here reads or changes an account.
 *
 * Per instrument, at mark:
 * - unrealized PnL = size x mark - cost basis
 * - maintenance margin = |size| x mark x maintenanceMarginRate
 * - initial margin = (|size| x mark + open-order excess) / leverage, where the open-order
 *   excess is the larger of the buy side's and the sell side's resting notional (at order
 *   price) beyond the part that would only close the position (valued at mark).
 *   Reduce-only orders need no margin (the caller leaves them out of the notionals).
 * Summed over instruments: equity = wallet balance + unrealized PnL; available = equity -
 * initial margin. Liquidation: exactly when equity < maintenance margin.
 */
import { Decimal, ZERO } from '@perpmesh/core';

export interface MarginSummary {
  readonly walletBalance: Decimal;
  readonly unrealizedPnl: Decimal;
  readonly equity: Decimal;
  readonly initialMargin: Decimal;
  readonly maintenanceMargin: Decimal;
  readonly available: Decimal;
}

/** One instrument's part of an account's margin. */
export interface InstrumentMarginInput {
  /** Signed position size (0 when flat). */
  readonly size: Decimal;
  /** Signed sum of size x price of what is open (0 when flat). */
  readonly costBasis: Decimal;
  readonly mark: Decimal;
  readonly maintenanceMarginRate: Decimal;
  readonly leverage: number;
  /** Notional (at order price) of the resting non-reduce-only buys, plus a buy being checked. */
  readonly buyNotional: Decimal;
  /** Same for sells. */
  readonly sellNotional: Decimal;
}

export interface InstrumentMargin {
  readonly unrealizedPnl: Decimal;
  readonly initialMargin: Decimal;
  readonly maintenanceMargin: Decimal;
}

/** The part of an instrument's margin that depends on the position and mark only (not on resting orders). */
export interface PositionMargin {
  /** |size| x mark */
  readonly held: Decimal;
  readonly unrealizedPnl: Decimal;
  readonly maintenanceMargin: Decimal;
}

/**
 * True when two inputs hold the same position Decimal objects (size, cost basis, mark,
 * rate): Decimals are immutable, so the same objects are the same values and the same
 * `positionMargin` follows.
 */
export function samePositionInput(a: InstrumentMarginInput, b: InstrumentMarginInput): boolean {
  return (
    a.size === b.size &&
    a.costBasis === b.costBasis &&
    a.mark === b.mark &&
    a.maintenanceMarginRate === b.maintenanceMarginRate
  );
}

/** `samePositionInput`, and the same leverage and resting notionals: the same `instrumentMargin`. */
export function sameMarginInput(a: InstrumentMarginInput, b: InstrumentMarginInput): boolean {
  return (
    samePositionInput(a, b) &&
    a.leverage === b.leverage &&
    a.buyNotional === b.buyNotional &&
    a.sellNotional === b.sellNotional
  );
}

/** size x mark - cost basis. */
export function unrealizedPnl(size: Decimal, costBasis: Decimal, mark: Decimal): Decimal {
  return size.mul(mark).minus(costBasis);
}

export function positionMargin(i: InstrumentMarginInput): PositionMargin {
  const held = i.size.abs().mul(i.mark);
  return {
    held,
    unrealizedPnl: unrealizedPnl(i.size, i.costBasis, i.mark),
    maintenanceMargin: held.mul(i.maintenanceMarginRate),
  };
}

/** (held + open-order excess) / leverage, with `held` from `positionMargin` of the same input. */
export function initialMargin(i: InstrumentMarginInput, held: Decimal): Decimal {
  const buyExcess = i.size.isNeg() ? i.buyNotional.minus(held) : i.buyNotional;
  const sellExcess = i.size.isPos() ? i.sellNotional.minus(held) : i.sellNotional;
  const excess = Decimal.max(ZERO, buyExcess, sellExcess);
  return held.plus(excess).div(i.leverage);
}

/** One instrument's margin from its position part (computed here when not given). */
export function instrumentMargin(i: InstrumentMarginInput, known?: PositionMargin): InstrumentMargin {
  const p = known ?? positionMargin(i);
  return {
    unrealizedPnl: p.unrealizedPnl,
    initialMargin: initialMargin(i, p.held),
    maintenanceMargin: p.maintenanceMargin,
  };
}

/** The account's cross margin: its wallet balance and every instrument it holds or has orders in. */
export function crossMargin(
  walletBalance: Decimal,
  instruments: Iterable<InstrumentMarginInput>,
): MarginSummary {
  const parts: InstrumentMargin[] = [];
  for (const i of instruments) parts.push(instrumentMargin(i));
  return sumMargin(walletBalance, parts);
}

/** The account's cross margin from its instruments' parts (`instrumentMargin` of each). */
export function sumMargin(walletBalance: Decimal, parts: Iterable<InstrumentMargin>): MarginSummary {
  let upnl = ZERO;
  let im = ZERO;
  let mm = ZERO;
  for (const part of parts) {
    upnl = upnl.plus(part.unrealizedPnl);
    mm = mm.plus(part.maintenanceMargin);
    im = im.plus(part.initialMargin);
  }
  const equity = walletBalance.plus(upnl);
  return {
    walletBalance,
    unrealizedPnl: upnl,
    equity,
    initialMargin: im,
    maintenanceMargin: mm,
    available: equity.minus(im),
  };
}

/** The liquidation trigger: equity strictly below maintenance margin (equal is safe). */
export function isBelowMaintenance(m: MarginSummary): boolean {
  return m.equity.lt(m.maintenanceMargin);
}

/** What may be withdrawn: the available margin, and never more than the wallet holds. */
export function withdrawable(m: MarginSummary): Decimal {
  return Decimal.min(m.available, m.walletBalance);
}

/**
 * Mark at which equity would meet maintenance margin if only this instrument's mark
 * moved: solves wallet + otherUpnl + size x p - cost = otherMM + |size| x p x mmr.
 * Undefined when no positive mark would (e.g. a long backed by more than its notional).
 * Rounded half-even to 8 decimals.
 */
export function liquidationPrice(
  m: MarginSummary,
  position: { readonly size: Decimal; readonly costBasis: Decimal },
  mark: Decimal,
  maintenanceMarginRate: Decimal,
  /** `positionMargin` of this position at this mark and rate, when already computed. */
  known?: PositionMargin,
): Decimal | undefined {
  const { size, costBasis } = position;
  const otherUpnl = m.unrealizedPnl.minus(known?.unrealizedPnl ?? unrealizedPnl(size, costBasis, mark));
  const otherMm = m.maintenanceMargin.minus(
    known?.maintenanceMargin ?? size.abs().mul(mark).mul(maintenanceMarginRate),
  );
  const denominator = size.minus(size.abs().mul(maintenanceMarginRate));
  const p = otherMm.minus(m.walletBalance).minus(otherUpnl).plus(costBasis).div(denominator);
  return p.gt(0) ? p.toDecimalPlaces(8, Decimal.ROUND_HALF_EVEN) : undefined;
}

/**
 * What a liquidation charges once every position is closed at mark (the wallet then holds
 * what equity was): the liquidation fee, capped at what is left (never below 0), and the
 * bad debt the insurance account covers (a negative wallet, as a positive amount).
 */
export function liquidationCharges(
  walletAfterClose: Decimal,
  fee: Decimal,
): { readonly fee: Decimal; readonly badDebt: Decimal } {
  return {
    fee: Decimal.max(ZERO, Decimal.min(fee, walletAfterClose)),
    badDebt: walletAfterClose.isNeg() ? walletAfterClose.neg() : ZERO,
  };
}
