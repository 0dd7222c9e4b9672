/**
 * The facts every strategy keeps: markets, books, funding, balances, positions, its own
 * orders, trading state, rate-limit tokens and id counters. `applyFact` folds one input
 * into it (the `evolve` half of the decider); strategies decide on top of it.
 *
 * The state is plain data with Decimal values; `worldStateCodec` maps it to JSON with
 * decimals as strings and back (validating), so it persists and replays exactly.
 */
import {
  applyFill,
  type BookLevel,
  type BookWalk,
  Decimal,
  type EpochMs,
  FLAT_POSITION,
  OrderBook,
  type PositionState,
  type Side,
  ZERO,
} from '@perpmesh/core';
import { z } from 'zod';
import { decimalCodec, msSchema } from './codec.js';
import type { OrderIntent, StrategyInput } from './model.js';

export const TRADING_STATES = ['active', 'reducing', 'halted'] as const;
/** ACTIVE trades; REDUCING only reduces positions; HALTED places nothing (kill switch). */
export type TradingState = (typeof TRADING_STATES)[number];

const SIDES = ['buy', 'sell'] as const;
const ORDER_TYPES = ['limit', 'market'] as const;
const TIME_IN_FORCES = ['gtc', 'ioc', 'fok', 'post_only'] as const;
const ORDER_STATUSES = [
  'submitted',
  'accepted',
  'rejected',
  'partially_filled',
  'filled',
  'cancel_requested',
  'canceled',
  'expired',
] as const;

const OPEN_STATUSES: ReadonlySet<string> = new Set([
  'submitted',
  'accepted',
  'partially_filled',
  'cancel_requested',
]);

/** How many book levels per side a strategy keeps (walks deeper than this are not needed). */
export const MAX_BOOK_LEVELS = 50;
/** Terminal orders kept for inspection; older ones are dropped so the state stays bounded. */
const MAX_TERMINAL_ORDERS = 200;
const MAX_FUNDING_PAYMENT_IDS = 500;

const marketCodec = z.object({
  venue: z.string(),
  instrument: z.string(),
  tickSize: decimalCodec,
  lotSize: decimalCodec,
  minSize: decimalCodec,
  minNotional: decimalCodec,
  makerFeeRate: decimalCodec,
  takerFeeRate: decimalCodec,
  maxLeverage: decimalCodec,
});

const levelCodec = z.object({ price: decimalCodec, size: decimalCodec });

const bookCodec = z.object({
  bids: z.array(levelCodec),
  asks: z.array(levelCodec),
  asOfMs: msSchema,
  /** Our clock when market data received it (ages count from it: core `readingAgeMs`); absent from older producers. */
  observedAtMs: msSchema.optional(),
  receivedAtMs: msSchema,
});

const fundingCodec = z.object({
  rate: decimalCodec,
  intervalMs: z.int().positive(),
  nextFundingTimeMs: msSchema,
  markPrice: decimalCodec.optional(),
  indexPrice: decimalCodec.optional(),
  asOfMs: msSchema,
  /** As for books. */
  observedAtMs: msSchema.optional(),
  receivedAtMs: msSchema,
});

const balanceCodec = z.object({
  total: decimalCodec,
  available: decimalCodec,
  equity: decimalCodec,
  asOfMs: msSchema,
  /** Our clock when the account service knew it true (ages count from it); absent from older producers. */
  observedAtMs: msSchema.optional(),
  stale: z.boolean(),
});

const positionCodec = z.object({
  size: decimalCodec,
  entryPrice: decimalCodec.optional(),
  markPrice: decimalCodec.optional(),
  asOfMs: msSchema,
  /**
   * True when our own fills moved the size after the account's last snapshot (our estimate
   * until the account reports); absent when the size is the account's.
   */
  ownFills: z.literal(true).optional(),
  /**
   * True when own fills of the snapshot's own millisecond arrived after it: the account
   * publishes after each fill it applies, so it may hold some of them and not others (not
   * counted on top; unknown until a snapshot of a later time).
   */
  sameMsFills: z.literal(true).optional(),
});

export const ownOrderCodec = z.object({
  clientOrderId: z.string(),
  venue: z.string(),
  account: z.string(),
  instrument: z.string(),
  side: z.enum(SIDES),
  type: z.enum(ORDER_TYPES),
  timeInForce: z.enum(TIME_IN_FORCES),
  price: decimalCodec.optional(),
  size: decimalCodec,
  reduceOnly: z.boolean(),
  status: z.enum(ORDER_STATUSES),
  /** Cumulative filled: the larger of the venue's report and our fills' sum (either can arrive first). */
  filled: decimalCodec,
  /** Sum of the fills we have seen (sizes, notional, fees). */
  fillSize: decimalCodec,
  fillNotional: decimalCodec,
  fees: decimalCodec,
  avgFillPrice: decimalCodec.optional(),
  tradeIds: z.array(z.string()),
  reason: z.string().optional(),
  /** What the strategy placed it for: `entry`, `hedge`, `unwind`, `exit`, `grid`, `adopted`... */
  role: z.string(),
  /** The strategy's grouping key: an arb id, a grid level... */
  group: z.string().optional(),
  createdAtMs: msSchema,
  updatedAtMs: msSchema,
  cancelRequestedAtMs: msSchema.optional(),
});
export type OwnOrder = z.output<typeof ownOrderCodec>;

export const worldStateCodec = z.object({
  strategyId: z.string(),
  tradingState: z.enum(TRADING_STATES),
  /** The latest input's nowMs. */
  nowMs: msSchema,
  /** Last client order id sequence handed out (see `nextClientOrderId`). */
  orderSeq: z.int().min(0),
  decisionSeq: z.int().min(0),
  rateTokens: z.number().min(0),
  rateUpdatedAtMs: msSchema,
  started: z.boolean(),
  markets: z.record(z.string(), marketCodec),
  books: z.record(z.string(), bookCodec),
  funding: z.record(z.string(), fundingCodec),
  balances: z.record(z.string(), balanceCodec),
  positions: z.record(z.string(), positionCodec),
  orders: z.record(z.string(), ownOrderCodec),
  fundingPaymentIds: z.array(z.string()),
});
export type WorldState = z.output<typeof worldStateCodec>;
export type MarketState = z.output<typeof marketCodec>;
export type BookState = z.output<typeof bookCodec>;
export type FundingState = z.output<typeof fundingCodec>;
export type BalanceState = z.output<typeof balanceCodec>;
export type PositionFact = z.output<typeof positionCodec>;

export function initialWorld(strategyId: string, rateCapacity: number): WorldState {
  return {
    strategyId,
    tradingState: 'active',
    nowMs: 0,
    orderSeq: 0,
    decisionSeq: 0,
    rateTokens: rateCapacity,
    rateUpdatedAtMs: 0,
    started: false,
    markets: {},
    books: {},
    funding: {},
    balances: {},
    positions: {},
    orders: {},
    fundingPaymentIds: [],
  };
}

// ---------------------------------------------------------------------------------------
// Keys

export const marketKey = (venue: string, instrument: string): string => `${venue}|${instrument}`;
export const accountKey = (venue: string, account: string): string => `${venue}|${account}`;
export const positionKey = (venue: string, account: string, instrument: string): string =>
  `${venue}|${account}|${instrument}`;

// ---------------------------------------------------------------------------------------
// Client order ids: `${strategyId}_${base36 sequence}`. The sequence is max(last + 1, nowMs),
// so it is deterministic (time comes from the input) and a strategy that lost its state
// still never reuses an id from before (PlaceOrder would answer with the old order).

export const CLIENT_ORDER_ID_SEPARATOR = '_';

export function isOwnClientOrderId(strategyId: string, clientOrderId: string): boolean {
  return clientOrderId.startsWith(`${strategyId}${CLIENT_ORDER_ID_SEPARATOR}`);
}

export function nextClientOrderId(world: WorldState): string {
  world.orderSeq = Math.max(world.orderSeq + 1, world.nowMs);
  return `${world.strategyId}${CLIENT_ORDER_ID_SEPARATOR}${world.orderSeq.toString(36)}`;
}

/** The sequence inside one of our ids, so adoption can move the counter past it. */
export function clientOrderSeq(strategyId: string, clientOrderId: string): number | undefined {
  if (!isOwnClientOrderId(strategyId, clientOrderId)) return undefined;
  const text = clientOrderId.slice(strategyId.length + 1);
  if (!/^[0-9a-z]{1,11}$/.test(text)) return undefined;
  const seq = Number.parseInt(text, 36);
  return Number.isSafeInteger(seq) ? seq : undefined;
}

// ---------------------------------------------------------------------------------------
// Reading the world

export function isOpenOrder(order: OwnOrder): boolean {
  return OPEN_STATUSES.has(order.status);
}

export function openOrders(world: WorldState): OwnOrder[] {
  return Object.values(world.orders)
    .filter(isOpenOrder)
    .sort((a, b) => a.createdAtMs - b.createdAtMs || a.clientOrderId.localeCompare(b.clientOrderId));
}

export function remainingOf(order: OwnOrder): Decimal {
  const remaining = order.size.minus(order.filled);
  return remaining.isNeg() ? ZERO : remaining;
}

export function positionSize(world: WorldState, venue: string, account: string, instrument: string): Decimal {
  return world.positions[positionKey(venue, account, instrument)]?.size ?? ZERO;
}

export function bestBid(book: BookState | undefined): Decimal | undefined {
  return book?.bids[0]?.price;
}
export function bestAsk(book: BookState | undefined): Decimal | undefined {
  return book?.asks[0]?.price;
}
export function midOf(book: BookState | undefined): Decimal | undefined {
  const bid = bestBid(book);
  const ask = bestAsk(book);
  return bid && ask ? bid.plus(ask).div(2) : undefined;
}

/** What a taker order of `size` would get from the book (core's walk over a scratch OrderBook). */
export function walk(book: BookState, side: Side, size: Decimal): BookWalk {
  const scratch = new OrderBook();
  scratch.applySnapshot({ seq: 0, bids: book.bids, asks: book.asks });
  return scratch.walkBook(side, size);
}

/** A price to value an order at: its limit, else the side of the book it would take, else a mark. */
export function referencePrice(
  world: WorldState,
  order: Pick<OrderIntent, 'venue' | 'account' | 'instrument' | 'side' | 'price'>,
): Decimal | undefined {
  if (order.price !== undefined) return order.price;
  const key = marketKey(order.venue, order.instrument);
  const book = world.books[key];
  const top = order.side === 'buy' ? bestAsk(book) : bestBid(book);
  return (
    top ??
    world.funding[key]?.markPrice ??
    world.positions[positionKey(order.venue, order.account, order.instrument)]?.markPrice
  );
}

/** A price to mark a position at: book mid, else funding mark, else the position's own mark. */
export function markPrice(
  world: WorldState,
  venue: string,
  account: string,
  instrument: string,
): Decimal | undefined {
  const key = marketKey(venue, instrument);
  return (
    midOf(world.books[key]) ??
    world.funding[key]?.markPrice ??
    world.positions[positionKey(venue, account, instrument)]?.markPrice
  );
}

// ---------------------------------------------------------------------------------------
// Evolve: fold one input's facts into the world (no decisions here)

/** Result of folding an order update or fill: the own order it touched, if any. */
export interface FactResult {
  readonly order?: OwnOrder;
  /** The order's status before this input (undefined for an order seen for the first time). */
  readonly previousStatus?: OwnOrder['status'];
  /** A fill that was new (not a re-delivery). */
  readonly newFill?: {
    readonly side: Side;
    readonly price: Decimal;
    readonly size: Decimal;
    readonly fee: Decimal;
  };
  /** A funding payment that was new. */
  readonly newFundingPayment?: boolean;
}

export function applyFact(world: WorldState, input: StrategyInput): FactResult {
  world.nowMs = Math.max(world.nowMs, input.nowMs);
  switch (input.kind) {
    case 'markets':
      for (const m of input.markets) {
        world.markets[marketKey(m.venue, m.instrument)] = {
          venue: m.venue,
          instrument: m.instrument,
          tickSize: m.tickSize,
          lotSize: m.lotSize,
          minSize: m.minSize,
          minNotional: m.minNotional,
          makerFeeRate: m.makerFeeRate,
          takerFeeRate: m.takerFeeRate,
          maxLeverage: m.maxLeverage,
        };
      }
      return {};
    case 'book': {
      const key = marketKey(input.venue, input.instrument);
      const previous = world.books[key];
      if (previous && input.asOfMs < previous.asOfMs) return {}; // an older snapshot arriving late
      world.books[key] = {
        bids: copyLevels(input.bids),
        asks: copyLevels(input.asks),
        asOfMs: input.asOfMs,
        ...observedAt(input),
        receivedAtMs: input.nowMs,
      };
      return {};
    }
    case 'funding': {
      const key = marketKey(input.venue, input.instrument);
      const previous = world.funding[key];
      if (previous && input.asOfMs < previous.asOfMs) return {};
      world.funding[key] = {
        rate: input.rate,
        intervalMs: input.intervalMs,
        nextFundingTimeMs: input.nextFundingTimeMs,
        ...(input.markPrice ? { markPrice: input.markPrice } : {}),
        ...(input.indexPrice ? { indexPrice: input.indexPrice } : {}),
        asOfMs: input.asOfMs,
        ...observedAt(input),
        receivedAtMs: input.nowMs,
      };
      return {};
    }
    case 'balance': {
      const key = accountKey(input.venue, input.account);
      const previous = world.balances[key];
      if (previous && input.asOfMs < previous.asOfMs) return {};
      world.balances[key] = {
        total: input.total,
        available: input.available,
        equity: input.equity,
        asOfMs: input.asOfMs,
        ...observedAt(input),
        stale: input.stale,
      };
      return {};
    }
    case 'position':
      applyPositionSnapshot(world, input);
      return {};
    case 'start':
      for (const p of input.positions) applyPositionSnapshot(world, p);
      for (const o of input.openOrders) {
        if (isOwnClientOrderId(world.strategyId, o.clientOrderId)) upsertOrder(world, o, input.nowMs);
      }
      return {};
    case 'order': {
      if (!isOwnClientOrderId(world.strategyId, input.clientOrderId)) return {};
      const previousStatus = world.orders[input.clientOrderId]?.status;
      const order = upsertOrder(world, input, input.nowMs);
      return previousStatus ? { order, previousStatus } : { order };
    }
    case 'fill':
      return applyOwnFill(world, input);
    case 'funding_payment': {
      if (input.paymentId === undefined) return { newFundingPayment: true };
      const id = `${input.venue}|${input.account}|${input.paymentId}`;
      if (world.fundingPaymentIds.includes(id)) return { newFundingPayment: false };
      world.fundingPaymentIds.push(id);
      if (world.fundingPaymentIds.length > MAX_FUNDING_PAYMENT_IDS) world.fundingPaymentIds.shift();
      return { newFundingPayment: true };
    }
    case 'tick':
    case 'operator':
      return {};
  }
}

/** `observedAtMs` only when the producer stamped it (persisted states stay as they were without it). */
function observedAt(input: { readonly observedAtMs?: EpochMs | undefined }): { observedAtMs?: EpochMs } {
  return input.observedAtMs === undefined ? {} : { observedAtMs: input.observedAtMs };
}

function copyLevels(levels: ReadonlyArray<BookLevel>): Array<{ price: Decimal; size: Decimal }> {
  return levels.slice(0, MAX_BOOK_LEVELS).map((l) => ({ price: l.price, size: l.size }));
}

function applyPositionSnapshot(
  world: WorldState,
  p: {
    venue: string;
    account: string;
    instrument: string;
    size: Decimal;
    entryPrice?: Decimal | undefined;
    markPrice?: Decimal | undefined;
    asOfMs: number;
  },
): void {
  const key = positionKey(p.venue, p.account, p.instrument);
  const previous = world.positions[key];
  // Our own fills move the position at their event time; a snapshot taken before them is
  // stale, and so may be one of the same millisecond (it can predate another fill of that ms).
  if (previous && (p.asOfMs < previous.asOfMs || (p.asOfMs === previous.asOfMs && previous.ownFills))) return;
  const sameMsFills = previous?.sameMsFills === true && p.asOfMs === previous.asOfMs;
  world.positions[key] = {
    size: p.size,
    ...(p.entryPrice ? { entryPrice: p.entryPrice } : {}),
    ...(p.markPrice
      ? { markPrice: p.markPrice }
      : previous?.markPrice
        ? { markPrice: previous.markPrice }
        : {}),
    asOfMs: p.asOfMs,
    ...(sameMsFills ? { sameMsFills: true as const } : {}),
  };
}

const TERMINAL_RANK: Record<string, number> = { rejected: 1, canceled: 1, expired: 1, filled: 2 };

function upsertOrder(
  world: WorldState,
  o: {
    clientOrderId: string;
    venue: string;
    account: string;
    instrument: string;
    side: Side;
    type: OwnOrder['type'];
    timeInForce: OwnOrder['timeInForce'];
    price?: Decimal | undefined;
    size: Decimal;
    reduceOnly: boolean;
    status: OwnOrder['status'];
    filled: Decimal;
    avgFillPrice?: Decimal | undefined;
    reason?: string | undefined;
    tsEventMs: number;
  },
  nowMs: number,
): OwnOrder {
  const existing = world.orders[o.clientOrderId];
  if (!existing) {
    const seq = clientOrderSeq(world.strategyId, o.clientOrderId);
    if (seq !== undefined) world.orderSeq = Math.max(world.orderSeq, seq);
    const order: OwnOrder = {
      clientOrderId: o.clientOrderId,
      venue: o.venue,
      account: o.account,
      instrument: o.instrument,
      side: o.side,
      type: o.type,
      timeInForce: o.timeInForce,
      ...(o.price ? { price: o.price } : {}),
      size: o.size,
      reduceOnly: o.reduceOnly,
      status: o.status,
      filled: o.filled,
      fillSize: ZERO,
      fillNotional: ZERO,
      fees: ZERO,
      ...(o.avgFillPrice ? { avgFillPrice: o.avgFillPrice } : {}),
      tradeIds: [],
      ...(o.reason ? { reason: o.reason } : {}),
      role: 'adopted',
      createdAtMs: Math.min(o.tsEventMs, nowMs),
      updatedAtMs: nowMs,
    };
    world.orders[o.clientOrderId] = order;
    pruneOrders(world);
    return order;
  }
  // Reports arrive over several channels in no order: a terminal status never goes back
  // to open, and the cumulative filled size only grows.
  const currentRank = TERMINAL_RANK[existing.status] ?? 0;
  const nextRank = TERMINAL_RANK[o.status] ?? 0;
  if (nextRank >= currentRank) existing.status = o.status;
  if (o.filled.gt(existing.filled)) existing.filled = o.filled;
  if (o.avgFillPrice) existing.avgFillPrice = o.avgFillPrice;
  if (o.reason) existing.reason = o.reason;
  existing.updatedAtMs = nowMs;
  if (!isOpenOrder(existing)) pruneOrders(world);
  return existing;
}

function applyOwnFill(world: WorldState, f: Extract<StrategyInput, { kind: 'fill' }>): FactResult {
  if (!isOwnClientOrderId(world.strategyId, f.clientOrderId)) return {};
  const order = world.orders[f.clientOrderId];
  if (order?.tradeIds.includes(f.tradeId)) return { order, previousStatus: order.status };
  const previousStatus = order?.status;
  if (order) {
    order.tradeIds.push(f.tradeId);
    order.fillSize = order.fillSize.plus(f.size);
    order.fillNotional = order.fillNotional.plus(f.size.mul(f.price));
    order.fees = order.fees.plus(f.fee);
    if (order.fillSize.gt(order.filled)) order.filled = order.fillSize;
    if (!order.avgFillPrice) order.avgFillPrice = order.fillNotional.div(order.fillSize);
    if (order.filled.gte(order.size) && isOpenOrder(order)) order.status = 'filled';
    else if (order.status === 'submitted' || order.status === 'accepted') order.status = 'partially_filled';
    order.updatedAtMs = f.nowMs;
  }
  // Move our view of the position now; the account service's snapshot replaces it later.
  // The account's snapshot is as of its latest fill: one as of this fill's time already
  // holds it (the two arrive on separate streams, in either order), so only a fill after
  // the snapshot, or a further fill of the same millisecond on top of our own, moves it.
  const key = positionKey(f.venue, f.account, f.instrument);
  const previous = world.positions[key];
  if (
    !previous ||
    f.tsEventMs > previous.asOfMs ||
    (f.tsEventMs === previous.asOfMs && previous.ownFills === true)
  ) {
    const before: PositionState = previous
      ? {
          ...FLAT_POSITION,
          size: previous.size,
          entryPrice: previous.size.isZero() ? undefined : (previous.entryPrice ?? f.price),
        }
      : FLAT_POSITION;
    const after = applyFill(before, { side: f.side, price: f.price, size: f.size });
    world.positions[key] = {
      size: after.size,
      ...(after.entryPrice ? { entryPrice: after.entryPrice } : {}),
      ...(previous?.markPrice ? { markPrice: previous.markPrice } : {}),
      asOfMs: f.tsEventMs,
      ownFills: true,
    };
  } else if (f.tsEventMs === previous.asOfMs && previous.ownFills !== true) {
    previous.sameMsFills = true;
  }
  return {
    ...(order ? { order } : {}),
    ...(previousStatus ? { previousStatus } : {}),
    newFill: { side: f.side, price: f.price, size: f.size, fee: f.fee },
  };
}

function pruneOrders(world: WorldState): void {
  const terminal = Object.values(world.orders).filter((o) => !isOpenOrder(o));
  if (terminal.length <= MAX_TERMINAL_ORDERS) return;
  terminal.sort((a, b) => a.updatedAtMs - b.updatedAtMs || a.clientOrderId.localeCompare(b.clientOrderId));
  for (const o of terminal.slice(0, terminal.length - MAX_TERMINAL_ORDERS))
    delete world.orders[o.clientOrderId];
}

/**
 * Copies plain objects and arrays; Decimals (immutable) are shared. Gives each step its own
 * draft. Runs on every input over the whole state: plain loops, no per-object entry arrays.
 */
export function cloneDraft<T>(value: T): T {
  if (value === null || typeof value !== 'object' || value instanceof Decimal) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = cloneDraft(value[i]);
    return out as T;
  }
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k in source) if (Object.hasOwn(source, k)) out[k] = cloneDraft(source[k]);
  return out as T;
}
