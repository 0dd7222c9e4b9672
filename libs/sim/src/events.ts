/**
 * What a simulated venue tells the world: public market data (book deltas with a
 * sequence, trades, funding/mark updates, funding settlements) and a per-account user
 * stream (order updates, fills, balances, positions, funding payments, liquidations).
 * Plain data with Decimals; a venue adapter maps them to its wire format. Every event
 * carries `venueId` and `tsEventMs` (the venue's clock).
 */
import {
  type AccountId,
  type ClientOrderId,
  Decimal,
  type EpochMs,
  type InstrumentId,
  type Liquidity,
  type OrderStatus,
  type OrderType,
  type PositionSide,
  type Side,
  type TimeInForce,
  type TradeId,
  type VenueId,
  type VenueOrderId,
} from '@perpmesh/core';

/** Why a venue refused a request. Stable codes; `message` names the field and value. */
export type RejectCode =
  | 'invalid_argument'
  | 'unknown_account'
  | 'unknown_instrument'
  | 'invalid_tick'
  | 'invalid_lot'
  | 'below_min_size'
  | 'above_max_size'
  | 'below_min_notional'
  | 'post_only_would_cross'
  | 'reduce_only_would_increase'
  | 'insufficient_margin'
  | 'insufficient_balance'
  | 'duplicate_client_order_id'
  | 'invalid_nonce'
  | 'no_reference_price'
  | 'invalid_leverage'
  | 'order_not_found';

export interface Reject {
  readonly code: RejectCode;
  /** The request field at fault (`price`, `size`, `nonce`...), when one is. */
  readonly field?: string;
  readonly message: string;
}

/**
 * Why an order ended without a full fill. `self_trade`: a taker met its own account's
 * resting order, which is canceled (expire-maker self-trade prevention).
 */
export type OrderEndReason =
  | 'canceled_by_user'
  | 'canceled_all_by_user'
  | 'no_liquidity'
  | 'protection_band'
  | 'ioc_remainder'
  | 'fok_not_fillable'
  | 'self_trade'
  | 'reduce_only_position_closed'
  | 'liquidation'
  /** The account's scheduled cancel-all (dead-man switch) fired: not refreshed in time. */
  | 'dead_man_switch';

export interface OrderView {
  readonly venueId: VenueId;
  readonly accountId: AccountId;
  readonly instrumentId: InstrumentId;
  readonly venueOrderId: VenueOrderId;
  readonly clientOrderId?: ClientOrderId;
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  /** Limit price; absent on market orders. */
  readonly price?: Decimal;
  /** Requested size after a reduce-only cap. */
  readonly size: Decimal;
  readonly filledSize: Decimal;
  /** Size that will not fill any more (canceled, expired); 0 while open. */
  readonly unfilledSize: Decimal;
  /** Volume-weighted fill price; absent before the first fill. */
  readonly avgFillPrice?: Decimal;
  readonly feesPaid: Decimal;
  readonly reduceOnly: boolean;
  readonly status: OrderStatus;
  readonly endReason?: OrderEndReason;
  readonly reject?: Reject;
  readonly createdMs: EpochMs;
  readonly updatedMs: EpochMs;
}

export interface BookLevel {
  readonly price: Decimal;
  /** Total resting size at the price; 0 in a delta means the level is gone. */
  readonly size: Decimal;
}

export interface BookSnapshot {
  readonly venueId: VenueId;
  readonly instrumentId: InstrumentId;
  /** The sequence of the last delta included; the next delta has prevSeq === seq. */
  readonly seq: number;
  readonly tsEventMs: EpochMs;
  /** Best first. */
  readonly bids: readonly BookLevel[];
  readonly asks: readonly BookLevel[];
}

interface Base {
  readonly venueId: VenueId;
  readonly tsEventMs: EpochMs;
}

/** Changed levels of one book; per (venue, instrument) `seq` rises by exactly 1 per delta. */
export interface BookDeltaEvent extends Base {
  readonly type: 'book_delta';
  readonly instrumentId: InstrumentId;
  readonly seq: number;
  readonly prevSeq: number;
  readonly bids: readonly BookLevel[];
  readonly asks: readonly BookLevel[];
}

export interface TradeEvent extends Base {
  readonly type: 'trade';
  readonly instrumentId: InstrumentId;
  readonly tradeId: TradeId;
  readonly price: Decimal;
  readonly size: Decimal;
  readonly takerSide: Side;
}

/** Mark/index update with the predicted rate of the running interval (md.funding). */
export interface FundingRateEvent extends Base {
  readonly type: 'funding_rate';
  readonly instrumentId: InstrumentId;
  readonly markPrice: Decimal;
  readonly indexPrice: Decimal;
  /** What the running interval would settle at if it ended now. */
  readonly predictedRate: Decimal;
  readonly lastSettledRate?: Decimal;
  readonly fundingIntervalMs: number;
  readonly nextFundingTimeMs: EpochMs;
}

export interface FundingSettledEvent extends Base {
  readonly type: 'funding_settled';
  readonly instrumentId: InstrumentId;
  readonly rate: Decimal;
  readonly markPrice: Decimal;
  readonly indexPrice: Decimal;
  readonly fundingTimeMs: EpochMs;
  readonly fundingIntervalMs: number;
  readonly nextFundingTimeMs: EpochMs;
  /** Paid by one side, received by the other, exactly. */
  readonly totalPaid: Decimal;
}

export interface OrderUpdateEvent extends Base {
  readonly type: 'order_update';
  readonly accountId: AccountId;
  readonly order: OrderView;
}

export interface FillEvent extends Base {
  readonly type: 'fill';
  readonly accountId: AccountId;
  readonly instrumentId: InstrumentId;
  readonly venueOrderId: VenueOrderId;
  readonly clientOrderId?: ClientOrderId;
  readonly tradeId: TradeId;
  readonly side: Side;
  readonly price: Decimal;
  readonly size: Decimal;
  /** Positive = paid, negative = rebate. */
  readonly fee: Decimal;
  readonly feeAsset: string;
  readonly liquidity: Liquidity;
  readonly realizedPnl: Decimal;
  /** Position size (signed) just before and after this fill. */
  readonly positionBefore: Decimal;
  readonly positionAfter: Decimal;
  readonly isLiquidation: boolean;
}

export interface BalanceView {
  readonly venueId: VenueId;
  readonly accountId: AccountId;
  readonly asset: string;
  /** Net deposits. */
  readonly collateral: Decimal;
  /** Wallet balance: collateral + realized PnL - fees + funding + transfers. */
  readonly walletBalance: Decimal;
  readonly realizedPnl: Decimal;
  readonly feesPaid: Decimal;
  /** Net funding, positive = received. */
  readonly fundingNet: Decimal;
  /** Liquidation fees, insurance cover, fee income (house accounts). */
  readonly transfersNet: Decimal;
  readonly unrealizedPnl: Decimal;
  readonly equity: Decimal;
  readonly initialMargin: Decimal;
  readonly maintenanceMargin: Decimal;
  /** equity - initialMargin (may be negative). */
  readonly available: Decimal;
  readonly asOfMs: EpochMs;
}

export interface BalanceEvent extends Base {
  readonly type: 'balance';
  readonly accountId: AccountId;
  readonly balance: BalanceView;
}

export interface PositionView {
  readonly venueId: VenueId;
  readonly accountId: AccountId;
  readonly instrumentId: InstrumentId;
  readonly side: PositionSide;
  /** Signed: > 0 long, < 0 short. */
  readonly size: Decimal;
  /** Average entry (cost basis / size, 8 decimals); absent when flat. */
  readonly entryPrice?: Decimal;
  readonly markPrice: Decimal;
  readonly unrealizedPnl: Decimal;
  /** Realized on this instrument since the account opened. */
  readonly realizedPnl: Decimal;
  readonly leverage: number;
  /** Mark at which the account would be liquidated if nothing else moved; absent when none. */
  readonly liquidationPrice?: Decimal;
  readonly asOfMs: EpochMs;
}

export interface PositionEvent extends Base {
  readonly type: 'position';
  readonly accountId: AccountId;
  readonly position: PositionView;
}

export interface FundingPaymentEvent extends Base {
  readonly type: 'funding_payment';
  readonly accountId: AccountId;
  readonly instrumentId: InstrumentId;
  /** Positive = received, negative = paid. */
  readonly amount: Decimal;
  readonly rate: Decimal;
  readonly markPrice: Decimal;
  readonly positionSize: Decimal;
  readonly fundingTimeMs: EpochMs;
}

export interface LiquidationEvent extends Base {
  readonly type: 'liquidation';
  readonly accountId: AccountId;
  /** Equity and maintenance margin at the trigger: equity < maintenanceMargin always. */
  readonly equity: Decimal;
  readonly maintenanceMargin: Decimal;
  readonly closed: readonly { instrumentId: InstrumentId; size: Decimal; price: Decimal }[];
  readonly liquidationFee: Decimal;
  /** Negative equity left after closing, covered by the insurance account. */
  readonly badDebt: Decimal;
}

export type MarketEvent = BookDeltaEvent | TradeEvent | FundingRateEvent | FundingSettledEvent;
export type UserEvent =
  | OrderUpdateEvent
  | FillEvent
  | BalanceEvent
  | PositionEvent
  | FundingPaymentEvent
  | LiquidationEvent;
export type SimEvent = MarketEvent | UserEvent;
export type SimEventType = SimEvent['type'];

/** True for events of one account's user stream. */
export function isUserEvent(event: SimEvent): event is UserEvent {
  return 'accountId' in event;
}

/**
 * Canonical JSON of an event (or anything holding Decimals): keys sorted, decimals as
 * plain strings. Equal tapes serialize to equal bytes, which is what replay and the
 * determinism tests compare.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value));
}

function canonicalize(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (isDecimal(value)) return value.toFixed();
  if (Array.isArray(value)) return value.map(canonicalize);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = canonicalize(v);
  }
  return out;
}

function isDecimal(value: object): value is Decimal {
  return value instanceof Decimal;
}
