/**
 * A venue profile: everything the one ccxt adapter (port.ts) does differently per venue,
 * as data and small functions — which ccxt class and options, where to point its URLs,
 * how our instrument ids map to the venue's, and how to read the venue's own payloads
 * (funding with its interval, the futures account, positions, orders and fills) as
 * decimals. The adapter holds no venue names; a new ccxt venue is a new profile.
 *
 * The parsers read the venue's raw payloads (ccxt's `info`), never ccxt's unified
 * numbers: those are floats, ours are decimals.
 */
import type { ClientOrderId, InstrumentId } from '@perpmesh/core';
import type {
  FillOrigin,
  FundingInfo,
  VenueBalance,
  VenueCapabilities,
  VenueFill,
  VenueFundingPayment,
  VenueOrder,
  VenuePosition,
} from '../port.js';
import type { ClientOrderIdCodec } from '../shared/client-order-id.js';
import type { VenueClock } from '../shared/venue-clock.js';

/** The slice of a ccxt exchange object the adapter and profiles use (ccxt's own types are loose). */
export interface CcxtExchange {
  id: string;
  apiKey?: string;
  urls: { api: Record<string, unknown> } & Record<string, unknown>;
  options: Record<string, unknown>;
  markets: Record<string, CcxtMarket> | undefined;
  clients: Record<string, { url: string; isConnected?: boolean }>;
  /** Books ccxt follows over the websocket, by symbol. */
  orderbooks?: Record<string, CcxtOrderBook>;
  loadMarkets(reload?: boolean): Promise<Record<string, CcxtMarket>>;
  loadHttpProxyAgent(): Promise<void>;
  fetchOrderBook(symbol: string, limit?: number): Promise<CcxtOrderBook>;
  watchOrderBook(symbol: string, limit?: number): Promise<CcxtOrderBook>;
  watchOrders(symbol?: string): Promise<CcxtRecord[]>;
  watchMyTrades(symbol?: string): Promise<CcxtRecord[]>;
  createOrder(
    symbol: string,
    type: string,
    side: string,
    amount: unknown,
    price?: unknown,
    params?: Record<string, unknown>,
  ): Promise<CcxtRecord>;
  cancelOrder(id: string | undefined, symbol: string, params?: Record<string, unknown>): Promise<CcxtRecord>;
  fetchOrder(id: string | undefined, symbol: string, params?: Record<string, unknown>): Promise<CcxtRecord>;
  fetchOpenOrders(symbol?: string): Promise<CcxtRecord[]>;
  fetchMyTrades(symbol?: string, since?: number, limit?: number): Promise<CcxtRecord[]>;
  cancelAllOrders(symbol?: string): Promise<unknown>;
  close(): Promise<void>;
  [implicit: string]: unknown;
}

export interface CcxtMarket {
  id: string;
  symbol: string;
  base: string;
  quote: string;
  settle?: string;
  contractSize?: number;
  swap?: boolean;
  linear?: boolean;
  maker?: number;
  taker?: number;
  precision: { amount?: number; price?: number };
  limits: { amount?: { min?: number }; cost?: { min?: number }; leverage?: { max?: number } };
  info: Record<string, unknown>;
}

export interface CcxtOrderBook {
  bids: [number, number][];
  asks: [number, number][];
  nonce?: number;
  timestamp?: number;
}

/** A ccxt unified record (order, trade); profiles read its `info`. */
export interface CcxtRecord {
  id?: string;
  info: Record<string, unknown>;
  [field: string]: unknown;
}

/** Where the kind's config points the adapter (a local emulator, or the testnet). */
export interface CcxtEndpoints {
  testnet: boolean;
  baseUrl?: string;
  wsUrl?: string;
}

/** What a profile needs to read the venue's payloads as ours. */
export interface ParseContext {
  venue: string;
  /** The venue's client order id (Hyperliquid cloid) -> ours, for the orders this port knows. */
  ourClientId(venueClientId: string): ClientOrderId;
  /** The venue's symbol (`BTCUSDT`) -> our instrument id, for the instruments we follow. */
  instrumentOfVenueSymbol(venueSymbol: string): InstrumentId | undefined;
  /** The settle asset of our instruments here (USDT, USDC). */
  settleAsset: string;
  /** Base units per contract on the wire (OKX swaps: 0.01 BTC; 1 where the venue counts base units). */
  contractSize(instrument: InstrumentId): import('@perpmesh/core').Decimal;
}

export interface CcxtVenueProfile {
  /** The ccxt class (`binanceusdm`, `okx`, `hyperliquid`). */
  readonly ccxtId: string;
  readonly capabilities: VenueCapabilities;
  /** Constructor options: builder / integrator fees off, only the market types we trade, no retries. */
  ccxtOptions(): Record<string, unknown>;
  /** Credential fields of the account config -> ccxt's credential properties (`apiKey`, `secret`, ...). */
  credentials(
    fields: Readonly<Record<string, string>>,
    accountConfig: Readonly<Record<string, unknown>>,
  ): Record<string, string>;
  /** Points ccxt at the endpoints (`urls.api` overrides) and at the testnet when asked. */
  pointAt(exchange: CcxtExchange, endpoints: CcxtEndpoints): void;
  /** Our instrument -> ccxt's unified symbol (`BTC-USDT-PERP` -> `BTC/USDT:USDT`). */
  ccxtSymbol(instrument: InstrumentId): string;
  /** Our instrument -> the venue's own symbol in its payloads (`BTCUSDT`, `BTC`). */
  venueSymbol(instrument: InstrumentId): string;
  /**
   * Our client order id in the venue's form: the shared codec of the kind
   * (shared/client-order-id.ts), the one mapping; the adapter remembers hashed ids in a
   * ClientOrderIdMap to name our order on a fill.
   */
  readonly clientOrderIds: ClientOrderIdCodec;
  /**
   * Whether a venue client id marks a fill or order the venue made on its own (Binance
   * `autoclose-<tradeId>` = liquidation, `adl_autoclose-...` = auto-deleveraging); such
   * fills get that origin and an empty client order id.
   */
  venueMadeOrigin?(venueClientId: string): Exclude<FillOrigin, 'order'> | undefined;
  /** Sets an instrument's leverage (whole numbers) on the account, when the venue can. */
  setLeverage?(exchange: CcxtExchange, symbol: string, leverage: number): Promise<void>;
  /**
   * Arms the venue's dead-man switch for `afterMs` (0 disarms), when the venue has one; for
   * the instruments we trade where the venue arms it per symbol (Binance). A venue that takes
   * a deadline on its own clock (Hyperliquid) asks `venueClock` for it.
   */
  scheduleCancelAll?(
    exchange: CcxtExchange,
    afterMs: number,
    instruments: readonly InstrumentId[],
    venueClock: VenueClock,
  ): Promise<void>;
  /** Adjusts the ccxt object after construction (turn off what ccxt does on its own). */
  configure?(exchange: CcxtExchange): void;
  /**
   * The order a create answers with, when the venue's answer is not a whole order
   * (Hyperliquid answers `{resting: {oid}}`): built from the request and that answer.
   */
  orderFromCreate?(
    info: Record<string, unknown>,
    request: {
      clientOrderId: ClientOrderId;
      instrument: InstrumentId;
      side: 'buy' | 'sell';
      type: 'limit' | 'market';
      timeInForce: string;
      price?: import('@perpmesh/core').Decimal;
      size: import('@perpmesh/core').Decimal;
      reduceOnly: boolean;
    },
    ctx: ParseContext,
  ): VenueOrder;
  /** false when a cancel answers with a status only: the adapter then reads the order back. */
  readonly cancelAnswersWithOrder: boolean;
  /** Funding of the instruments, each with the interval the venue states now (read on every call). */
  fetchFunding(
    exchange: CcxtExchange,
    instruments: readonly InstrumentId[],
    ctx: ParseContext,
  ): Promise<FundingInfo[]>;
  /** Funding interval per instrument as the venue states it now (for markets). */
  fetchFundingIntervals(
    exchange: CcxtExchange,
    instruments: readonly InstrumentId[],
    ctx: ParseContext,
  ): Promise<Map<InstrumentId, number>>;
  fetchBalances(exchange: CcxtExchange, ctx: ParseContext): Promise<VenueBalance[]>;
  fetchPositions(exchange: CcxtExchange, ctx: ParseContext): Promise<VenuePosition[]>;
  fetchFundingPayments?(
    exchange: CcxtExchange,
    sinceMs: number,
    ctx: ParseContext,
  ): Promise<VenueFundingPayment[]>;
  /** Params of createOrder beyond symbol/type/side/amount/price: our client id in the venue's form, TIF, reduce-only. */
  orderParams(request: {
    clientOrderId: ClientOrderId;
    type: string;
    timeInForce: string;
    reduceOnly: boolean;
    nonce?: bigint;
  }): Record<string, unknown>;
  /** Params that make fetchOrder / cancelOrder look an order up by our client id. */
  clientIdParams(clientOrderId: ClientOrderId): Record<string, unknown>;
  parseOrder(info: Record<string, unknown>, ctx: ParseContext): VenueOrder;
  /** `clientOrderId` may be absent (REST trade lists of some venues carry only the venue order id). */
  parseFill(
    info: Record<string, unknown>,
    ctx: ParseContext,
  ): Omit<VenueFill, 'clientOrderId'> & { clientOrderId?: ClientOrderId };
  /** Whether a ccxt websocket client URL is this venue's private (user-data) connection. */
  isPrivateWsUrl(url: string): boolean;
  /** A ccxt error's venue code / message -> a stable reject reason, when the profile knows it. */
  rejectReason?(venueMessage: string): string | undefined;
}
