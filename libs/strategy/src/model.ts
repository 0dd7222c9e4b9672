/**
 * What goes into a strategy decider and what comes out of it.
 *
 * The runtime (`@perpmesh/strategy/runtime`: runner and stepper) turns md / acct / exec events
 * into `StrategyInput`s, calls `decider.step(state, input)`, publishes every `Decision`
 * on `strat.{strategyId}.{kind}`, and sends every `StrategyCommand` to the execution
 * service (or to the dry-run recorder). Nothing here does I/O or reads a clock: every
 * input carries `nowMs`, the time the runtime processes it (the envelope's ts_init on
 * replay), so the same inputs always give the same decisions.
 */
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
} from '@perpmesh/core';
import { dec, REPORT_DECIMAL_PLACES, roundForReport, toWire, ValidationError } from '@perpmesh/core';

// ---------------------------------------------------------------------------------------
// Facts (the data part of inputs; also what `start` carries in bulk)

/** Trading rules and fees of one instrument on one venue (from the venue's markets list). */
export interface MarketInfo {
  readonly venue: VenueId;
  readonly instrument: InstrumentId;
  readonly tickSize: Decimal;
  readonly lotSize: Decimal;
  /** Smallest order size in base units (0 = the lot). */
  readonly minSize: Decimal;
  /** Smallest order notional in the settle currency (0 = none). */
  readonly minNotional: Decimal;
  /** Fee rates as fractions of notional ("0.0002" = 2 bps); negative = rebate. */
  readonly makerFeeRate: Decimal;
  readonly takerFeeRate: Decimal;
  /** The venue's leverage cap for this instrument. */
  readonly maxLeverage: Decimal;
}

/** Position as the account service reports it. */
export interface PositionSnapshot {
  readonly venue: VenueId;
  readonly account: AccountId;
  readonly instrument: InstrumentId;
  /** Signed base size: > 0 long, < 0 short, 0 flat. */
  readonly size: Decimal;
  readonly entryPrice?: Decimal | undefined;
  readonly markPrice?: Decimal | undefined;
  readonly asOfMs: EpochMs;
}

/** One order as the execution service reports it (exec.order events, ListOpenOrders). */
export interface OrderSnapshot {
  readonly clientOrderId: ClientOrderId;
  readonly venue: VenueId;
  readonly account: AccountId;
  readonly instrument: InstrumentId;
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  readonly price?: Decimal | undefined;
  readonly size: Decimal;
  readonly reduceOnly: boolean;
  readonly status: OrderStatus;
  /** Cumulative filled size. */
  readonly filled: Decimal;
  readonly avgFillPrice?: Decimal | undefined;
  /** The venue's reason for a reject or cancel. */
  readonly reason?: string | undefined;
  readonly tsEventMs: EpochMs;
}

// ---------------------------------------------------------------------------------------
// Inputs

interface InputBase {
  /** When the runtime processes this input (ms). The decider's only clock. */
  readonly nowMs: EpochMs;
}

/** Top-N of a venue's book (md.book), best first on each side. */
export interface BookInput extends InputBase {
  readonly kind: 'book';
  readonly venue: VenueId;
  readonly instrument: InstrumentId;
  readonly bids: ReadonlyArray<BookLevel>;
  readonly asks: ReadonlyArray<BookLevel>;
  readonly asOfMs: EpochMs;
  /** When market data / the account service knew it true, on our clock (core `readingAgeMs`); absent from older producers. */
  readonly observedAtMs?: EpochMs | undefined;
}

/** The venue's current funding rate for ITS interval (md.funding). */
export interface FundingInput extends InputBase {
  readonly kind: 'funding';
  readonly venue: VenueId;
  readonly instrument: InstrumentId;
  /** Fraction per `intervalMs`; positive = longs pay shorts. */
  readonly rate: Decimal;
  readonly intervalMs: number;
  readonly nextFundingTimeMs: EpochMs;
  readonly markPrice?: Decimal | undefined;
  readonly indexPrice?: Decimal | undefined;
  readonly asOfMs: EpochMs;
  /** When market data / the account service knew it true, on our clock (core `readingAgeMs`); absent from older producers. */
  readonly observedAtMs?: EpochMs | undefined;
}

/** acct.balance. `stale` = the account service could not refresh it. */
export interface BalanceInput extends InputBase {
  readonly kind: 'balance';
  readonly venue: VenueId;
  readonly account: AccountId;
  readonly total: Decimal;
  readonly available: Decimal;
  readonly equity: Decimal;
  readonly asOfMs: EpochMs;
  /** When market data / the account service knew it true, on our clock (core `readingAgeMs`); absent from older producers. */
  readonly observedAtMs?: EpochMs | undefined;
  readonly stale: boolean;
}

export interface PositionInput extends InputBase, PositionSnapshot {
  readonly kind: 'position';
}

/** exec.order for one of this strategy's orders (others are ignored). */
export interface OrderUpdateInput extends InputBase, OrderSnapshot {
  readonly kind: 'order';
}

/** exec.fill of one of this strategy's orders. */
export interface FillInput extends InputBase {
  readonly kind: 'fill';
  readonly clientOrderId: ClientOrderId;
  readonly venue: VenueId;
  readonly account: AccountId;
  readonly instrument: InstrumentId;
  readonly side: Side;
  readonly tradeId: TradeId;
  readonly price: Decimal;
  readonly size: Decimal;
  /** Positive = paid, negative = rebate. */
  readonly fee: Decimal;
  readonly liquidity: Liquidity;
  readonly tsEventMs: EpochMs;
}

/** acct.funding: a settled funding payment. */
export interface FundingPaymentInput extends InputBase {
  readonly kind: 'funding_payment';
  readonly venue: VenueId;
  readonly account: AccountId;
  readonly instrument: InstrumentId;
  /** Positive = received, negative = paid. */
  readonly amount: Decimal;
  readonly fundingTimeMs: EpochMs;
  /** The venue's payment id, when it has one; used to drop re-deliveries. */
  readonly paymentId?: string | undefined;
}

/** A timer tick: lets time-based rules (persistence, timeouts, holding time) fire without market data. */
export interface TickInput extends InputBase {
  readonly kind: 'tick';
}

export interface MarketsInput extends InputBase {
  readonly kind: 'markets';
  readonly markets: ReadonlyArray<MarketInfo>;
}

/**
 * Operator commands:
 * - `halt`: trading state HALTED, every own open order canceled, nothing new is placed.
 * - `reduce`: REDUCING, only risk-reducing (reduce-only) orders; own opening orders canceled.
 * - `resume`: ACTIVE.
 * - `close_all`: REDUCING, then close every position this strategy holds (reduce-only).
 * - `cancel_all`: cancel every own open order, keep positions and the trading state (SIGTERM).
 */
export type OperatorAction = 'halt' | 'reduce' | 'resume' | 'close_all' | 'cancel_all';

/** An operator's reason (the note of an operator command) is at most this long: it lands in decisions, logs and events. */
export const MAX_OPERATOR_REASON_CHARS = 500;

/** The reason of an operator command, checked: text of at most `MAX_OPERATOR_REASON_CHARS`. */
export function checkOperatorReason(reason: string): string {
  if (reason.length > MAX_OPERATOR_REASON_CHARS) {
    throw new ValidationError(
      'reason',
      `must be at most ${MAX_OPERATOR_REASON_CHARS} characters, got ${reason.length}`,
    );
  }
  return reason;
}

export interface OperatorInput extends InputBase {
  readonly kind: 'operator';
  readonly action: OperatorAction;
  /** Who or why, for the decision record. Never a secret. */
  readonly note?: string | undefined;
}

/**
 * Sent once when the runtime (re)starts, after it read the venues: the strategy's own
 * open orders (ListOpenOrders, filtered by its client order id prefix), the positions
 * and balances of its accounts. The strategy adopts them.
 */
export interface StartInput extends InputBase {
  readonly kind: 'start';
  readonly openOrders: ReadonlyArray<OrderSnapshot>;
  readonly positions: ReadonlyArray<PositionSnapshot>;
  /**
   * Own orders whose PlaceOrder the runtime has not delivered to execution yet (still in its
   * outbox, sent after the start): not listed anywhere, yet in flight, not done. Absent = none.
   */
  readonly unsentOrderIds?: ReadonlyArray<ClientOrderId>;
}

export type StrategyInput =
  | BookInput
  | FundingInput
  | BalanceInput
  | PositionInput
  | OrderUpdateInput
  | FillInput
  | FundingPaymentInput
  | TickInput
  | MarketsInput
  | OperatorInput
  | StartInput;

export type StrategyInputKind = StrategyInput['kind'];

// ---------------------------------------------------------------------------------------
// Outputs

/** Everything PlaceOrder needs (execution.proto PlaceOrderRequest; strategy.proto OrderIntent). */
export interface OrderIntent {
  readonly clientOrderId: ClientOrderId;
  readonly venue: VenueId;
  readonly account: AccountId;
  readonly instrument: InstrumentId;
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  /** Limit price; undefined for market orders (PlaceOrder wants it empty). */
  readonly price: Decimal | undefined;
  readonly size: Decimal;
  readonly reduceOnly: boolean;
}

export interface OrderRef {
  readonly clientOrderId: ClientOrderId;
  readonly venue: VenueId;
  readonly account: AccountId;
  readonly instrument: InstrumentId;
}

/**
 * What the runtime must do. Every command names the decision that caused it
 * (`decisionId`): publish the decision first, then send the command with the
 * decision's envelope id as `correlation_id`.
 */
export type StrategyCommand =
  | { readonly kind: 'place'; readonly decisionId: string; readonly order: OrderIntent }
  | ({ readonly kind: 'cancel'; readonly decisionId: string } & OrderRef)
  /** Cancel every listed own open order (CancelOrder each, or CancelAllOrders on a dedicated account). */
  | {
      readonly kind: 'cancel_all_own';
      readonly decisionId: string;
      readonly orders: ReadonlyArray<OrderRef>;
    };

export type DecisionKind =
  /** Open a position (arb: both legs; grid: a level; scalper: an entry). */
  | 'enter'
  /** Looked, did not trade; the reason and numbers say why. */
  | 'skip'
  /** Close a position. */
  | 'exit'
  /** Top up a lagging leg. */
  | 'hedge'
  /** Reduce a leading leg back to the filled size of the other. */
  | 'unwind'
  /** Risk refused an order; nothing was sent. */
  | 'deny'
  /** Took over an order or position found at start. */
  | 'adopt'
  /** Cancel orders (timeouts, stray orders, operator). */
  | 'cancel'
  /** A condition started or changed (e.g. entry condition began its persistence window). */
  | 'signal'
  /** A trade cycle finished; the record carries its result. */
  | 'closed'
  /** Trading state changed (ACTIVE / REDUCING / HALTED). */
  | 'trading_state'
  /** Grid: new center. */
  | 'recenter'
  /** Grid / scalper: a plain order placement. */
  | 'place';

/** A decision with the inputs that caused it (decimal text), published on strat.{strategyId}.{kind}. */
export interface Decision {
  /** `${strategyId}:${sequence}`, unique and deterministic within the strategy's life. */
  readonly decisionId: string;
  readonly strategyId: string;
  readonly kind: DecisionKind;
  /** snake_case, stable, machine-readable: `net_carry_below_threshold`, `insufficient_available_balance`... */
  readonly reasonCode: string;
  readonly message: string;
  readonly inputs: Readonly<Record<string, string>>;
  /** Orders this decision places (empty for skip, deny, cancel...). */
  readonly orders: ReadonlyArray<OrderIntent>;
  readonly nowMs: EpochMs;
}

export interface StepResult<S> {
  readonly state: S;
  readonly commands: ReadonlyArray<StrategyCommand>;
  readonly decisions: ReadonlyArray<Decision>;
}

/** The shape every strategy exposes to the runtime. */
export interface StrategyDecider<S> {
  readonly strategyId: string;
  readonly strategyKind: string;
  initialState(): S;
  /** Pure: never mutates `state`; same state and input give the same result. */
  step(state: S, input: StrategyInput): StepResult<S>;
  /** JSON-safe form (decimals as strings) to persist. */
  serialize(state: S): SerializedStrategyState;
  /** Validates and restores; throws ValidationError naming the bad field. */
  deserialize(json: unknown): S;
}

export interface SerializedStrategyState {
  readonly format: 'perpmesh.strategy.state';
  readonly version: 1;
  readonly strategyKind: string;
  readonly strategyId: string;
  readonly state: unknown;
}

/**
 * A decision as strategy.proto's StrategyDecision wants it (decimals as text, domain
 * enum words; the runtime maps side/type/time-in-force to proto enums in libs/contracts).
 */
export interface StrategyDecisionRecord {
  readonly decisionId: string;
  readonly strategyId: string;
  readonly kind: string;
  readonly decision: string;
  readonly reasonCode: string;
  readonly reason: string;
  readonly inputs: Record<string, string>;
  readonly orderIntents: OrderIntentRecord[];
  readonly dryRun: boolean;
  /** Own orders this decision asks to cancel. */
  readonly cancelClientOrderIds: string[];
  readonly decidedAtMs: number;
}

/** An order intent in plain strings (decimals as text, '' for no price): decision records and saved outboxes. */
export interface OrderIntentRecord {
  clientOrderId: string;
  venue: string;
  account: string;
  instrument: string;
  side: Side;
  type: OrderType;
  timeInForce: TimeInForce;
  price: string;
  size: string;
  reduceOnly: boolean;
}

export function orderIntentRecord(o: OrderIntent): OrderIntentRecord {
  return {
    clientOrderId: o.clientOrderId,
    venue: o.venue,
    account: o.account,
    instrument: o.instrument,
    side: o.side,
    type: o.type,
    timeInForce: o.timeInForce,
    price: o.price === undefined ? '' : o.price.toFixed(),
    size: o.size.toFixed(),
    reduceOnly: o.reduceOnly,
  };
}

/**
 * Maps a decision onto strategy.proto's StrategyDecision fields. `commands` are the step's
 * commands: the cancels this decision caused become `cancelClientOrderIds`.
 */
export function toStrategyDecisionRecord(
  decision: Decision,
  options: { dryRun: boolean; commands?: ReadonlyArray<StrategyCommand> },
): StrategyDecisionRecord {
  const cancelClientOrderIds: string[] = [];
  for (const c of options.commands ?? []) {
    if (c.decisionId !== decision.decisionId) continue;
    if (c.kind === 'cancel') cancelClientOrderIds.push(c.clientOrderId);
    else if (c.kind === 'cancel_all_own')
      for (const o of c.orders) cancelClientOrderIds.push(o.clientOrderId);
  }
  return {
    decisionId: decision.decisionId,
    strategyId: decision.strategyId,
    kind: decision.kind,
    decision: decision.kind,
    reasonCode: decision.reasonCode,
    reason: options.dryRun ? `DRY-RUN: ${decision.message}` : decision.message,
    inputs: reportInputs(decision.inputs),
    orderIntents: decision.orders.map(orderIntentRecord),
    dryRun: options.dryRun,
    cancelClientOrderIds,
    decidedAtMs: decision.nowMs,
  };
}

const LONG_DECIMAL = new RegExp(`^-?\\d+\\.\\d{${REPORT_DECIMAL_PLACES + 1},}$`);

/** Decision inputs as published: decimals from divisions rounded for reading; other text as is. */
function reportInputs(inputs: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(inputs)) {
    out[key] = LONG_DECIMAL.test(value) ? toWire(roundForReport(dec(value))) : value;
  }
  return out;
}
