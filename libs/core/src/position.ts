/**
 * Linear-perpetual position accounting, one-way (netting) mode, average-cost basis.
 *
 * - `size` is signed: > 0 long, < 0 short. A buy adds, a sell subtracts.
 * - Adding to a position moves the entry to the size-weighted average price.
 * - Reducing realizes `(fillPrice - entry) * closedSize` for a long (mirrored for a
 *   short) and leaves the entry unchanged.
 * - A fill larger than the position flips it: the old position closes at the fill price,
 *   the remainder opens a new one with entry = fill price.
 * - Fees: positive is paid, negative a rebate. They reduce `realizedPnl` and are also
 *   summed in `fees`.
 * - Funding: positive is received, negative paid. Summed in `funding` and included in
 *   `netRealizedPnl` (not in `realizedPnl`, so trading and carry can be told apart).
 * - Unrealized PnL at mark: `(mark - entry) * size` (signed size, so shorts gain as the
 *   mark falls).
 *
 * All functions are pure over an immutable `PositionState`. Everything is an exact
 * decimal except the average entry, which is a division and so rounded to the decimal
 * precision (60 significant digits); PnL identities hold to that precision.
 */
import { Decimal, ZERO } from './decimal.js';
import { ValidationError } from './errors.js';
import type { EpochMs, PositionSide, Side } from './types.js';

export interface PositionState {
  /** Signed size in base units: > 0 long, < 0 short. */
  readonly size: Decimal;
  readonly side: PositionSide;
  /** Average entry price; undefined when flat. */
  readonly entryPrice: Decimal | undefined;
  /** Price PnL realized by reducing and closing, before fees and funding. */
  readonly tradingPnl: Decimal;
  /** Cumulative fees: positive paid, negative rebates. */
  readonly fees: Decimal;
  /** Cumulative funding: positive received, negative paid. */
  readonly funding: Decimal;
  /** tradingPnl - fees. */
  readonly realizedPnl: Decimal;
  /** realizedPnl + funding: everything this position has put in or taken out of the account. */
  readonly netRealizedPnl: Decimal;
  /** Last mark price given to `markTo`; undefined until the first mark. */
  readonly markPrice: Decimal | undefined;
  /** Unrealized PnL at `markPrice`; zero when flat or not yet marked. */
  readonly unrealizedPnl: Decimal;
  readonly updatedAtMs: EpochMs | undefined;
}

export interface PositionFill {
  readonly side: Side;
  readonly price: Decimal;
  readonly size: Decimal;
  /** Positive paid, negative rebate; defaults to zero. */
  readonly fee?: Decimal;
  readonly tsEventMs?: EpochMs;
}

export interface FundingPayment {
  /** Positive received, negative paid. */
  readonly amount: Decimal;
  readonly tsEventMs?: EpochMs;
}

export const FLAT_POSITION: PositionState = Object.freeze({
  size: ZERO,
  side: 'flat',
  entryPrice: undefined,
  tradingPnl: ZERO,
  fees: ZERO,
  funding: ZERO,
  realizedPnl: ZERO,
  netRealizedPnl: ZERO,
  markPrice: undefined,
  unrealizedPnl: ZERO,
  updatedAtMs: undefined,
});

function requireDecimal(value: unknown, field: string): Decimal {
  if (!(value instanceof Decimal) || !value.isFinite()) {
    throw new ValidationError(field, `must be a finite decimal, got ${String(value)}`);
  }
  return value;
}

function requirePositive(value: unknown, field: string): Decimal {
  const d = requireDecimal(value, field);
  if (!d.gt(0)) throw new ValidationError(field, `must be greater than 0, got ${d.toFixed()}`);
  return d;
}

export function positionSideOf(size: Decimal): PositionSide {
  return size.isZero() ? 'flat' : size.isPos() ? 'long' : 'short';
}

/** `(mark - entry) * size`; zero when flat. */
export function unrealizedPnlAt(
  state: Pick<PositionState, 'size' | 'entryPrice'>,
  markPrice: Decimal,
): Decimal {
  if (state.entryPrice === undefined || state.size.isZero()) return ZERO;
  return markPrice.minus(state.entryPrice).mul(state.size);
}

/** Absolute position value at `markPrice`: |size| * mark. */
export function notionalAt(state: Pick<PositionState, 'size'>, markPrice: Decimal): Decimal {
  return state.size.abs().mul(markPrice);
}

function withDerived(
  state: PositionState,
  changes: Partial<
    Pick<PositionState, 'size' | 'entryPrice' | 'tradingPnl' | 'fees' | 'funding' | 'markPrice'>
  >,
  tsEventMs: EpochMs | undefined,
): PositionState {
  const next = { ...state, ...changes };
  const realizedPnl = next.tradingPnl.minus(next.fees);
  return {
    ...next,
    side: positionSideOf(next.size),
    realizedPnl,
    netRealizedPnl: realizedPnl.plus(next.funding),
    unrealizedPnl: next.markPrice === undefined ? ZERO : unrealizedPnlAt(next, next.markPrice),
    updatedAtMs:
      tsEventMs === undefined ? state.updatedAtMs : Math.max(state.updatedAtMs ?? tsEventMs, tsEventMs),
  };
}

/** Applies one fill: increase, reduce, close or flip. */
export function applyFill(state: PositionState, fill: PositionFill): PositionState {
  const price = requirePositive(fill.price, 'fill.price');
  const fillSize = requirePositive(fill.size, 'fill.size');
  const fee = fill.fee === undefined ? ZERO : requireDecimal(fill.fee, 'fill.fee');
  if (fill.side !== 'buy' && fill.side !== 'sell') {
    throw new ValidationError('fill.side', `must be buy or sell, got ${JSON.stringify(fill.side)}`);
  }
  const signedFill = fill.side === 'buy' ? fillSize : fillSize.neg();
  const size = state.size;
  const fees = state.fees.plus(fee);
  const newSize = size.plus(signedFill);

  if (size.isZero() || size.isPos() === signedFill.isPos()) {
    // Opening or adding: size-weighted average entry.
    const entryPrice =
      state.entryPrice === undefined || size.isZero()
        ? price
        : state.entryPrice.mul(size.abs()).plus(price.mul(fillSize)).div(newSize.abs());
    return withDerived(state, { size: newSize, entryPrice, fees }, fill.tsEventMs);
  }

  // Reducing, closing or flipping: the closed part realizes against the entry.
  const entry = state.entryPrice;
  if (entry === undefined) {
    throw new ValidationError(
      'state.entryPrice',
      `a ${size.toFixed()} position without an entry price cannot be reduced (give it one when adopting it)`,
    );
  }
  const closedSize = fillSize.lt(size.abs()) ? fillSize : size.abs();
  const direction = size.isPos() ? 1 : -1;
  const tradingPnl = state.tradingPnl.plus(price.minus(entry).mul(closedSize).mul(direction));
  const entryPrice = newSize.isZero()
    ? undefined
    : newSize.isPos() === size.isPos()
      ? entry // partial reduce: the rest keeps its entry
      : price; // flip: the remainder opens at the fill price
  return withDerived(state, { size: newSize, entryPrice, tradingPnl, fees }, fill.tsEventMs);
}

/** Books a funding payment (positive received, negative paid). */
export function applyFunding(state: PositionState, payment: FundingPayment): PositionState {
  const amount = requireDecimal(payment.amount, 'funding.amount');
  return withDerived(state, { funding: state.funding.plus(amount) }, payment.tsEventMs);
}

/** Marks the position: stores the mark and recomputes unrealized PnL. */
export function markTo(state: PositionState, markPrice: Decimal, tsEventMs?: EpochMs): PositionState {
  requirePositive(markPrice, 'markPrice');
  return withDerived(state, { markPrice }, tsEventMs);
}
