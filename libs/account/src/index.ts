/**
 * @perpmesh/account: the account service's logic — position projection from the event
 * log, venue balances and positions, drift detection, AccountService over gRPC. The
 * projectors, readings and wire mapping are exported on their own (usable without a
 * running service, e.g. by a replay tool). The deployable is services/account; the
 * embedded runner composes `buildAccountService`.
 */

export {
  AcctPublisher,
  type AcctPublisherOptions,
} from './acct-publisher.js';
export * from './components.js';
export {
  ACCOUNT_DEFAULTS,
  ACCOUNT_OWNERSHIPS,
  ACCOUNT_SERVICE,
  type AccountOwnership,
  type AccountSection,
  type AccountSettings,
  type AccountSettingsInput,
  accountSectionFields,
  accountSettingsOf,
  DEFAULT_ACCOUNT_GRPC_PORT,
  DEFAULT_ACCOUNT_HTTP_PORT,
  resolveAccountSettings,
} from './config.js';
export {
  BalanceDriftDetector,
  type BalanceObservation,
  DriftDetector,
  type DriftObservation,
  type DriftReport,
  type DriftVerdict,
  type PositionSizeObservation,
  positionSizeObservations,
} from './drift.js';
export { AccountNotOwnedError, AccountStandbyError, BalancesUnavailableError } from './errors.js';
export { type AccountMetrics, accountMetrics } from './metrics.js';
export { ACCOUNT_MEMBER_SCOPE, ACCOUNT_OWNER_SCOPE } from './per-account.js';
export {
  accountKey,
  applyFillToProjection,
  applyFundingToProjection,
  emptyFundingProjection,
  emptyPositionsProjection,
  type FundingProjection,
  type MergedPosition,
  mergedPosition,
  type PositionsProjection,
  type ProjectedFill,
  type ProjectedFunding,
  positionKey,
  positionStateOf,
  projectedKeys,
  RECENT_FACTS_KEPT,
  type StoredFunding,
  type StoredPosition,
} from './projection.js';
export {
  type AccountProjectionKind,
  type AccountProjectors,
  type AccountProjectorsOptions,
  accountProjectionNames,
  evolveFunding,
  evolvePositions,
  type OwnedAccount,
  observedProjectionStore,
  type ProjectorEvents,
  runAccountProjectors,
} from './projectors.js';
export {
  type AccountStateSource,
  type AccountSummaryInputs,
  type AccountSummaryReading,
  accountSummaryReading,
  type BalanceReading,
  balanceReading,
  type DriftFact,
  type Freshness,
  type FundingPaymentFact,
  freshness,
  latestOf,
  type PositionReading,
  type ProjectedPositionInputs,
  projectedPositionReading,
  type SummaryTotals,
  summaryTotals,
  venuePositionReading,
} from './readings.js';
export {
  ACCOUNT_LEASE_SCOPE,
  type AccountFilter,
  type AccountLeaseDeps,
  type AccountService,
  type AccountServiceDeps,
  accountComponents,
  accountGrpcOf,
  buildAccountService,
} from './service.js';
export { AccountVenueState, type Readiness } from './venue-state.js';
export {
  balanceToProto,
  balanceViewToProto,
  driftToProto,
  fillFromWire,
  fundingFromWire,
  fundingPaymentToProto,
  positionToProto,
  positionViewToProto,
  summaryToProto,
  totalsToProto,
} from './wire.js';
