/**
 * The venue port: the one interface every venue adapter implements — the paper venue
 * (in process over libs/sim, or remote over the paper-venue gRPC service), ccxt venues
 * (Binance USD-M, OKX, Hyperliquid, ...) and the Lighter / Extended signers.
 *
 * Rules every adapter keeps:
 * - Decimals only (prices, sizes, fees, balances, rates); instrument ids are ours
 *   (`BTC-USDC-PERP`), the venue's own symbol stays inside the adapter.
 * - Funding rates are reported raw for the venue's own interval, WITH that interval
 *   (`intervalMs`), read from the venue, never assumed. Normalizing is ours (core/funding).
 * - Errors are one of the named VenueError classes (errors.ts). A timeout or a lost
 *   connection while placing an order is `VenueUnknownOutcomeError`: the order may
 *   exist; the caller resolves it by asking the venue (fetchOrder), never by resending.
 * - Readiness is per component, with a reason a person can act on.
 * - Credentials never leave the adapter: not in errors, logs or returned objects.
 */
import type { FillOriginName } from '@perpmesh/contracts';
import type {
  AccountId,
  BookLevel,
  ClientOrderId,
  Decimal,
  EpochMs,
  InstrumentId,
  Liquidity,
  OrderStatus,
  OrderType,
  Side,
  TimeInForce,
  TradeId,
  VenueId,
  VenueOrderId,
} from '@perpmesh/core';
import type { VenueClockOffset } from './shared/venue-clock.js';

export interface VenueMarket {
  instrument: InstrumentId;
  /** The venue's own symbol or market id (`BTCUSDT`, `BTC`, `1`), for logs and adapters. */
  venueSymbol: string;
  base: string;
  quote: string;
  settle: string;
  tickSize: Decimal;
  lotSize: Decimal;
  minSize: Decimal;
  minNotional: Decimal;
  maxLeverage: Decimal;
  /** Funding interval as the venue states it for this instrument. */
  fundingIntervalMs: number;
  makerFeeRate: Decimal;
  takerFeeRate: Decimal;
}

/** Full book. `seq` is the venue's sequence number; deltas continue from it. */
export interface BookSnapshot {
  kind: 'snapshot';
  instrument: InstrumentId;
  seq: number;
  bids: readonly BookLevel[];
  asks: readonly BookLevel[];
  tsEventMs: EpochMs;
}

/**
 * Changed levels; size 0 removes a level. Sequence conventions as core's OrderBook
 * applies them: `prevSeq` (must equal the book's seq), `firstSeq` (range must cover
 * seq + 1), or neither (`seq` must be the book's seq + 1).
 */
export interface BookDelta {
  kind: 'delta';
  instrument: InstrumentId;
  seq: number;
  prevSeq?: number;
  firstSeq?: number;
  bids: readonly BookLevel[];
  asks: readonly BookLevel[];
  tsEventMs: EpochMs;
}

export interface PublicTrade {
  kind: 'trade';
  instrument: InstrumentId;
  tradeId: TradeId;
  price: Decimal;
  size: Decimal;
  /** The taker's side. */
  takerSide: Side;
  tsEventMs: EpochMs;
}

export interface FundingInfo {
  kind: 'funding';
  instrument: InstrumentId;
  /** The venue's rate for ITS OWN interval (fraction, not percent). */
  rate: Decimal;
  intervalMs: number;
  nextFundingTimeMs: EpochMs;
  markPrice: Decimal;
  indexPrice: Decimal;
  tsEventMs: EpochMs;
}

export type MarketEvent = BookSnapshot | BookDelta | PublicTrade | FundingInfo;

export interface VenueBalance {
  asset: string;
  total: Decimal;
  available: Decimal;
  equity: Decimal;
  unrealizedPnl: Decimal;
  tsEventMs: EpochMs;
}

export interface VenuePosition {
  instrument: InstrumentId;
  /** Signed: > 0 long, < 0 short, 0 flat. */
  size: Decimal;
  entryPrice: Decimal;
  markPrice: Decimal;
  unrealizedPnl: Decimal;
  realizedPnl: Decimal;
  leverage: Decimal;
  liquidationPrice?: Decimal;
  tsEventMs: EpochMs;
}

export interface PlaceOrderRequest {
  clientOrderId: ClientOrderId;
  instrument: InstrumentId;
  side: Side;
  type: OrderType;
  timeInForce: TimeInForce;
  /** Required for limit orders. */
  price?: Decimal;
  size: Decimal;
  reduceOnly: boolean;
  /** Allocated by the caller from the state store when `capabilities.nonces` is set. */
  nonce?: bigint;
}

export interface OrderRef {
  instrument: InstrumentId;
  clientOrderId?: ClientOrderId;
  venueOrderId?: VenueOrderId;
}

export interface VenueOrder {
  clientOrderId: ClientOrderId;
  venueOrderId: VenueOrderId;
  instrument: InstrumentId;
  side: Side;
  type: OrderType;
  timeInForce: TimeInForce;
  price?: Decimal;
  size: Decimal;
  filled: Decimal;
  avgFillPrice?: Decimal;
  status: OrderStatus;
  reduceOnly: boolean;
  /** Why the venue rejected, canceled or expired it, in its words. */
  reason?: string;
  tsEventMs: EpochMs;
}

/**
 * Who made a fill: one of our orders, or the venue acting on the account — a liquidation
 * (the venue closes the position at its liquidation engine) or auto-deleveraging (the venue
 * reduces the position against a bankrupt counterparty). Venue-made fills carry no client
 * order id of ours; they still move the position and the balance, so they are reported.
 */
export type FillOrigin = FillOriginName;

export interface VenueFill {
  tradeId: TradeId;
  venueOrderId: VenueOrderId;
  /** Ours; empty (`''`) on a venue-made fill (`origin` liquidation or adl). */
  clientOrderId: ClientOrderId;
  /** Absent means `'order'`. */
  origin?: FillOrigin;
  instrument: InstrumentId;
  side: Side;
  price: Decimal;
  size: Decimal;
  /** Positive = paid, negative = rebate. */
  fee: Decimal;
  feeCurrency: string;
  liquidity: Liquidity;
  tsEventMs: EpochMs;
}

export interface VenueFundingPayment {
  /**
   * The venue's id of the payment when it has one (Binance `tranId`, OKX `billId`); else
   * absent and consumers identify the payment by `{instrument, tsEventMs}` (one payment per
   * instrument per funding time).
   */
  paymentId?: string;
  instrument: InstrumentId;
  /** Signed, in the settle currency: > 0 received, < 0 paid. */
  amount: Decimal;
  rate: Decimal;
  positionSize: Decimal;
  markPrice: Decimal;
  tsEventMs: EpochMs;
}

export type UserStreamEvent =
  | { kind: 'order'; order: VenueOrder }
  | { kind: 'fill'; fill: VenueFill }
  | { kind: 'balance'; balance: VenueBalance }
  | { kind: 'position'; position: VenuePosition }
  | { kind: 'funding_payment'; payment: VenueFundingPayment };

/**
 * The parts of an adapter that report readiness, by the one name every adapter uses and
 * every consumer matches (never a pattern, never a private constant). What a part covers
 * (which instruments, which server) goes in the reason; a ready part's reason says what it
 * has ("expires in 3m, renewing", "52 of 60 requests left"), and is shown too.
 *
 * Every part reaches the holding process's `/readyz` as `venue <venue>/<account>: <part>`
 * (readiness.ts). Whether a part that is not ready makes the process not ready is decided
 * per name in `VENUE_COMPONENT_DECIDES_READINESS`: all do except `balance` and
 * `request budget`, which are informational (shown, never flipping readiness).
 */
export const VENUE_COMPONENT = {
  /** The market list (instruments, rules, fees) is loaded. */
  markets: 'markets',
  /** A public market-data subscription is delivering. */
  marketStream: 'market stream',
  /** The private order/fill/balance stream of the account is delivering. */
  userStream: 'user stream',
  /** The account holds collateral to trade with. Informational: shown, never flips readiness. */
  balance: 'balance',
  /** The adapter's connection to whatever serves the venue (a gateway, a websocket). */
  link: 'link',
  /** The signer passed its known-answer self-test (venues whose signing is ours: Lighter, Extended). */
  signer: 'signer',
  /** The private-read auth token is held and not about to expire (Lighter). */
  authToken: 'auth token',
  /**
   * Requests left in the account's budget (and the venue's quota) before it runs out: ready
   * while a request can go now, the reason saying how many are left ("low" when few).
   * Informational: shown, never flips readiness.
   */
  requestBudget: 'request budget',
  /** The API key's nonce sequence is in step with the venue (Lighter, Hyperliquid). */
  nonces: 'nonces',
  /** The venue's dead-man switch is armed (when execution arms one). */
  deadManSwitch: 'dead-man switch',
} as const;
export type VenueComponentName = (typeof VENUE_COMPONENT)[keyof typeof VENUE_COMPONENT];

/** Readiness of one part of an adapter. */
export interface ReadinessComponent {
  component: VenueComponentName;
  ready: boolean;
  /** Why it is not ready (or what makes it ready), in words a person can act on. */
  reason: string;
}

export interface VenueCapabilities {
  /** The venue wants a strictly increasing nonce per API key (Lighter, Hyperliquid). */
  nonces: boolean;
  /** Nonce must be >= the current time in ms (Hyperliquid). */
  nonceFloorIsTimeMs: boolean;
  /** The venue rejects a reused client order id (Lighter). */
  rejectsDuplicateClientOrderId: boolean;
  cancelAllOrders: boolean;
  postOnly: boolean;
  fok: boolean;
  // The members below are optional so adapters written before them still compile; absent
  // means false (the venue, or the adapter, does not support it).
  /** `fetchFundingPayments` works: the venue keeps a history of the account's funding payments. */
  fundingHistory?: boolean;
  /** `setLeverage` works (per instrument). */
  setLeverage?: boolean;
  /** `setMarginMode` works (per instrument); the modes the venue offers. */
  marginModes?: readonly MarginMode[];
  /**
   * `scheduleCancelAll` works: a dead-man switch at the venue that cancels every open order
   * of the account when the deadline passes without a refresh (Binance `countdownCancelAll`,
   * OKX `cancel-all-after`, Hyperliquid `scheduleCancel`).
   */
  scheduleCancelAll?: boolean;
  /** The shortest deadline the venue accepts for `scheduleCancelAll` (Hyperliquid: 5 s). */
  scheduleCancelAllMinMs?: number;
  /**
   * The venue reports liquidation / auto-deleveraging fills (origin `liquidation`/`adl`) on
   * the user stream and in `fetchFills`.
   */
  venueFills?: boolean;
  /**
   * `createOrders` works: the venue places several orders in ONE call (its batch endpoint), at
   * most this many (Lighter `sendTxBatch`: 50). Absent = no batch call; callers send one by one.
   */
  maxBatchOrders?: number;
  /**
   * With `nonces`: the venue refuses a nonce below one it already took from the API key
   * (Lighter; the paper venue with `requireIncreasingNonce`), so a key's signed requests must
   * ARRIVE in nonce order, not only be allocated in order. Execution replicas then send a
   * key's requests from one owner replica (libs/execution nonce-ownership.ts). Absent = false
   * (Hyperliquid keeps a window of recent nonces: any replica may send).
   */
  strictNonceOrder?: boolean;
}

/**
 * One order's outcome in a batch (`VenuePort.createOrders`): placed, or the error it met, as
 * `createOrder` would have thrown it for that order alone — `VenueRejectedError` & co. when the
 * venue refused it, `VenueUnknownOutcomeError` when the batch's answer was lost (resolve by
 * client order id, never resend), `VenueNotSentError` when the venue never looked at it.
 */
export type BatchOrderOutcome = { ok: true; order: VenueOrder } | { ok: false; error: unknown };

/** Cross: one collateral pool for every position. Isolated: margin per position. */
export type MarginMode = 'cross' | 'isolated';
export const MARGIN_MODES: readonly MarginMode[] = ['cross', 'isolated'];

/**
 * Options of a signed action other than an order: a cancel, a cancel-all, the scheduled
 * cancel-all, a leverage or margin-mode change. On a venue with `capabilities.nonces` every
 * signed action takes a nonce from the ONE sequence of the API key — orders and the rest
 * alike (Hyperliquid, Lighter) — so the caller allocates it exactly as for an order
 * (execution's NonceSender.sign).
 */
export interface SignedActionOptions {
  nonce?: bigint;
}
/** The options of a cancel (a signed action). */
export type CancelOptions = SignedActionOptions;

export interface Subscription {
  close(): Promise<void>;
}

/**
 * The `account` of a public port: one opened for market data only, with no account and
 * no credentials (`access: 'public'`). Its account methods fail with `publicAccessError`.
 */
export const PUBLIC_ACCOUNT = '';

export interface VenuePort {
  readonly venue: VenueId;
  readonly account: AccountId;
  /** Non-secret id of the API key in use; the nonce counter key. */
  readonly apiKeyId: string;
  readonly capabilities: VenueCapabilities;

  loadMarkets(): Promise<VenueMarket[]>;
  fetchOrderBook(instrument: InstrumentId, depth: number): Promise<BookSnapshot>;
  fetchFunding(instruments: InstrumentId[]): Promise<FundingInfo[]>;
  /** Book snapshots and deltas, trades and funding updates for the given instruments. */
  watchMarket(instruments: InstrumentId[], onEvent: (event: MarketEvent) => void): Promise<Subscription>;

  fetchBalances(): Promise<VenueBalance[]>;
  fetchPositions(): Promise<VenuePosition[]>;
  fetchOpenOrders(instrument?: InstrumentId): Promise<VenueOrder[]>;
  /** `undefined` when the venue has no such order. */
  fetchOrder(ref: OrderRef): Promise<VenueOrder | undefined>;
  fetchFills(sinceMs: EpochMs): Promise<VenueFill[]>;
  /** The venue's next acceptable nonce, for a forward-only resync of our counter. */
  fetchNextNonce?(): Promise<bigint>;

  createOrder(request: PlaceOrderRequest): Promise<VenueOrder>;
  /**
   * Places `requests` in ONE venue call (the venue's batch endpoint), in the order given, at most
   * `capabilities.maxBatchOrders` of them. Present when that capability is set. On a nonce venue
   * each request carries its own nonce, increasing in the order given. Resolves with one outcome
   * per request, in the same order: each order is accepted or refused on its own; it rejects only
   * when no request could be looked at (then it is as if each had thrown that error).
   */
  createOrders?(requests: readonly PlaceOrderRequest[]): Promise<BatchOrderOutcome[]>;
  /** `options.nonce`: required when `capabilities.nonces` (see CancelOptions). */
  cancelOrder(ref: OrderRef, options?: CancelOptions): Promise<VenueOrder>;
  /** `options.nonce`: required when `capabilities.nonces` (see CancelOptions). */
  cancelAllOrders(instrument?: InstrumentId, options?: CancelOptions): Promise<VenueOrder[]>;

  /**
   * The account's funding payments at or after `sinceMs`, oldest first. Present when
   * `capabilities.fundingHistory`: the account service recovers payments made while it
   * was not listening.
   */
  fetchFundingPayments?(sinceMs: EpochMs): Promise<VenueFundingPayment[]>;
  /**
   * Sets the instrument's leverage on the account. Present when `capabilities.setLeverage`;
   * `options.nonce` as for cancels.
   */
  setLeverage?(instrument: InstrumentId, leverage: Decimal, options?: SignedActionOptions): Promise<void>;
  /** Sets the instrument's margin mode. Present when `capabilities.marginModes` lists modes. */
  setMarginMode?(instrument: InstrumentId, mode: MarginMode, options?: SignedActionOptions): Promise<void>;
  /**
   * Arms (or re-arms, moving the deadline) the venue's dead-man switch: unless called again
   * within `afterMs`, the venue cancels every open order of the account. `afterMs = 0`
   * disarms it. Present when `capabilities.scheduleCancelAll`; `options.nonce` as for cancels.
   */
  scheduleCancelAll?(afterMs: number, options?: CancelOptions): Promise<void>;
  /** Orders, fills, balances, positions and funding payments of this account, as they happen. */
  watchUserStream(onEvent: (event: UserStreamEvent) => void): Promise<Subscription>;

  readiness(): ReadinessComponent[];
  /**
   * The venue's clock offset from ours as last measured (shared/venue-clock.ts), or undefined
   * while not measured. Present on adapters that measure it.
   */
  clockOffset?(): VenueClockOffset | undefined;
  close(): Promise<void>;
}
