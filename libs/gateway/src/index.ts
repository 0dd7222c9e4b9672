/**
 * @perpmesh/gateway: the HTTP/JSON + server-sent-events API over the bus and the
 * services' gRPC, and the live dashboard it serves. It holds no state of its own.
 */
export { type ActionPolicy, authorizeAction, loadOrCreateTokenFile } from './auth.js';
export {
  type GatewayBackends,
  type GrpcBackendAddresses,
  GrpcBackends,
  type GrpcBackendsOptions,
} from './backends.js';
export {
  type BuildGatewayOptions,
  buildGateway,
  GATEWAY_FEED_COMPONENT,
  gatewayFeedComponent,
} from './components.js';
export {
  DEFAULT_GATEWAY_HTTP_PORT,
  GATEWAY_SERVICE,
  type GatewayConfigFile,
  type GatewaySection,
  gatewayConfigSchema,
  gatewaySectionFields,
  LOCAL_TOKEN_FILE,
} from './config.js';
export { ActionRefusedError, BackendUnavailableError, TradingStateUnavailableError } from './errors.js';
export {
  EXPLAIN_ROUTE,
  type ExplainedTimeline,
  type ExplainSource,
  explainTargetOf,
} from './explain.js';
export {
  EventFeed,
  type EventFeedOptions,
  FEED_SUBJECT_KINDS,
  type FeedListener,
  type StrategySeen,
} from './feed.js';
export {
  DASHBOARD_DIR,
  Gateway,
  type GatewayOptions,
  MAX_CONCURRENT_EXPLAINS,
  mountGateway,
} from './gateway.js';
export {
  MAX_REASON_CHARS,
  parseTradingStateChange,
  TRADING_STATES,
  type TradingState,
  type TradingStateChange,
  type TradingStateService,
} from './trading-state.js';
// The funding-arb book section of the read model (CLI `arbs`, dashboard /api/arbs).
export {
  ARB_BOOK_STRATEGY_KIND,
  type ArbAlarmRow,
  type ArbAttributionRow,
  type ArbBookView,
  type ArbLegRow,
  type ArbRow,
  type ArbStrategyRow,
  arbBookView,
  type BalanceRow,
  balanceRows,
  balancesView,
  byVenueAccount,
  type ComponentView,
  emulatedVenueIds,
  type FundingCell,
  type FundingMatrix,
  type FundingReadingRow,
  type FundingRow,
  type FundingSettlementRow,
  type FundingSpread,
  fundingMatrix,
  fundingRows,
  isFlatPosition,
  LIQUIDATION_DISTANCE_PLACES,
  liquidationDistance,
  type OrderRow,
  orderRow,
  orderRows,
  ordersView,
  type PositionRow,
  portComponentView,
  positionRows,
  positionsView,
  type StateSourceWord,
  summaryView,
  type VenueComponentRow,
  type VenueStatusRow,
  type VenueView,
  venueStatusRow,
  venueStatusRows,
  venuesView,
} from './views.js';
export { type EventJson, enumWords, eventJson, payloadJson } from './wire-json.js';
