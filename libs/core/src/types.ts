/**
 * Domain vocabulary shared by every lib. String unions (not numeric enums) so that
 * events, logs and configs read as words; proto enums are mapped to these at one
 * boundary (libs/contracts).
 */
export type Side = 'buy' | 'sell';
export type OrderType = 'limit' | 'market';
/** post_only is a time-in-force here (Binance GTX, Hyperliquid Alo). */
export type TimeInForce = 'gtc' | 'ioc' | 'fok' | 'post_only';
export type OrderStatus =
  | 'submitted' // sent to the venue, no answer yet: "in flight"
  | 'accepted'
  | 'rejected'
  | 'partially_filled'
  | 'filled'
  | 'cancel_requested'
  | 'canceled'
  | 'expired';
export type Liquidity = 'maker' | 'taker';
export type PositionSide = 'long' | 'short' | 'flat';

/** Venue ids are ccxt ids (`binanceusdm`, `okx`, `lighter`...) or `paper` / `paper-<name>`. */
export type VenueId = string;
/** `BASE-QUOTE-PERP` for linear perps, `BASE-QUOTE` for spot (see instruments.ts). */
export type InstrumentId = string;
/** Our account name for an account on a venue (config key), never a credential. */
export type AccountId = string;
/** Chosen by the caller of PlaceOrder; the idempotency key of an order. */
export type ClientOrderId = string;
/** The venue's own id for an order. */
export type VenueOrderId = string;
export type TradeId = string;

/** Milliseconds since the Unix epoch. perpmesh uses ms everywhere (ts_event, ts_init). */
export type EpochMs = number;
