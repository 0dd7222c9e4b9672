/**
 * @perpmesh/execution: the execution service's logic — validated, idempotent, write-ahead
 * order placement with nonces, the order state machine fed by every venue channel, restart
 * reconciliation, and the ExecutionService gRPC implementation. See README.md.
 */

export {
  type Claim,
  decodeClaim,
  EXEC_MARK_WITH_WRITE_AHEAD_ENV,
  encodeClaim,
  IDEMPOTENCY_SCOPE,
} from './claims.js';
export * from './components.js';
export * from './config.js';
export {
  ExecutionEngine,
  type ExecutionEngineDeps,
  type ExecutionTestHooks,
  type OrderFilter,
  type OrderLocator,
  type PlaceOrderResult,
} from './engine.js';
export {
  ExecutionUnavailableError,
  OrderNotFoundError,
  SimulatedCrashError,
  StrategyHaltedError,
} from './errors.js';
export {
  EVENT_LOG_COMPONENT,
  EXEC_PUBLISH_BATCHING_ENV,
  type ExecFoldTarget,
  ExecPublisher,
  type ExecPublisherDeps,
  type ExecStreamItem,
  execStreamItemOf,
  foldExecEnvelope,
  ordersBehindTheLog,
  readExecLookback,
} from './exec-log.js';
export {
  DEFAULT_EXEC_FORWARD_TIMEOUT_MS,
  EXEC_ADDRESS_SCOPE,
  EXEC_FORWARDED_METADATA,
  type ExecutionForwarding,
  ExecutionRouter,
  isForwardedExecutionCall,
  type SignedCallRouter,
} from './forwarding.js';
export { executionGrpcImplementation } from './grpc.js';
export {
  type ExecutionMetrics,
  executionMetrics,
  ORDER_STAGES,
  type OrderStage,
  STAGE_BUCKETS,
} from './metrics.js';
export {
  NONCE_KEYS_COMPONENT,
  NONCE_MEMBER_SCOPE,
  NONCE_OWNER_SCOPE,
  type NonceKeyGate,
  NonceKeyMovingError,
  NonceKeyOwnedElsewhereError,
  NonceKeyOwnership,
  type NonceKeyOwnershipOptions,
  type NonceKeyPort,
  type NonceKeyRoute,
  type NonceKeyView,
  needsOneSender,
  nonceKeyName,
  routeOf,
  usableHere,
} from './nonce-ownership.js';
export {
  isStaleNonceRejection,
  NonceSender,
  type NonceSenderDeps,
  type NonceSigningPort,
  NotSentError,
  resyncNonceFromVenue,
  type SendingPort,
} from './nonce-sender.js';
export { EXECUTION_DEFAULTS, type ExecutionOptions, resolveExecutionOptions } from './options.js';
export { newTrackedOrder, OrderTable, type OrderView, type TrackedOrder } from './orders.js';
export {
  type FetchedOrderVerdict,
  fetchedOrderVerdict,
  fetchVenueOrder,
  matchOpenOrders,
  openOrdersNotListed,
  orderRefOf,
  type ReconcileIo,
  reconcileOrders,
} from './reconciliation.js';
export {
  buildExecutionService,
  type ExecutionNonceLease,
  type ExecutionService,
  type ExecutionServiceDeps,
} from './service.js';
export {
  checkOrderAgainstCapabilities,
  checkOrderAgainstMarket,
  checkOrderLimits,
  DEFAULT_ORDER_LIMITS,
  type OrderLimits,
  orderRequestFingerprint,
  type PlaceOrderCommand,
  placeOrderCommandFromProto,
} from './validation.js';
export { type BatchingPort, EXEC_VENUE_BATCHING_ENV, VenueOrderBatcher } from './venue-batcher.js';
export {
  type AccountSetting,
  accountSettingsFor,
  type DeadManSwitchSettings,
  deadManSwitchPlan,
  type StrategyTradingState,
  StrategyTradingStates,
  strategyOfClientOrderId,
  tradingStateOfDecision,
} from './venue-controls.js';
export {
  isVenueMadeFill,
  type OrderTransition,
  orderEventOfVenueFill,
  orderEventsOfVenueOrder,
  orderViewFromVenue,
  type ReportTarget,
  reportIds,
  reportTarget,
  transitionOrder,
  type VenueReport,
  venueIsAheadOnFills,
  venueOrderIdHintOf,
  venueReportOf,
} from './venue-reports.js';
export {
  CANCEL_REJECTED_REASON_PREFIX,
  type EnvelopeContext,
  execFilter,
  orderToProto,
  venueFillToProto,
  venueMadeFillEnvelope,
} from './wire.js';
