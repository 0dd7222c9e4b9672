/**
 * SimExchange: one simulated perp venue — matching engine per instrument, cross-margin
 * accounts, funding and liquidation. Pure and deterministic: no clock, no randomness,
 * no I/O. Time only moves through `advance(nowMs)`; every command is stamped with the
 * venue clock. Commands return their direct result and append events to an outbox that
 * `drainEvents()` empties (a `SimWorld` drains it on each step).
 *
 * This class is the venue's one transactional unit: every command and every step mutates
 * its state and ends in `finish()`. The pure rules it applies live beside it: order
 * checks in order-rules.ts, margin and liquidation math in margin.ts.
 *
 * Rules (also in README.md):
 * - Matching: price-time priority; a taker fills at each maker's price. A taker meeting
 *   its own account's resting order cancels that resting order (expire-maker
 *   self-trade prevention). Market orders never fill beyond mark x (1 ± band); what they
 *   cannot fill is canceled. IOC remainders expire; FOK either fills in full or expires
 *   untouched; post-only orders that would cross are rejected.
 * - Reduce-only: rejected when flat or when the order's side would increase the
 *   position; otherwise capped to the position size at placement and again at every
 *   fill; resting reduce-only orders are canceled when the position closes or flips.
 * - Margin (cross): margin.ts.
 * - Liquidation: checked after every command, price update and funding settlement; an
 *   account (not a house account) with positions is liquidated exactly when
 *   equity < maintenance margin: its orders are canceled, every position is transferred
 *   at mark to the insurance (backstop) account, a liquidation fee of rate x notional
 *   (capped at the equity left) goes to the insurance account, and negative equity (bad
 *   debt) is covered by the insurance account.
 */
import {
  type AccountId,
  type ClientOrderId,
  Decimal,
  type DecimalInput,
  type EpochMs,
  type InstrumentId,
  type MarketRules,
  type OrderType,
  parseDecimal,
  type Side,
  type TimeInForce,
  ValidationError,
  type VenueOrderId,
  ZERO,
} from '@perpmesh/core';
import { Account, type MarginHeadroom, type Position } from './account.js';
import { OrderBook } from './book.js';
import type { InstrumentSpec, VenueConfig } from './config.js';
import { DEC60_ZERO, LastDecimal, toDecimal } from './decimal60.js';
import type {
  BalanceView,
  BookLevel,
  BookSnapshot,
  FundingRateEvent,
  OrderEndReason,
  OrderView,
  PositionView,
  Reject,
  SimEvent,
} from './events.js';
import {
  type CostScale,
  costDecimal,
  costScale,
  type FixedRate,
  feeOfNotionalUnits,
  fixedRate,
  InstrumentScale,
  moneyDecimals,
  notionalUnits,
} from './fixed.js';
import { fundingRateFixed, PremiumIndex, splitFunding } from './funding.js';
import {
  type InstrumentMargin,
  type InstrumentMarginInput,
  instrumentMargin,
  isBelowMaintenance,
  liquidationCharges,
  liquidationPrice,
  type MarginSummary,
  positionMargin,
  sameMarginInput,
  samePositionInput,
  sumMargin,
  withdrawable,
} from './margin.js';
import {
  baseUnits,
  equityLessInitialUnits,
  type InstrumentMaintenanceScale,
  type MaintenanceScale,
  maintenanceScale,
  positionCoefficient,
  SURE_MARGIN_UNITS,
  surelyAboveMaintenance,
} from './margin-fixed.js';
import { ClosedOrderColumns, type OrderQuantities, SimOrder } from './order.js';
import {
  checkFixedQuantities,
  checkMarketRules,
  checkMaxSize,
  checkOrderRequest,
  checkOrderShape,
  checkPostOnly,
  checkReduceOnlyDirection,
  decimalOrReject,
  meetsMinimums,
  minimumsOnly,
  protectionBandLimit,
  reduceOnlyCapacity,
} from './order-rules.js';
import { VenueRejectError, venueReject } from './rejects.js';

export type { MarginSummary } from './margin.js';
export { VenueRejectError } from './rejects.js';

/** House account that collects trading fees (and pays maker rebates). */
export const FEE_ACCOUNT_ID: AccountId = 'house:fees';
/** House account that takes over liquidated positions and fees, and covers bad debt. */
export const INSURANCE_ACCOUNT_ID: AccountId = 'house:insurance';

/** Lighter-style request authentication: a strictly increasing nonce per API key. */
export interface NonceAuth {
  readonly apiKey?: string;
  readonly nonce?: number;
}

export interface PlaceOrderRequest extends NonceAuth {
  readonly accountId: AccountId;
  readonly instrumentId: InstrumentId;
  readonly side: Side;
  readonly type: OrderType;
  /** Default: gtc for limit, ioc for market. Market orders take ioc or fok. */
  readonly timeInForce?: TimeInForce;
  /** Required for limit orders, absent for market orders. */
  readonly price?: DecimalInput;
  readonly size: DecimalInput;
  readonly reduceOnly?: boolean;
  readonly clientOrderId?: ClientOrderId;
}

/**
 * `PlaceOrderRequest` in the instrument's whole ticks and lots (`InstrumentScale`: price =
 * priceTicks x tick size, size = sizeLots x lot size), for callers that compute quantities on
 * the grid already (the world's market maker and noise takers): nothing is parsed, and the
 * order's Decimals are built only if something reads them. Same rules and results as
 * `placeOrder` with those Decimals.
 */
export interface FixedOrderRequest extends NonceAuth {
  readonly accountId: AccountId;
  readonly instrumentId: InstrumentId;
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce?: TimeInForce;
  /** Required for limit orders (a positive safe integer), absent for market orders. */
  readonly priceTicks?: number;
  /** A positive safe integer. */
  readonly sizeLots: number;
  readonly reduceOnly?: boolean;
  readonly clientOrderId?: ClientOrderId;
}

/** One quote of `requoteFixed`: a gtc limit order in whole ticks and lots, with its own nonce. */
export interface FixedQuote extends NonceAuth {
  readonly side: Side;
  readonly priceTicks: number;
  readonly sizeLots: number;
}

/** `requoteFixed`: the account's quotes on one instrument replaced (the cancel carries this request's nonce). */
export interface RequoteRequest extends NonceAuth {
  readonly accountId: AccountId;
  readonly instrumentId: InstrumentId;
  readonly quotes: readonly FixedQuote[];
}

export type PlaceOrderResult =
  | { readonly ok: true; readonly order: OrderView }
  | { readonly ok: false; readonly reject: Reject; readonly order?: OrderView };

export interface CancelOrderRequest extends NonceAuth {
  readonly accountId: AccountId;
  readonly venueOrderId?: VenueOrderId;
  readonly clientOrderId?: ClientOrderId;
}

export type CancelOrderResult =
  | { readonly ok: true; readonly order: OrderView }
  | { readonly ok: false; readonly reject: Reject };

export interface CancelAllRequest extends NonceAuth {
  readonly accountId: AccountId;
  readonly instrumentId?: InstrumentId;
}

export type CancelAllResult =
  | { readonly ok: true; readonly canceled: readonly OrderView[] }
  | { readonly ok: false; readonly reject: Reject };

/**
 * Arms, moves (`afterMs > 0`) or disarms (`afterMs = 0`) the account's dead-man switch:
 * when the venue clock reaches now + afterMs without another call, every open order of the
 * account is canceled (Binance countdownCancelAll, OKX cancel-all-after, Hyperliquid
 * scheduleCancel).
 */
export interface ScheduleCancelAllRequest extends NonceAuth {
  readonly accountId: AccountId;
  readonly afterMs: number;
}

export interface SetLeverageRequest extends NonceAuth {
  readonly accountId: AccountId;
  readonly instrumentId: InstrumentId;
  readonly leverage: number;
}

export type SimpleResult = { readonly ok: true } | { readonly ok: false; readonly reject: Reject };

/** An order considered for the margin check, on top of the account's resting ones. */
interface ExtraOrder {
  readonly instrumentId: InstrumentId;
  readonly side: Side;
  readonly size: Decimal;
  readonly price: Decimal;
}

interface InstrumentState {
  readonly spec: InstrumentSpec;
  /** Ticks and lots: the exact fixed point of the book and the orders (fixed.ts). */
  readonly scale: InstrumentScale;
  /** Positions' cost basis and realized PnL in fixed point (fixed.ts); undefined: Decimal. */
  readonly costScale: CostScale | undefined;
  /** The spec's minimums without tick and lot, for orders whose lots and ticks are whole (`minimumsOnly`). */
  readonly minimums: MarketRules;
  readonly book: OrderBook;
  markPrice: Decimal | undefined;
  indexPrice: Decimal | undefined;
  /** The running funding interval's time-weighted premium (funding.ts). */
  readonly premium: PremiumIndex;
  lastSettledRate: Decimal | undefined;
  /** The predicted rate's Decimal, the same object while the rate stays (every price update asks). */
  readonly predictedRate: LastDecimal;
  /** The mark in whole ticks (NaN before the first mark, or off the grid). */
  markTicks: number;
  /** The protection band limits at `mark` (bandOf), per side once asked. */
  band:
    | {
        readonly mark: Decimal;
        buy?: { readonly price: Decimal; readonly ticks: number };
        sell?: { readonly price: Decimal; readonly ticks: number };
      }
    | undefined;
}

export interface SimExchangeOptions {
  /** Venue clock at construction (ms since epoch). Default 0. */
  readonly startMs?: EpochMs;
  /**
   * Whose user events (order updates, fills, positions, balances, funding payments,
   * liquidations) are built and emitted; asked at each event. Default: every account's.
   * Views cost most of a command, and nobody reads those of background or house accounts
   * unless a subscriber exists; an observed account's events are the same either way.
   */
  readonly observeAccount?: (accountId: AccountId) => boolean;
}

export class SimExchange {
  readonly config: VenueConfig;
  private clockMs: EpochMs;
  private nextFundingMs: EpochMs;
  private readonly instruments = new Map<InstrumentId, InstrumentState>();
  /** The same, in listing order, for the end of every command (no Map iterator per command). */
  private readonly instrumentList: InstrumentState[] = [];
  private readonly accounts = new Map<AccountId, Account>();
  private readonly outbox: SimEvent[] = [];
  private orderSeq = 0;
  private tradeSeq = 0;
  /**
   * Closed orders still queryable (the last closedOrderRetention), saved in columns
   * (`ClosedOrderColumns`: no order object outlives its command) as a ring in closing order:
   * filled up to the retention, then `closedOrderNext` is the oldest slot, the next one replaced.
   */
  private readonly closedOrders = new ClosedOrderColumns(0);
  private closedOrderCount = 0;
  private closedOrderNext = 0;
  /**
   * The retained closed orders' slots by sequence number, built at the first lookup of a closed
   * order and kept from then on (an exchange nobody asks, a backtest's, never pays for it).
   */
  private closedOrderIndex: Map<number, number> | undefined;
  /** `${accountId}\u0000${clientOrderId}` -> order, for open and retained closed orders. */
  private readonly byClientId = new Map<string, SimOrder>();
  // Work of the running command, flushed by finish().
  private batchDepth = 0;
  /**
   * During `requoteFixed`: the account and instrument whose quotes all surely fit the margin
   * together (so each one does, on top of those before it), until a trade changes the account.
   */
  private quotesSurelyFit: { readonly acc: Account; readonly inst: InstrumentState } | undefined;
  /** Accounts whose positions changed, in first-touch order (each keeps its instruments: `touchedInstruments`). */
  private readonly touchedPositions: Account[] = [];
  /** Accounts whose balance changed, in first-touch order (`balanceTouched` marks them). */
  private readonly touchedBalances: Account[] = [];
  /** The margins finish() computed for the running command's accounts (reused: no Map per command). */
  private readonly finishMargins = new Map<AccountId, MarginSummary>();
  private checkAllForLiquidation = false;
  private readonly observeAccount: ((accountId: AccountId) => boolean) | undefined;
  /** The integer liquidation check's scale (margin-fixed.ts); undefined: Decimal only. */
  private readonly maintenance: MaintenanceScale | undefined;
  /**
   * The accounts' money units, 10^-moneyDecimals (ledgers and cost bases in bigint): the
   * maintenance scale's when there is one; undefined: Decimal.
   */
  private readonly moneyDecimals: number | undefined;
  private readonly makerFeeRate: FixedRate;
  private readonly takerFeeRate: FixedRate;

  constructor(config: VenueConfig, options: SimExchangeOptions = {}) {
    this.config = config;
    this.observeAccount = options.observeAccount;
    this.maintenance = maintenanceScale(config.instruments, config.settlementDecimals);
    this.makerFeeRate = fixedRate(config.makerFeeRate);
    this.takerFeeRate = fixedRate(config.takerFeeRate);
    this.moneyDecimals = moneyDecimals(
      config.instruments.map((spec) => new InstrumentScale(spec)),
      this.maintenance?.decimals ?? config.settlementDecimals,
    );
    const startMs = options.startMs ?? 0;
    if (!Number.isSafeInteger(startMs) || startMs < 0) {
      throw new ValidationError('startMs', `must be a non-negative integer ms, got ${String(startMs)}`);
    }
    this.clockMs = startMs;
    this.nextFundingMs = this.fundingBoundaryAfter(startMs);
    for (const spec of config.instruments) {
      const scale = new InstrumentScale(spec);
      this.instruments.set(spec.instrumentId, {
        spec,
        scale,
        costScale: costScale(scale, config.settlementDecimals, this.moneyDecimals),
        minimums: minimumsOnly(spec),
        book: new OrderBook(spec.instrumentId, scale),
        markPrice: undefined,
        indexPrice: undefined,
        premium: new PremiumIndex(startMs),
        lastSettledRate: undefined,
        predictedRate: new LastDecimal(),
        markTicks: Number.NaN,
        band: undefined,
      });
    }
    this.instrumentList.push(...this.instruments.values());
    this.accounts.set(FEE_ACCOUNT_ID, new Account(FEE_ACCOUNT_ID, true, this.moneyDecimals));
    this.accounts.set(INSURANCE_ACCOUNT_ID, new Account(INSURANCE_ACCOUNT_ID, true, this.moneyDecimals));
  }

  get venueId(): string {
    return this.config.venueId;
  }

  get nowMs(): EpochMs {
    return this.clockMs;
  }

  // ---------------------------------------------------------------- events

  /** Events produced since the last drain, in the order they happened. */
  drainEvents(): SimEvent[] {
    return this.outbox.splice(0, this.outbox.length);
  }

  /**
   * Runs `fn` as one command: book deltas, position and balance events and the
   * liquidation check happen once at the end, so a batch of orders yields one delta per book.
   */
  batch<T>(fn: () => T): T {
    this.batchDepth += 1;
    try {
      return fn();
    } finally {
      this.batchDepth -= 1;
      if (this.batchDepth === 0) this.finish();
    }
  }

  private emit(event: SimEvent): void {
    this.outbox.push(event);
  }

  /** Whether the account's user events are built (`SimExchangeOptions.observeAccount`). */
  private observed(accountId: AccountId): boolean {
    return this.observeAccount === undefined || this.observeAccount(accountId);
  }

  /** The order's `order_update`, when its account is observed. */
  private emitOrderUpdate(order: SimOrder): void {
    if (this.observed(order.accountId))
      this.emit({ type: 'order_update', ...this.base(), accountId: order.accountId, order: order.view() });
  }

  private base(): { venueId: string; tsEventMs: EpochMs } {
    return { venueId: this.config.venueId, tsEventMs: this.clockMs };
  }

  // ---------------------------------------------------------------- clock, prices, funding

  private fundingBoundaryAfter(ms: EpochMs): EpochMs {
    const interval = this.config.funding.intervalMs;
    return (Math.floor(ms / interval) + 1) * interval;
  }

  /** The next funding settlement time (the venue's interval boundaries since the epoch). */
  get nextFundingTimeMs(): EpochMs {
    return this.nextFundingMs;
  }

  /**
   * Moves the venue clock to `nowMs`, settling funding at every interval boundary passed
   * (with the positions and mark of that instant: commands before this call happened earlier).
   */
  advance(nowMs: EpochMs): void {
    if (!Number.isSafeInteger(nowMs))
      throw new ValidationError('nowMs', `must be an integer ms, got ${nowMs}`);
    if (nowMs < this.clockMs) {
      throw new ValidationError('nowMs', `${nowMs} is before the venue clock ${this.clockMs}`);
    }
    this.batch(() => {
      while (this.nextFundingMs <= nowMs) {
        const at = this.nextFundingMs;
        this.clockMs = at;
        this.nextFundingMs = at + this.config.funding.intervalMs;
        for (const inst of this.instruments.values()) {
          inst.premium.accrue(at);
          this.settleFunding(inst, at);
        }
      }
      for (const inst of this.instruments.values()) inst.premium.accrue(nowMs);
      this.clockMs = nowMs;
      this.fireDeadManSwitches();
    });
  }

  /** Cancels the open orders of every account whose scheduled cancel-all is due. */
  private fireDeadManSwitches(): void {
    for (const acc of this.accounts.values()) {
      if (acc.cancelAllAtMs === undefined || acc.cancelAllAtMs > this.clockMs) continue;
      acc.cancelAllAtMs = undefined;
      for (const order of [...acc.openOrders.values()])
        this.cancelResting(order, 'canceled', 'dead_man_switch');
    }
  }

  scheduleCancelAll(request: ScheduleCancelAllRequest): SimpleResult {
    return this.run(() => {
      const acc = this.accountOrReject(request.accountId);
      if (!Number.isSafeInteger(request.afterMs) || request.afterMs < 0) {
        throw venueReject(
          'invalid_argument',
          'afterMs',
          `must be a whole number of ms >= 0, got ${request.afterMs}`,
        );
      }
      this.checkNonce(acc, request);
      acc.cancelAllAtMs = request.afterMs === 0 ? undefined : this.clockMs + request.afterMs;
      return { ok: true } as const;
    });
  }

  /**
   * From now on the account's orders are not kept in the closed-order history once they close
   * (`getOrder` no longer finds them, and they take no room from other accounts' closed orders).
   * For background participants whose orders no client ever looks up by id: the world's market
   * maker cancels and replaces ~20 quotes per requote, and saving each was a tenth of its cost.
   */
  forgetClosedOrdersOf(accountId: AccountId): void {
    this.accountOrThrow(accountId).keepsClosedOrders = false;
  }

  /** When the account's dead-man switch fires (venue time); undefined when disarmed. */
  cancelAllDeadline(accountId: AccountId): EpochMs | undefined {
    return this.accounts.get(accountId)?.cancelAllAtMs;
  }

  /** Sets an instrument's mark and index (the synthetic market or a test drives them). */
  setPrices(instrumentId: InstrumentId, prices: { markPrice: DecimalInput; indexPrice: DecimalInput }): void {
    const inst = this.instrumentOrThrow(instrumentId);
    const mark = positive(prices.markPrice, 'markPrice');
    const index = positive(prices.indexPrice, 'indexPrice');
    this.batch(() => {
      inst.premium.accrue(this.clockMs);
      inst.premium.setPrices(mark, index);
      inst.markPrice = mark;
      inst.markTicks = inst.scale.ticksOf(mark);
      inst.indexPrice = index;
      this.emit(this.fundingRateEvent(inst));
      this.checkAllForLiquidation = true;
    });
  }

  private settleFunding(inst: InstrumentState, atMs: EpochMs): void {
    const premium = inst.premium.value();
    inst.premium.reset();
    const mark = inst.markPrice;
    if (premium === undefined || mark === undefined || inst.indexPrice === undefined) return;
    const rate = toDecimal(fundingRateFixed(premium, this.config.funding));
    inst.lastSettledRate = rate;
    const id = inst.spec.instrumentId;
    const holders: { accountId: AccountId; size: Decimal }[] = [];
    for (const acc of this.accounts.values()) {
      const size = acc.positionSize(id);
      if (!size.isZero()) holders.push({ accountId: acc.accountId, size });
    }
    const { shares, totalPaid } = splitFunding(holders, mark, rate, this.config.settlementDecimals);
    for (const share of shares) {
      const acc = this.accounts.get(share.accountId) as Account;
      acc.add('fundingNet', share.amount);
      this.touchBalance(acc);
      if (!this.observed(acc.accountId)) continue;
      this.emit({
        type: 'funding_payment',
        ...this.base(),
        accountId: acc.accountId,
        instrumentId: id,
        amount: share.amount,
        rate,
        markPrice: mark,
        positionSize: acc.positionSize(id),
        fundingTimeMs: atMs,
      });
    }
    this.emit({
      type: 'funding_settled',
      ...this.base(),
      instrumentId: id,
      rate,
      markPrice: mark,
      indexPrice: inst.indexPrice,
      fundingTimeMs: atMs,
      fundingIntervalMs: this.config.funding.intervalMs,
      nextFundingTimeMs: this.nextFundingMs,
      totalPaid,
    });
    this.checkAllForLiquidation = true;
  }

  private fundingRateEvent(inst: InstrumentState): FundingRateEvent {
    return {
      type: 'funding_rate',
      ...this.base(),
      instrumentId: inst.spec.instrumentId,
      markPrice: inst.markPrice as Decimal,
      indexPrice: inst.indexPrice as Decimal,
      predictedRate: inst.predictedRate.of(
        fundingRateFixed(inst.premium.value() ?? DEC60_ZERO, this.config.funding),
      ),
      ...(inst.lastSettledRate === undefined ? {} : { lastSettledRate: inst.lastSettledRate }),
      fundingIntervalMs: this.config.funding.intervalMs,
      nextFundingTimeMs: this.nextFundingMs,
    };
  }

  // ---------------------------------------------------------------- accounts

  /** Adds collateral (creates the account on first deposit). */
  deposit(accountId: AccountId, amount: DecimalInput): void {
    if (typeof accountId !== 'string' || accountId.length === 0) {
      throw new ValidationError('accountId', 'must be a non-empty string');
    }
    const value = positive(amount, 'amount');
    this.batch(() => {
      const acc = this.accountOrCreate(accountId);
      acc.add('collateral', value);
      this.touchBalance(acc);
    });
  }

  /** Removes collateral; refused when it exceeds the wallet balance or what is available. */
  withdraw(accountId: AccountId, amount: DecimalInput): SimpleResult {
    return this.run(() => {
      const acc = this.accountOrReject(accountId);
      const value = decimalOrReject(amount, 'amount');
      if (!value.gt(0))
        throw venueReject('invalid_argument', 'amount', `must be > 0, got ${value.toFixed()}`);
      const free = withdrawable(this.margin(acc));
      if (value.gt(free)) {
        throw venueReject(
          'insufficient_balance',
          'amount',
          `${value.toFixed()} exceeds withdrawable ${free.toFixed()}`,
        );
      }
      acc.add('collateral', value.neg());
      this.touchBalance(acc);
      return { ok: true } as const;
    });
  }

  setLeverage(request: SetLeverageRequest): SimpleResult {
    return this.run(() => {
      const acc = this.accountOrReject(request.accountId);
      const inst = this.instrumentOrReject(request.instrumentId);
      this.checkNonce(acc, request);
      const lev = request.leverage;
      if (!Number.isSafeInteger(lev) || lev < 1 || lev > inst.spec.maxLeverage) {
        throw venueReject(
          'invalid_leverage',
          'leverage',
          `${String(lev)} is not an integer in [1, ${inst.spec.maxLeverage}] for ${inst.spec.instrumentId}`,
        );
      }
      const before = acc.leverage.get(inst.spec.instrumentId);
      acc.leverage.set(inst.spec.instrumentId, lev);
      if (!acc.isHouse && lev < (before ?? this.defaultLeverage(inst.spec))) {
        const m = this.margin(acc);
        if (m.available.isNeg()) {
          if (before === undefined) acc.leverage.delete(inst.spec.instrumentId);
          else acc.leverage.set(inst.spec.instrumentId, before);
          throw venueReject(
            'insufficient_margin',
            'leverage',
            `${lev}x needs initial margin ${fmt(m.initialMargin)} above equity ${fmt(m.equity)}`,
          );
        }
      }
      for (const id of acc.positions.keys()) this.touchPosition(acc, id);
      return { ok: true } as const;
    });
  }

  private defaultLeverage(spec: InstrumentSpec): number {
    return Math.min(this.config.defaultLeverage, spec.maxLeverage);
  }

  private leverageOf(acc: Account, spec: InstrumentSpec): number {
    return acc.leverage.get(spec.instrumentId) ?? this.defaultLeverage(spec);
  }

  /** The account's cross margin (margin.ts), counting `extra` as if it rested too. */
  private margin(acc: Account, extra?: ExtraOrder): MarginSummary {
    const parts: InstrumentMargin[] = [];
    for (const inst of this.instruments.values()) {
      const id = inst.spec.instrumentId;
      const pos = acc.positions.get(id);
      const exp = acc.exposure.get(id);
      const isExtra = extra !== undefined && extra.instrumentId === id;
      const size = pos?.size ?? ZERO;
      if (size.isZero() && exp === undefined && !isExtra) continue;
      const mark = inst.markPrice;
      if (mark === undefined) continue; // nothing trades before the first mark
      let buyNotional = exp?.buyNotional ?? ZERO;
      let sellNotional = exp?.sellNotional ?? ZERO;
      if (isExtra) {
        const n = extra.size.mul(extra.price);
        if (extra.side === 'buy') buyNotional = buyNotional.plus(n);
        else sellNotional = sellNotional.plus(n);
      }
      const input: InstrumentMarginInput = {
        size,
        costBasis: pos?.costBasis ?? ZERO,
        mark,
        maintenanceMarginRate: inst.spec.maintenanceMarginRate,
        leverage: this.leverageOf(acc, inst.spec),
        buyNotional,
        sellNotional,
      };
      const known = acc.marginParts.get(id);
      if (known !== undefined && sameMarginInput(known.input, input)) {
        parts.push(known.part);
      } else {
        // Placing or canceling orders changes only the resting notionals: the position part stays.
        const position =
          known !== undefined && samePositionInput(known.input, input)
            ? known.position
            : positionMargin(input);
        const part = instrumentMargin(input, position);
        acc.marginParts.set(id, { input, part, position });
        parts.push(part);
      }
    }
    return sumMargin(acc.walletBalance(), parts);
  }

  /**
   * True when a resting limit order surely passes the margin check, decided in integers (the
   * market maker places ~20 orders per instrument in a row, and the Decimal margin was a fifth
   * of a world step). Only a sure yes: anything else (a market order, a price or mark off the
   * grid, little room) goes through the exact Decimal check, whose answer this never changes:
   * it accepts only with at least one unit of tick x lot (over the leverage) to spare beyond
   * the cap's floor, far beyond the rounding of a 60-digit Decimal.
   */
  private surelyFitsMargin(acc: Account, inst: InstrumentState, order: SimOrder): boolean {
    if (!Number.isSafeInteger(order.priceTicks) || !Number.isSafeInteger(order.sizeLots)) return false;
    const id = inst.spec.instrumentId;
    const inputs = this.headroomInputs(acc, id);
    let room = acc.headroom;
    if (room === undefined || room.instrumentId !== id || !sameItems(room.inputs, inputs)) {
      // Worked out on the second order in a row with the same inputs: a lone order after a
      // fill (most takers' and makers') is cheaper checked once in Decimal.
      acc.headroom = { instrumentId: id, inputs, positionLots: 0, markTicks: 0, capUnits: undefined };
      return false;
    }
    if (room.capUnits === undefined) {
      room = this.headroomOf(acc, inst, inputs);
      acc.headroom = room;
    }
    if (room.capUnits === undefined || room.capUnits <= 0n) return false;
    const exp = acc.exposure.get(id);
    const extra = notionalUnits(order.sizeLots, order.priceTicks);
    const buy = (exp?.buyUnits ?? 0n) + (order.side === 'buy' ? extra : 0n);
    const sell = (exp?.sellUnits ?? 0n) + (order.side === 'sell' ? extra : 0n);
    const lots = room.positionLots;
    const held = notionalUnits(Math.abs(lots), room.markTicks);
    // initialMargin (margin.ts) in units: the excess beyond what only closes the position.
    const buyExcess = lots < 0 ? buy - held : buy;
    const sellExcess = lots > 0 ? sell - held : sell;
    let excess = buyExcess > sellExcess ? buyExcess : sellExcess;
    if (excess < 0n) excess = 0n;
    // Two units short of the cap: the cap's floor may sit one unit above the exact quotient.
    return held + excess + 2n <= room.capUnits;
  }

  /**
   * True when the order surely passes the initial margin check, from the money units alone
   * (margin-fixed.ts `surelyFitsInitialMargin`): a market order at its band limit, as the
   * Decimal check values it. Undefined inputs (no money scale, a cost basis or mark off the
   * grid) say no and the checks below decide.
   */
  private surelyFitsMarginFixed(acc: Account, inst: InstrumentState, order: SimOrder): boolean {
    const wallet = acc.walletFloorUnits();
    if (wallet === undefined || !Number.isSafeInteger(order.sizeLots)) return false;
    const ticks = order.type === 'limit' ? order.priceTicks : this.bandOf(inst, order.side).ticks;
    if (!Number.isSafeInteger(ticks)) return false;
    const extra = notionalUnits(order.sizeLots, ticks);
    return order.side === 'buy'
      ? this.surelyFitsWithExtra(acc, inst, wallet, extra, 0n)
      : this.surelyFitsWithExtra(acc, inst, wallet, 0n, extra);
  }

  /** `surelyFitsMarginFixed` for resting notionals (units of tick x lot) added on `inst`'s two sides. */
  private surelyFitsWithExtra(
    acc: Account,
    inst: InstrumentState,
    wallet: bigint,
    extraBuy: bigint,
    extraSell: bigint,
  ): boolean {
    let sum = wallet;
    for (const other of this.instruments.values()) {
      const id = other.spec.instrumentId;
      const pos = acc.positions.get(id);
      const exp = acc.exposure.get(id);
      const lots = pos?.lots ?? 0;
      const isOrder = other === inst;
      // As margin(): flat without orders, or no mark yet, counts nothing.
      if ((lots === 0 && exp === undefined && !isOrder) || other.markPrice === undefined) continue;
      const costUnits = pos === undefined ? 0n : pos.costUnits;
      if (costUnits === undefined || other.costScale === undefined) return false;
      let buyUnits = exp?.buyUnits ?? 0n;
      let sellUnits = exp?.sellUnits ?? 0n;
      if (isOrder) {
        buyUnits += extraBuy;
        sellUnits += extraSell;
      }
      const part = equityLessInitialUnits({
        lots,
        markTicks: other.markTicks,
        costUnits,
        buyUnits,
        sellUnits,
        leverage: this.leverageOf(acc, other.spec),
        notionalFactor: other.costScale.notionalFactor,
      });
      if (part === undefined) return false;
      sum += part;
    }
    // surelyFitsInitialMargin, summed here without a parts array.
    return sum >= SURE_MARGIN_UNITS;
  }

  /** The margin inputs a headroom depends on (all but the instrument's own resting notionals). */
  private headroomInputs(acc: Account, instrumentId: InstrumentId): unknown[] {
    // Values compared with ===: the wallet's version, lots and cost units, the mark's Decimal object.
    const inputs: unknown[] = [acc.walletVersion];
    for (const inst of this.instruments.values()) {
      const id = inst.spec.instrumentId;
      const pos = acc.positions.get(id);
      const exp = acc.exposure.get(id);
      inputs.push(pos?.lots, pos?.costKey, inst.markPrice, this.leverageOf(acc, inst.spec));
      if (id !== instrumentId) inputs.push(exp?.buyUnits, exp?.sellUnits);
    }
    return inputs;
  }

  /**
   * The instrument's room: with H = available + the instrument's own initial margin now
   * (equity less the other instruments' initial margin), an order fits while
   * (held + excess) x unit / leverage <= H, i.e. held + excess <= H x leverage / unit.
   */
  private headroomOf(acc: Account, inst: InstrumentState, inputs: readonly unknown[]): MarginHeadroom {
    const id = inst.spec.instrumentId;
    const positionLots = acc.positions.get(id)?.lots ?? 0;
    const mark = inst.markPrice;
    const markTicks = mark === undefined ? Number.NaN : inst.scale.ticksOf(mark);
    const none = { instrumentId: id, inputs, positionLots: 0, markTicks: 0, capUnits: 0n };
    if (!Number.isSafeInteger(positionLots) || !Number.isSafeInteger(markTicks)) return none;
    const m = this.margin(acc);
    // margin() includes the instrument (and has just computed its part) unless it is flat without orders.
    const included = positionLots !== 0 || acc.exposure.has(id);
    const own = included ? (acc.marginParts.get(id)?.part.initialMargin ?? ZERO) : ZERO;
    const room = m.available.plus(own);
    if (!room.gt(0)) return none;
    const cap = room
      .mul(this.leverageOf(acc, inst.spec))
      .div(inst.scale.notionalUnit)
      .toDecimalPlaces(0, Decimal.ROUND_FLOOR);
    return { instrumentId: id, inputs, positionLots, markTicks, capUnits: BigInt(cap.toFixed()) };
  }

  /** margin-fixed.ts: true only when the account is surely not below maintenance (else the Decimal check decides). */
  private surelyAboveMaintenance(acc: Account): boolean {
    const scale = this.maintenance;
    if (scale === undefined) return false;
    const fixed = this.surelyAboveMaintenanceUnits(acc, scale);
    if (fixed !== undefined) return fixed;
    const inputs: unknown[] = [acc.walletBalance()];
    for (const pos of acc.positions.values()) inputs.push(pos.size, pos.costBasis);
    let known = acc.maintenanceBase;
    if (known === undefined || !sameItems(known.inputs, inputs)) {
      known = this.maintenanceBaseOf(acc, scale, inputs);
      acc.maintenanceBase = known;
    }
    if (known.terms === undefined) return false;
    const terms = known.terms.map((t) => ({
      coefficient: t.coefficient,
      markTicks: (this.instruments.get(t.instrumentId) as InstrumentState).markTicks,
    }));
    return surelyAboveMaintenance(known.base, terms);
  }

  /**
   * The liquidation check straight from the money units: the wallet's (rounded down when part
   * of it is off the grid) less every cost basis, plus each position's coefficient x mark
   * ticks, exact and summed without building the terms; undefined when a cost basis is a
   * Decimal (then the Decimal terms decide), false when a mark is off the tick grid.
   */
  private surelyAboveMaintenanceUnits(acc: Account, scale: MaintenanceScale): boolean | undefined {
    // The maintenance scale is the money scale (constructor), so the units add up.
    let sum = acc.walletFloorUnits();
    if (sum === undefined) return undefined;
    let marksOnGrid = true;
    for (const [id, pos] of acc.positions) {
      const lots = pos.lots;
      if (lots === 0) continue;
      const cost = pos.costUnits;
      if (cost === undefined || !Number.isSafeInteger(lots)) return undefined;
      sum -= cost;
      const markTicks = (this.instruments.get(id) as InstrumentState).markTicks;
      if (!Number.isSafeInteger(markTicks)) marksOnGrid = false;
      else sum += pos.maintenanceTerm(markTicks, scale.instruments.get(id) as InstrumentMaintenanceScale);
    }
    return marksOnGrid && surelyAboveMaintenance(sum, NO_TERMS);
  }

  private maintenanceBaseOf(
    acc: Account,
    scale: MaintenanceScale,
    inputs: readonly unknown[],
  ): NonNullable<Account['maintenanceBase']> {
    let walletLessCosts = acc.walletBalance();
    const terms: { instrumentId: InstrumentId; coefficient: bigint }[] = [];
    for (const [id, pos] of acc.positions) {
      // Flat: no cost basis left, nothing held.
      const lots = pos.lots;
      if (lots === 0) continue;
      if (!Number.isSafeInteger(lots)) return { inputs, base: 0n, terms: undefined };
      walletLessCosts = walletLessCosts.minus(pos.costBasis);
      terms.push({
        instrumentId: id,
        coefficient: positionCoefficient(lots, scale.instruments.get(id) as InstrumentMaintenanceScale),
      });
    }
    return { inputs, base: baseUnits(walletLessCosts, scale), terms };
  }

  // ---------------------------------------------------------------- orders

  placeOrder(request: PlaceOrderRequest): PlaceOrderResult {
    return this.place(request, true) as PlaceOrderResult;
  }

  /**
   * `placeOrder` whose answer carries no order view: for callers that only need to know
   * whether it was taken (the world's background participants place thousands per step).
   */
  submitOrder(request: PlaceOrderRequest): SimpleResult {
    return this.place(request, false);
  }

  /** `submitOrder` of an order in whole ticks and lots (`FixedOrderRequest`). */
  submitFixedOrder(request: FixedOrderRequest): SimpleResult {
    return this.place(request, false);
  }

  /**
   * A market maker's requote as one command: exactly `batch(() => { cancelAllQuietly({ accountId,
   * instrumentId, apiKey, nonce }); for each quote submitFixedOrder({ accountId, instrumentId,
   * side, type: 'limit', timeInForce: 'gtc', priceTicks, sizeLots, apiKey, nonce }) })`: the same
   * events, ids, queue positions, rejects and answers. What it saves: the margin sure-yes is
   * worked out once for all the quotes (resting orders only add to the initial margin, so when
   * all of them surely fit, each does on top of those before it); a quote that trades ends that,
   * and the rest are checked one by one as ever.
   */
  requoteFixed(request: RequoteRequest): void {
    this.batchDepth += 1;
    try {
      this.cancelAll(request, false);
      const acc = this.accounts.get(request.accountId);
      const inst = this.instruments.get(request.instrumentId);
      if (acc !== undefined && inst !== undefined && this.allQuotesSurelyFit(acc, inst, request.quotes))
        this.quotesSurelyFit = { acc, inst };
      for (const quote of request.quotes) {
        this.place(
          {
            accountId: request.accountId,
            instrumentId: request.instrumentId,
            side: quote.side,
            type: 'limit',
            timeInForce: 'gtc',
            priceTicks: quote.priceTicks,
            sizeLots: quote.sizeLots,
            apiKey: quote.apiKey,
            nonce: quote.nonce,
          },
          false,
        );
      }
    } finally {
      this.quotesSurelyFit = undefined;
      this.batchDepth -= 1;
      if (this.batchDepth === 0) this.finish();
    }
  }

  /** `surelyFitsMarginFixed` with every quote resting at once (each must be a limit in whole ticks and lots). */
  private allQuotesSurelyFit(acc: Account, inst: InstrumentState, quotes: readonly FixedQuote[]): boolean {
    if (acc.isHouse) return false;
    let buyUnits = 0n;
    let sellUnits = 0n;
    for (const quote of quotes) {
      if (!Number.isSafeInteger(quote.priceTicks) || !Number.isSafeInteger(quote.sizeLots)) return false;
      const units = notionalUnits(quote.sizeLots, quote.priceTicks);
      if (quote.side === 'buy') buyUnits += units;
      else sellUnits += units;
    }
    const wallet = acc.walletFloorUnits();
    return wallet !== undefined && this.surelyFitsWithExtra(acc, inst, wallet, buyUnits, sellUnits);
  }

  private place(
    request: PlaceOrderRequest | FixedOrderRequest,
    withView: boolean,
  ): PlaceOrderResult | SimpleResult {
    // `run` and `batch` written out: no closure per order (this is the hot path of every order).
    let order: SimOrder | undefined;
    let view: OrderView | undefined;
    let reject: Reject | undefined;
    this.batchDepth += 1;
    try {
      const acc = this.accountOrReject(request.accountId);
      order = this.newOrder(acc, request);
      this.validateOrder(acc, order);
      this.execute(acc, order);
      // The view of the order as the command left it, before finish() (a liquidation there changes it).
      if (withView) view = order.view();
    } catch (error) {
      if (!(error instanceof VenueRejectError)) throw error;
      reject = error.reject;
    } finally {
      this.batchDepth -= 1;
      if (this.batchDepth === 0) this.finish();
    }
    if (reject === undefined) return view === undefined ? OK : { ok: true, order: view };
    if (order === undefined) return { ok: false, reject };
    // Rejected after it got an id: the account's user stream hears about it.
    order.status = 'rejected';
    order.reject = reject;
    this.emitOrderUpdate(order);
    return withView ? { ok: false, reject, order: order.view() } : { ok: false, reject };
  }

  /** Runs a command, turning a VenueRejectError into a result. */
  private run<T>(fn: () => T): T | { ok: false; reject: Reject } {
    try {
      return this.batch(fn);
    } catch (error) {
      if (error instanceof VenueRejectError) return { ok: false, reject: error.reject };
      throw error;
    }
  }

  /** Validates a request into an order (not yet accepted). Throws VenueRejectError. */
  private newOrder(acc: Account, r: PlaceOrderRequest | FixedOrderRequest): SimOrder {
    const inst = this.instrumentOrReject(r.instrumentId);
    const spec = inst.spec;
    let tif: TimeInForce;
    let quantities: OrderQuantities;
    if ('sizeLots' in r) {
      tif = checkOrderShape(r);
      quantities = checkFixedQuantities(r);
    } else {
      const { timeInForce, price, size } = checkOrderRequest(r);
      tif = timeInForce;
      quantities = { price, size };
    }

    this.checkNonce(acc, r);
    // From here on the request is an order with an id; later rejects reach the user stream.
    const order = new SimOrder(
      inst.scale,
      this.config.venueId,
      acc.accountId,
      spec.instrumentId,
      ++this.orderSeq,
      r.clientOrderId,
      r.side,
      r.type,
      tif,
      quantities,
      r.reduceOnly === true,
      this.clockMs,
    );
    if (!acc.keepsClosedOrders) order.keptWhenClosed = false;
    return order;
  }

  /** Venue rules: duplicates, tick, lot, sizes, reduce-only, post-only, margin. Throws VenueRejectError. */
  private validateOrder(acc: Account, order: SimOrder): void {
    const inst = this.instruments.get(order.instrumentId) as InstrumentState;
    const spec = inst.spec;
    const isLimit = order.type === 'limit';
    if (order.clientOrderId !== undefined && this.config.rejectDuplicateClientOrderId) {
      if (this.byClientId.has(clientKey(acc.accountId, order.clientOrderId))) {
        throw venueReject(
          'duplicate_client_order_id',
          'clientOrderId',
          `${order.clientOrderId} is already used by this account`,
        );
      }
    }
    const mark = inst.markPrice;
    // Minimum notional is valued at the order's price, or at mark for a market order
    // (without a mark the no_reference_price reject below answers).
    // Whole lots and ticks (exact conversions) are on the grid: only the minimums are left.
    const onGrid =
      Number.isSafeInteger(order.sizeLots) && (!isLimit || Number.isSafeInteger(order.priceTicks));
    // In integers when on the grid; the Decimal checks run (and name the value) only where that fails.
    if (!onGrid || !meetsMinimums(inst.scale, order, inst.markTicks, mark !== undefined)) {
      checkMarketRules(order, onGrid ? inst.minimums : spec, mark);
    }
    if (!onGrid || order.sizeLots > inst.scale.maxSizeLots) checkMaxSize(order.size, spec);
    if (mark === undefined) {
      throw venueReject('no_reference_price', 'instrumentId', `${spec.instrumentId} has no mark price yet`);
    }
    if (order.reduceOnly) {
      const position = acc.positionSize(spec.instrumentId);
      checkReduceOnlyDirection(order.side, position);
      // Capped to the position: a reduce-only order never flips or grows it.
      if (order.size.gt(position.abs())) order.size = position.abs();
    }
    if (order.timeInForce === 'post_only' && isLimit) {
      const bestOpposite = order.side === 'buy' ? inst.book.bestAsk() : inst.book.bestBid();
      checkPostOnly(order.side, order.price as Decimal, bestOpposite);
    }
    if (
      !order.reduceOnly &&
      !acc.isHouse &&
      !(this.quotesSurelyFit?.acc === acc && this.quotesSurelyFit.inst === inst) &&
      !this.surelyFitsMarginFixed(acc, inst, order) &&
      !this.surelyFitsMargin(acc, inst, order)
    ) {
      const worst = order.price ?? this.bandLimit(inst, order.side);
      const m = this.margin(acc, {
        instrumentId: spec.instrumentId,
        side: order.side,
        size: order.size,
        price: worst,
      });
      if (m.available.isNeg()) {
        const before = this.margin(acc);
        throw venueReject(
          'insufficient_margin',
          'size',
          `${order.size.toFixed()} needs initial margin ${fmt(m.initialMargin.minus(before.initialMargin))}, available ${fmt(before.available)}`,
        );
      }
    }
    // On the tick grid (checked above), so only a price beyond 2^53 ticks is left to refuse.
    if (isLimit && !Number.isSafeInteger(order.priceTicks)) {
      throw venueReject(
        'invalid_argument',
        'price',
        `${(order.price as Decimal).toFixed()} is above the largest price this venue represents (2^53 ticks of ${spec.tickSize.toFixed()})`,
      );
    }
  }

  /** Worst price a market order may reach (the protection band around mark). */
  private bandLimit(inst: InstrumentState, side: Side): Decimal {
    return this.bandOf(inst, side).price;
  }

  /** The band limit of a side at the current mark, worked out once per mark (a market order asks twice). */
  private bandOf(inst: InstrumentState, side: Side): { readonly price: Decimal; readonly ticks: number } {
    const mark = inst.markPrice as Decimal;
    if (inst.band === undefined || inst.band.mark !== mark) inst.band = { mark };
    let limit = inst.band[side];
    if (limit === undefined) {
      const price = protectionBandLimit(mark, this.config.marketProtectionBand, inst.spec.tickSize, side);
      limit = { price, ticks: inst.scale.ticksOf(price) };
      inst.band[side] = limit;
    }
    return limit;
  }

  /**
   * The band limit in ticks. Resting prices are safe integers of ticks, so a buy limit
   * beyond them is the largest safe integer (it crosses the same levels).
   */
  private bandLimitTicks(inst: InstrumentState, side: Side): number {
    const { ticks } = this.bandOf(inst, side);
    return Number.isNaN(ticks) ? Number.MAX_SAFE_INTEGER : ticks;
  }

  /** Whether a level at `levelTicks` is within a taker's `limitTicks`. */
  private crosses(side: Side, limitTicks: number, levelTicks: number): boolean {
    return side === 'buy' ? levelTicks <= limitTicks : levelTicks >= limitTicks;
  }

  /** How much a reduce-only order of `side` may still fill given the account's position. */
  private reduceCapacity(acc: Account, instrumentId: InstrumentId, side: Side): Decimal {
    return reduceOnlyCapacity(acc.positionSize(instrumentId), side);
  }

  /** `reduceCapacity` in whole lots (positions are whole lots: they are sums of fills). */
  private reduceCapacityLots(acc: Account, inst: InstrumentState, side: Side): number {
    const capacity = this.reduceCapacity(acc, inst.spec.instrumentId, side);
    return capacity.isZero() ? 0 : inst.scale.lotsOf(capacity);
  }

  /** Lots an incoming order could fill now (FOK pre-check), honouring self-trade and reduce-only caps. */
  private fillableLots(acc: Account, inst: InstrumentState, order: SimOrder, limitTicks: number): number {
    let total = 0;
    const makerCapacity = new Map<AccountId, number>();
    let takerCapacity = order.reduceOnly ? this.reduceCapacityLots(acc, inst, order.side) : undefined;
    for (const level of inst.book.opposite(order.side).levels) {
      if (!this.crosses(order.side, limitTicks, level.ticks)) break;
      for (let maker = level.head; maker !== undefined; maker = maker.nextInLevel) {
        if (maker.accountId === acc.accountId) continue;
        let q = maker.remainingLots;
        if (maker.reduceOnly) {
          const makerAcc = this.accounts.get(maker.accountId) as Account;
          const cap =
            makerCapacity.get(maker.accountId) ?? this.reduceCapacityLots(makerAcc, inst, maker.side);
          q = Math.min(q, cap);
          makerCapacity.set(maker.accountId, cap - q);
        }
        if (takerCapacity !== undefined) {
          q = Math.min(q, takerCapacity);
          takerCapacity -= q;
        }
        total += q;
        if (total >= order.sizeLots) return total;
      }
    }
    return total;
  }

  private execute(acc: Account, order: SimOrder): void {
    const inst = this.instruments.get(order.instrumentId) as InstrumentState;
    this.emitOrderUpdate(order);
    this.rememberClientId(order);
    const limitTicks = order.type === 'limit' ? order.priceTicks : this.bandLimitTicks(inst, order.side);
    if (order.timeInForce === 'fok' && this.fillableLots(acc, inst, order, limitTicks) < order.sizeLots) {
      this.endOrder(order, 'expired', 'fok_not_fillable');
      return;
    }
    const endReason = this.match(acc, inst, order, limitTicks);
    if (order.remainingLots === 0) {
      this.closeOrder(order);
      return;
    }
    if (endReason !== undefined) {
      this.endOrder(order, order.type === 'market' ? 'canceled' : 'expired', endReason);
    } else if (order.type === 'market') {
      const opposite = inst.book.opposite(order.side).levels;
      this.endOrder(order, 'canceled', opposite.length === 0 ? 'no_liquidity' : 'protection_band');
    } else if (order.timeInForce === 'ioc' || order.timeInForce === 'fok') {
      this.endOrder(order, 'expired', 'ioc_remainder');
    } else {
      // gtc and post_only rest on the book.
      inst.book.add(order);
      acc.openOrders.set(order.seq, order);
      if (order.reduceOnly) acc.reduceOnlyOpen += 1;
      order.resting = true;
      if (!order.reduceOnly)
        acc.exposureOf(order.instrumentId, inst.scale).add(order, order.remainingLots, 1);
    }
  }

  /** Fills `taker` against the book up to `limitTicks`; returns a reason when matching had to stop early. */
  private match(
    acc: Account,
    inst: InstrumentState,
    taker: SimOrder,
    limitTicks: number,
  ): OrderEndReason | undefined {
    const levels = inst.book.opposite(taker.side).levels;
    while (taker.remainingLots > 0) {
      const level = levels[0];
      if (level === undefined || !this.crosses(taker.side, limitTicks, level.ticks)) return undefined;
      const maker = level.head as SimOrder;
      if (maker.accountId === acc.accountId) {
        this.cancelResting(maker, 'canceled', 'self_trade');
        continue;
      }
      const makerAcc = this.accounts.get(maker.accountId) as Account;
      let lots = Math.min(taker.remainingLots, maker.remainingLots);
      if (maker.reduceOnly) {
        const cap = this.reduceCapacityLots(makerAcc, inst, maker.side);
        if (cap === 0) {
          this.cancelResting(maker, 'canceled', 'reduce_only_position_closed');
          continue;
        }
        lots = Math.min(lots, cap);
      }
      if (taker.reduceOnly) {
        const cap = this.reduceCapacityLots(acc, inst, taker.side);
        if (cap === 0) return 'reduce_only_position_closed';
        lots = Math.min(lots, cap);
      }
      this.trade(inst, level.price, maker, makerAcc, taker, acc, lots);
      if (maker.reduceOnly && maker.isOpen && this.reduceCapacityLots(makerAcc, inst, maker.side) === 0) {
        this.cancelResting(maker, 'canceled', 'reduce_only_position_closed');
      }
    }
    return undefined;
  }

  private feeOf(notional: Decimal, rate: Decimal): Decimal {
    return notional.mul(rate).toDecimalPlaces(this.config.settlementDecimals, Decimal.ROUND_HALF_EVEN);
  }

  private trade(
    inst: InstrumentState,
    price: Decimal,
    maker: SimOrder,
    makerAcc: Account,
    taker: SimOrder,
    takerAcc: Account,
    lots: number,
  ): void {
    // A trade changes positions and wallets: requoteFixed's margin answer for all quotes ends here.
    this.quotesSurelyFit = undefined;
    // At the maker's price (its level's: the same ticks). Fees in money units when on the
    // grid: their Decimals are built only for an event that carries them.
    const size = inst.scale.size(lots);
    const tradeId = String(++this.tradeSeq);
    const cost = inst.costScale;
    const ticks = maker.priceTicks;
    let makerFee: Decimal | undefined;
    let takerFee: Decimal | undefined;
    let makerFeeUnits: bigint | undefined;
    let takerFeeUnits: bigint | undefined;
    // Resting prices are on the tick grid (a price beyond 2^53 ticks is refused), so this is exact.
    const notional = Number.isSafeInteger(ticks) ? notionalUnits(lots, ticks) : undefined;
    if (cost !== undefined && notional !== undefined) {
      makerFeeUnits = feeOfNotionalUnits(notional, this.makerFeeRate, cost);
      takerFeeUnits = feeOfNotionalUnits(notional, this.takerFeeRate, cost);
    } else {
      const notional = size.mul(price);
      makerFee = this.feeOf(notional, this.config.makerFeeRate);
      takerFee = this.feeOf(notional, this.config.takerFeeRate);
    }
    this.outbox.push({
      type: 'trade',
      venueId: this.config.venueId,
      tsEventMs: this.clockMs,
      instrumentId: inst.spec.instrumentId,
      tradeId,
      price,
      size,
      takerSide: taker.side,
    });
    // The maker leaves the book (and its exposure) before its order record moves.
    if (!maker.reduceOnly) makerAcc.exposureOf(maker.instrumentId, inst.scale).add(maker, lots, -1, notional);
    maker.recordFill(lots, price, notional, this.clockMs);
    inst.book.reduce(maker, lots);
    // Its fill (and fee) first: a closed order is saved as it is when it closes.
    this.fill(makerAcc, maker, tradeId, lots, size, price, ticks, makerFee, makerFeeUnits, 'maker', false);
    if (!maker.isOpen) this.closeOrder(maker);
    taker.recordFill(lots, price, notional, this.clockMs);
    this.fill(takerAcc, taker, tradeId, lots, size, price, ticks, takerFee, takerFeeUnits, 'taker', false);
    const house = this.accounts.get(FEE_ACCOUNT_ID) as Account;
    if (makerFeeUnits !== undefined && takerFeeUnits !== undefined) {
      house.addUnits('transfersNet', makerFeeUnits + takerFeeUnits);
    } else {
      house.add('transfersNet', makerFee as Decimal);
      house.add('transfersNet', takerFee as Decimal);
    }
    this.touchBalance(house);
  }

  /** Books one side of a trade on the account and tells its user stream. */
  private fill(
    acc: Account,
    order: SimOrder,
    tradeId: string,
    lots: number,
    size: Decimal,
    price: Decimal,
    /** `price` in whole ticks; NaN when off the grid (a liquidation at such a mark). */
    priceTicks: number,
    /** The fee as a Decimal, or undefined when given in money units (`feeUnits`). */
    fee: Decimal | undefined,
    /** The fee in money units when known (else `fee`, parsed). */
    feeUnits: bigint | undefined,
    liquidity: 'maker' | 'taker',
    isLiquidation: boolean,
  ): void {
    const inst = this.instruments.get(order.instrumentId) as InstrumentState;
    const pos: Position = acc.position(order.instrumentId, inst.scale, inst.costScale);
    const before = pos.size;
    pos.applyFill(order.side === 'buy' ? lots : -lots, price, priceTicks, this.config.settlementDecimals);
    const realizedUnits = pos.lastRealizedUnits;
    if (realizedUnits !== undefined) acc.addUnits('realizedPnl', realizedUnits);
    else acc.add('realizedPnl', pos.lastRealized);
    if (feeUnits !== undefined) {
      acc.addUnits('feesPaid', feeUnits);
      order.addFeeUnits(feeUnits, inst.costScale as CostScale);
    } else {
      acc.add('feesPaid', fee as Decimal);
      order.addFee(fee as Decimal);
    }
    this.touchPosition(acc, order.instrumentId);
    if (!this.observed(acc.accountId)) return;
    this.emit({
      type: 'fill',
      ...this.base(),
      accountId: acc.accountId,
      instrumentId: order.instrumentId,
      venueOrderId: order.venueOrderId,
      ...(order.clientOrderId === undefined ? {} : { clientOrderId: order.clientOrderId }),
      tradeId,
      side: order.side,
      price,
      size,
      fee: fee ?? costDecimal(feeUnits as bigint, inst.costScale as CostScale),
      feeAsset: this.config.settleAsset,
      liquidity,
      realizedPnl: pos.lastRealized,
      positionBefore: before,
      positionAfter: pos.size,
      isLiquidation,
    });
    this.emitOrderUpdate(order);
  }

  private touchPosition(acc: Account, instrumentId: InstrumentId): void {
    const ids = acc.touchedInstruments;
    if (ids.length === 0) this.touchedPositions.push(acc);
    if (!ids.includes(instrumentId)) ids.push(instrumentId);
    this.touchBalance(acc);
  }

  private touchBalance(acc: Account): void {
    if (acc.balanceTouched) return;
    acc.balanceTouched = true;
    this.touchedBalances.push(acc);
  }

  /** Takes a resting order off the book and ends it. */
  private cancelResting(order: SimOrder, status: 'canceled' | 'expired', reason: OrderEndReason): void {
    const inst = this.instruments.get(order.instrumentId) as InstrumentState;
    const acc = this.accounts.get(order.accountId) as Account;
    inst.book.remove(order);
    if (!order.reduceOnly) acc.exposureOf(order.instrumentId, inst.scale).add(order, order.remainingLots, -1);
    this.endOrder(order, status, reason);
  }

  private endOrder(order: SimOrder, status: 'canceled' | 'expired', reason: OrderEndReason): void {
    order.end(status, reason, this.clockMs);
    this.closeOrder(order);
    this.emitOrderUpdate(order);
  }

  /** Moves a finished order from the open set to the bounded closed history. */
  private closeOrder(order: SimOrder): void {
    if (order.resting) {
      order.resting = false;
      const acc = this.accounts.get(order.accountId) as Account;
      acc.openOrders.delete(order.seq);
      if (order.reduceOnly) acc.reduceOnlyOpen -= 1;
    }
    const retention = this.config.closedOrderRetention;
    if (retention === 0 || !order.keptWhenClosed) {
      this.forgetClientId(order);
      return;
    }
    if (order.retained) return;
    order.retained = true;
    // Saved as it is now: nothing changes an order after it closed (trade() books the maker's fill first).
    const ring = this.closedOrders;
    let slot: number;
    if (this.closedOrderCount < retention) {
      slot = this.closedOrderCount++;
      if (slot >= ring.capacity) ring.grow(Math.min(retention, Math.max(1024, ring.capacity * 2)));
    } else {
      slot = this.closedOrderNext;
      this.closedOrderNext = slot + 1 === retention ? 0 : slot + 1;
      // The oldest leaves: its lookups by venue and client order id go with it.
      const oldest = ring.seqAt(slot);
      this.closedOrderIndex?.delete(oldest);
      const clientOrderId = ring.clientOrderIdAt(slot);
      if (clientOrderId !== undefined) {
        const key = clientKey(ring.accountIdAt(slot), clientOrderId);
        if (this.byClientId.get(key)?.seq === oldest) this.byClientId.delete(key);
      }
    }
    order.save(ring, slot);
    this.closedOrderIndex?.set(order.seq, slot);
  }

  /** A retained closed order by its sequence number (the index is built at the first such lookup). */
  private closedOrder(seq: number): SimOrder | undefined {
    if (this.closedOrderIndex === undefined) {
      this.closedOrderIndex = new Map();
      for (let slot = 0; slot < this.closedOrderCount; slot++)
        this.closedOrderIndex.set(this.closedOrders.seqAt(slot), slot);
    }
    const slot = this.closedOrderIndex.get(seq);
    return slot === undefined ? undefined : SimOrder.load(this.closedOrders, slot);
  }

  private rememberClientId(order: SimOrder): void {
    if (order.clientOrderId !== undefined)
      this.byClientId.set(clientKey(order.accountId, order.clientOrderId), order);
  }

  private forgetClientId(order: SimOrder): void {
    if (order.clientOrderId === undefined) return;
    const key = clientKey(order.accountId, order.clientOrderId);
    if (this.byClientId.get(key) === order) this.byClientId.delete(key);
  }

  cancelOrder(request: CancelOrderRequest): CancelOrderResult {
    return this.run(() => {
      const acc = this.accountOrReject(request.accountId);
      if (request.venueOrderId === undefined && request.clientOrderId === undefined) {
        throw venueReject('invalid_argument', 'venueOrderId', 'venueOrderId or clientOrderId is required');
      }
      this.checkNonce(acc, request);
      const order = this.findOrder(acc.accountId, request);
      if (order === undefined || !order.isOpen) {
        const which = request.venueOrderId ?? request.clientOrderId;
        throw venueReject(
          'order_not_found',
          request.venueOrderId !== undefined ? 'venueOrderId' : 'clientOrderId',
          `no open order ${String(which)} for this account`,
        );
      }
      this.cancelResting(order, 'canceled', 'canceled_by_user');
      return { ok: true, order: order.view() } as const;
    });
  }

  cancelAllOrders(request: CancelAllRequest): CancelAllResult {
    return this.cancelAll(request, true) as CancelAllResult;
  }

  /** `cancelAllOrders` whose answer carries no views of the canceled orders (background participants). */
  cancelAllQuietly(request: CancelAllRequest): SimpleResult {
    return this.cancelAll(request, false);
  }

  private cancelAll(request: CancelAllRequest, withViews: boolean): CancelAllResult | SimpleResult {
    return this.run(() => {
      const acc = this.accountOrReject(request.accountId);
      if (request.instrumentId !== undefined) this.instrumentOrReject(request.instrumentId);
      this.checkNonce(acc, request);
      const canceled: OrderView[] = [];
      for (const order of [...acc.openOrders.values()]) {
        if (request.instrumentId !== undefined && order.instrumentId !== request.instrumentId) continue;
        this.cancelResting(order, 'canceled', 'canceled_all_by_user');
        if (withViews) canceled.push(order.view());
      }
      return withViews ? ({ ok: true, canceled } as const) : ({ ok: true } as const);
    });
  }

  private findOrder(
    accountId: AccountId,
    ids: { venueOrderId?: VenueOrderId; clientOrderId?: ClientOrderId },
  ) {
    let order: SimOrder | undefined;
    if (ids.venueOrderId !== undefined) {
      const seq = orderSeqOf(ids.venueOrderId);
      // An open order is looked up among the account's own (another's is no answer either way).
      order =
        seq === undefined
          ? undefined
          : (this.accounts.get(accountId)?.openOrders.get(seq) ?? this.closedOrder(seq));
    } else if (ids.clientOrderId !== undefined) {
      order = this.byClientId.get(clientKey(accountId, ids.clientOrderId));
    }
    return order !== undefined && order.accountId === accountId ? order : undefined;
  }

  private checkNonce(acc: Account, auth: NonceAuth): void {
    if (!this.config.requireIncreasingNonce) return;
    if (typeof auth.apiKey !== 'string' || auth.apiKey.length === 0) {
      throw venueReject('invalid_nonce', 'apiKey', 'is required on this venue (nonces are per API key)');
    }
    const nonce = auth.nonce;
    if (typeof nonce !== 'number' || !Number.isSafeInteger(nonce) || nonce < 0) {
      throw venueReject('invalid_nonce', 'nonce', `must be a non-negative integer, got ${String(nonce)}`);
    }
    const last = acc.lastNonce.get(auth.apiKey);
    if (last !== undefined && nonce <= last) {
      throw venueReject(
        'invalid_nonce',
        'nonce',
        `${nonce} is not above the last nonce ${last} of this API key`,
      );
    }
    // Consumed even when the request is refused for another reason later, as on Lighter.
    acc.lastNonce.set(auth.apiKey, nonce);
  }

  // ---------------------------------------------------------------- liquidation

  /** Returns true when it liquidated. `known` is the account's margin if already computed. */
  private liquidateIfBelowMaintenance(acc: Account, known?: MarginSummary): boolean {
    if (acc.isHouse || !acc.hasPositions()) return false;
    const m = known ?? this.margin(acc);
    if (!isBelowMaintenance(m)) return false;
    for (const order of [...acc.openOrders.values()]) this.cancelResting(order, 'canceled', 'liquidation');
    const insurance = this.accounts.get(INSURANCE_ACCOUNT_ID) as Account;
    const closed: { instrumentId: InstrumentId; size: Decimal; price: Decimal }[] = [];
    let notional = ZERO;
    for (const [id, pos] of acc.positions) {
      if (pos.size.isZero()) continue;
      const inst = this.instruments.get(id) as InstrumentState;
      const mark = inst.markPrice as Decimal;
      const size = pos.size;
      const side: Side = size.isPos() ? 'sell' : 'buy';
      const tradeId = String(++this.tradeSeq);
      const own = this.syntheticOrder(acc, id, side, size.abs(), mark);
      const backstop = this.syntheticOrder(insurance, id, side === 'buy' ? 'sell' : 'buy', size.abs(), mark);
      const lots = Math.abs(pos.lots);
      this.fill(acc, own, tradeId, lots, size.abs(), mark, inst.markTicks, ZERO, 0n, 'taker', true);
      this.fill(
        insurance,
        backstop,
        tradeId,
        lots,
        size.abs(),
        mark,
        inst.markTicks,
        ZERO,
        0n,
        'maker',
        true,
      );
      closed.push({ instrumentId: id, size, price: mark });
      notional = notional.plus(size.abs().mul(mark));
    }
    // Closed at mark, so the wallet balance is now what equity was.
    const { fee, badDebt } = liquidationCharges(
      acc.walletBalance(),
      this.feeOf(notional, this.config.liquidationFeeRate),
    );
    acc.add('transfersNet', fee.neg());
    insurance.add('transfersNet', fee);
    if (badDebt.gt(0)) {
      acc.add('transfersNet', badDebt);
      insurance.add('transfersNet', badDebt.neg());
    }
    this.touchBalance(acc);
    this.touchBalance(insurance);
    if (this.observed(acc.accountId))
      this.emit({
        type: 'liquidation',
        ...this.base(),
        accountId: acc.accountId,
        equity: m.equity,
        maintenanceMargin: m.maintenanceMargin,
        closed,
        liquidationFee: fee,
        badDebt,
      });
    return true;
  }

  /** A filled market order that records a liquidation transfer in both accounts' order history. */
  private syntheticOrder(
    acc: Account,
    instrumentId: InstrumentId,
    side: Side,
    size: Decimal,
    price: Decimal,
  ) {
    const order = new SimOrder(
      (this.instruments.get(instrumentId) as InstrumentState).scale,
      this.config.venueId,
      acc.accountId,
      instrumentId,
      ++this.orderSeq,
      undefined,
      side,
      'market',
      'ioc',
      { price: undefined, size },
      false,
      this.clockMs,
    );
    const ticks = order.scale.ticksOf(price);
    const notional = Number.isSafeInteger(ticks) ? notionalUnits(order.sizeLots, ticks) : undefined;
    order.recordFill(order.sizeLots, price, notional, this.clockMs);
    this.closeOrder(order);
    return order;
  }

  // ---------------------------------------------------------------- end of command

  private finish(): void {
    // Resting reduce-only orders whose position closed or flipped can no longer reduce.
    for (const acc of this.touchedPositions) {
      // No look at the open orders of an account that has no reduce-only one (the market maker).
      if (acc.reduceOnlyOpen === 0) continue;
      const ids = acc.touchedInstruments;
      // Collected first (canceling changes openOrders, not positions).
      let closed: SimOrder[] | undefined;
      for (const order of acc.openOrders.values()) {
        if (!order.reduceOnly || !ids.includes(order.instrumentId)) continue;
        if (!this.reduceCapacity(acc, order.instrumentId, order.side).isZero()) continue;
        closed ??= [];
        closed.push(order);
      }
      if (closed !== undefined)
        for (const order of closed) this.cancelResting(order, 'canceled', 'reduce_only_position_closed');
    }
    // One margin computation per account serves the liquidation check and the events below.
    const margins = this.finishMargins;
    if (this.checkAllForLiquidation) {
      this.checkAllForLiquidation = false;
      for (const acc of [...this.accounts.values()]) this.checkLiquidation(acc, margins);
    } else {
      // The accounts touched so far (a liquidation below touches more: they are not candidates).
      const touched = this.touchedBalances;
      const candidates = touched.length;
      for (let i = 0; i < candidates; i++) this.checkLiquidation(touched[i] as Account, margins);
    }

    for (const inst of this.instrumentList) {
      const delta = inst.book.takeDelta();
      if (delta !== undefined) {
        this.outbox.push({
          type: 'book_delta',
          venueId: this.config.venueId,
          tsEventMs: this.clockMs,
          instrumentId: inst.spec.instrumentId,
          seq: delta.seq,
          prevSeq: delta.prevSeq,
          bids: delta.bids,
          asks: delta.asks,
        });
      }
    }
    for (const acc of this.touchedPositions) {
      const ids = acc.touchedInstruments;
      if (this.observed(acc.accountId)) {
        for (const id of ids) {
          this.emit({
            type: 'position',
            ...this.base(),
            accountId: acc.accountId,
            position: this.positionView(acc, id, this.marginFor(acc, margins)),
          });
        }
      }
      empty(ids);
    }
    empty(this.touchedPositions);
    for (const acc of this.touchedBalances) {
      acc.balanceTouched = false;
      if (!this.observed(acc.accountId)) continue;
      this.emit({
        type: 'balance',
        ...this.base(),
        accountId: acc.accountId,
        balance: this.balanceView(acc, this.marginFor(acc, margins)),
      });
    }
    empty(this.touchedBalances);
    if (margins.size > 0) margins.clear(); // clear() makes a new table even when empty
  }

  /** finish()'s liquidation check of one candidate, keeping the margin it computed for the events. */
  private checkLiquidation(acc: Account, margins: Map<AccountId, MarginSummary>): void {
    if (acc.isHouse || !acc.hasPositions()) return;
    // An account whose balance event goes out needs its margin anyway; others are skipped
    // when surely above maintenance (after a price update: every account with positions).
    const viewed = acc.balanceTouched && this.observed(acc.accountId);
    if (!viewed && this.surelyAboveMaintenance(acc)) return;
    const m = this.margin(acc);
    if (this.liquidateIfBelowMaintenance(acc, m)) {
      margins.delete(acc.accountId);
      margins.delete(INSURANCE_ACCOUNT_ID);
    } else {
      margins.set(acc.accountId, m);
    }
  }

  /** The account's margin as finish() knows it, computed once. */
  private marginFor(acc: Account, margins: Map<AccountId, MarginSummary>): MarginSummary {
    let m = margins.get(acc.accountId);
    if (m === undefined) {
      m = this.margin(acc);
      margins.set(acc.accountId, m);
    }
    return m;
  }

  // ---------------------------------------------------------------- queries

  markets(): readonly InstrumentSpec[] {
    return this.config.instruments;
  }

  /** Current mark/index, predicted rate and next funding time (undefined before the first prices). */
  funding(instrumentId: InstrumentId): FundingRateEvent | undefined {
    const inst = this.instrumentOrThrow(instrumentId);
    return inst.markPrice === undefined ? undefined : this.fundingRateEvent(inst);
  }

  markPrice(instrumentId: InstrumentId): Decimal | undefined {
    return this.instrumentOrThrow(instrumentId).markPrice;
  }

  indexPrice(instrumentId: InstrumentId): Decimal | undefined {
    return this.instrumentOrThrow(instrumentId).indexPrice;
  }

  bookSnapshot(instrumentId: InstrumentId, depth = 50): BookSnapshot {
    const inst = this.instrumentOrThrow(instrumentId);
    return {
      venueId: this.config.venueId,
      instrumentId,
      seq: inst.book.seq,
      tsEventMs: this.clockMs,
      bids: inst.book.bids.top(depth),
      asks: inst.book.asks.top(depth),
    };
  }

  bestBidAsk(instrumentId: InstrumentId): { bid?: BookLevel; ask?: BookLevel } {
    const book = this.instrumentOrThrow(instrumentId).book;
    const bid = book.bids.top(1)[0];
    const ask = book.asks.top(1)[0];
    return { ...(bid === undefined ? {} : { bid }), ...(ask === undefined ? {} : { ask }) };
  }

  accountIds(): AccountId[] {
    return [...this.accounts.keys()];
  }

  hasAccount(accountId: AccountId): boolean {
    return this.accounts.has(accountId);
  }

  balance(accountId: AccountId): BalanceView {
    return this.balanceView(this.accountOrThrow(accountId));
  }

  marginSummary(accountId: AccountId): MarginSummary {
    return this.margin(this.accountOrThrow(accountId));
  }

  /** Non-flat positions of the account. */
  positions(accountId: AccountId): PositionView[] {
    const acc = this.accountOrThrow(accountId);
    const out: PositionView[] = [];
    for (const [id, pos] of acc.positions) if (!pos.size.isZero()) out.push(this.positionView(acc, id));
    return out;
  }

  position(accountId: AccountId, instrumentId: InstrumentId): PositionView {
    this.instrumentOrThrow(instrumentId);
    return this.positionView(this.accountOrThrow(accountId), instrumentId);
  }

  /** The signed size of `position()`, without building the view (its margin and liquidation price). */
  positionSize(accountId: AccountId, instrumentId: InstrumentId): Decimal {
    this.instrumentOrThrow(instrumentId);
    return this.accountOrThrow(accountId).positionSize(instrumentId);
  }

  openOrders(accountId: AccountId, instrumentId?: InstrumentId): OrderView[] {
    const acc = this.accountOrThrow(accountId);
    return [...acc.openOrders.values()]
      .filter((o) => instrumentId === undefined || o.instrumentId === instrumentId)
      .map((o) => o.view());
  }

  /** How many open orders the account has (on one instrument when given), without building views. */
  openOrderCount(accountId: AccountId, instrumentId?: InstrumentId): number {
    const acc = this.accountOrThrow(accountId);
    if (instrumentId === undefined) return acc.openOrders.size;
    let n = 0;
    for (const o of acc.openOrders.values()) if (o.instrumentId === instrumentId) n++;
    return n;
  }

  /** An open or retained closed order of the account, by venue or client order id. */
  getOrder(
    accountId: AccountId,
    ids: { venueOrderId?: VenueOrderId; clientOrderId?: ClientOrderId },
  ): OrderView | undefined {
    return this.findOrder(accountId, ids)?.view();
  }

  private balanceView(acc: Account, known?: MarginSummary): BalanceView {
    const m = known ?? this.margin(acc);
    const up = (d: Decimal) => d.toDecimalPlaces(this.config.settlementDecimals, Decimal.ROUND_UP);
    const im = up(m.initialMargin);
    return {
      venueId: this.config.venueId,
      accountId: acc.accountId,
      asset: this.config.settleAsset,
      collateral: acc.collateral,
      walletBalance: m.walletBalance,
      realizedPnl: acc.realizedPnl,
      feesPaid: acc.feesPaid,
      fundingNet: acc.fundingNet,
      transfersNet: acc.transfersNet,
      unrealizedPnl: m.unrealizedPnl,
      equity: m.equity,
      initialMargin: im,
      maintenanceMargin: up(m.maintenanceMargin),
      available: m.equity.minus(im),
      asOfMs: this.clockMs,
    };
  }

  private positionView(acc: Account, instrumentId: InstrumentId, known?: MarginSummary): PositionView {
    const inst = this.instruments.get(instrumentId) as InstrumentState;
    const pos = acc.positions.get(instrumentId);
    const size = pos?.size ?? ZERO;
    const mark = inst.markPrice ?? ZERO;
    // The margin part of this position, when the last margin computation saw it as it is now.
    const cached = acc.marginParts.get(instrumentId);
    const part =
      pos !== undefined &&
      cached !== undefined &&
      cached.input.size === pos.size &&
      cached.input.costBasis === pos.costBasis &&
      cached.input.mark === mark &&
      cached.input.maintenanceMarginRate === inst.spec.maintenanceMarginRate
        ? cached.position
        : undefined;
    const liq =
      pos === undefined || size.isZero() || acc.isHouse
        ? undefined
        : liquidationPrice(
            known ?? this.margin(acc),
            pos,
            inst.markPrice as Decimal,
            inst.spec.maintenanceMarginRate,
            part,
          );
    return {
      venueId: this.config.venueId,
      accountId: acc.accountId,
      instrumentId,
      side: size.isZero() ? 'flat' : size.isPos() ? 'long' : 'short',
      size,
      ...(size.isZero() || pos === undefined
        ? {}
        : { entryPrice: pos.costBasis.div(size).toDecimalPlaces(8, Decimal.ROUND_HALF_EVEN) }),
      markPrice: mark,
      unrealizedPnl: pos === undefined ? ZERO : (part?.unrealizedPnl ?? pos.unrealizedPnl(mark)),
      realizedPnl: pos?.realizedPnl ?? ZERO,
      leverage: this.leverageOf(acc, inst.spec),
      ...(liq === undefined ? {} : { liquidationPrice: liq }),
      asOfMs: this.clockMs,
    };
  }

  /**
   * Ledger totals over every account, house accounts included, for audits. Money is
   * conserved: `equity` equals `netDeposits` exactly at any mark; `realizedPnl +
   * unrealizedPnl`, `fundingNet` and `transfersNet` each sum to 0; `feesPaid` by traders
   * is the fee account's income (inside transfersNet); open positions net to 0 per instrument.
   */
  ledger(): {
    netDeposits: Decimal;
    walletBalances: Decimal;
    equity: Decimal;
    realizedPnl: Decimal;
    unrealizedPnl: Decimal;
    feesPaid: Decimal;
    fundingNet: Decimal;
    transfersNet: Decimal;
    netPosition: ReadonlyMap<InstrumentId, Decimal>;
  } {
    let netDeposits = ZERO;
    let walletBalances = ZERO;
    let equity = ZERO;
    let realizedPnl = ZERO;
    let unrealizedPnl = ZERO;
    let feesPaid = ZERO;
    let fundingNet = ZERO;
    let transfersNet = ZERO;
    const netPosition = new Map<InstrumentId, Decimal>();
    for (const id of this.instruments.keys()) netPosition.set(id, ZERO);
    for (const acc of this.accounts.values()) {
      const m = this.margin(acc);
      netDeposits = netDeposits.plus(acc.collateral);
      walletBalances = walletBalances.plus(m.walletBalance);
      equity = equity.plus(m.equity);
      realizedPnl = realizedPnl.plus(acc.realizedPnl);
      unrealizedPnl = unrealizedPnl.plus(m.unrealizedPnl);
      feesPaid = feesPaid.plus(acc.feesPaid);
      fundingNet = fundingNet.plus(acc.fundingNet);
      transfersNet = transfersNet.plus(acc.transfersNet);
      for (const [id, pos] of acc.positions)
        netPosition.set(id, (netPosition.get(id) ?? ZERO).plus(pos.size));
    }
    return {
      netDeposits,
      walletBalances,
      equity,
      realizedPnl,
      unrealizedPnl,
      feesPaid,
      fundingNet,
      transfersNet,
      netPosition,
    };
  }

  // ---------------------------------------------------------------- lookups

  private accountOrCreate(accountId: AccountId): Account {
    let acc = this.accounts.get(accountId);
    if (acc === undefined) {
      acc = new Account(accountId, false, this.moneyDecimals);
      this.accounts.set(accountId, acc);
    }
    return acc;
  }

  private accountOrReject(accountId: AccountId): Account {
    const acc = this.accounts.get(accountId);
    if (acc === undefined)
      throw venueReject(
        'unknown_account',
        'accountId',
        `no account ${JSON.stringify(accountId)} on ${this.venueId}`,
      );
    return acc;
  }

  private accountOrThrow(accountId: AccountId): Account {
    const acc = this.accounts.get(accountId);
    if (acc === undefined)
      throw new ValidationError('accountId', `no account ${JSON.stringify(accountId)} on ${this.venueId}`);
    return acc;
  }

  private instrumentOrReject(instrumentId: InstrumentId): InstrumentState {
    const inst = this.instruments.get(instrumentId);
    if (inst === undefined) {
      throw venueReject(
        'unknown_instrument',
        'instrumentId',
        `${JSON.stringify(instrumentId)} is not listed on ${this.venueId}`,
      );
    }
    return inst;
  }

  private instrumentOrThrow(instrumentId: InstrumentId): InstrumentState {
    const inst = this.instruments.get(instrumentId);
    if (inst === undefined) {
      throw new ValidationError(
        'instrumentId',
        `${JSON.stringify(instrumentId)} is not listed on ${this.venueId}`,
      );
    }
    return inst;
  }
}

/** The sequence number a venue order id is the text of (`SimOrder.venueOrderId`); undefined for any other text. */
function orderSeqOf(venueOrderId: VenueOrderId): number | undefined {
  const seq = Number(venueOrderId);
  return Number.isSafeInteger(seq) && seq > 0 && String(seq) === venueOrderId ? seq : undefined;
}

/** `surelyAboveMaintenance` of a sum already complete. */
const NO_TERMS: readonly { coefficient: bigint; markTicks: number }[] = [];

/** Empties a short array kept for reuse (popping is inline work; setting `length` is a runtime call). */
function empty(items: unknown[]): void {
  while (items.length > 0) items.pop();
}

/** The answer of an accepted command without a view (shared: results are read-only). */
const OK: SimpleResult = Object.freeze({ ok: true });

function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function clientKey(accountId: AccountId, clientOrderId: ClientOrderId): string {
  return `${accountId}\u0000${clientOrderId}`;
}

function positive(value: DecimalInput, field: string): Decimal {
  // Core's one strict grammar and limits: a hostile 1e9000000000000000 is refused here.
  const d = parseDecimal(value, field);
  if (!d.gt(0)) throw new ValidationError(field, `must be > 0, got ${d.toFixed()}`);
  return d;
}

function fmt(d: Decimal): string {
  return d.toDecimalPlaces(8, Decimal.ROUND_HALF_EVEN).toFixed();
}
