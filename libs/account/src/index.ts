/**
 * @perpmesh/account: the account service's logic — position projection from the event
 * log, venue balances and positions, drift detection, AccountService over gRPC.
 * The deployable is services/account; the embedded runner composes `buildAccountService`.
 */

export * from './components.js';
export {
  ACCOUNT_DEFAULTS,
  ACCOUNT_SERVICE,
  type AccountSection,
  type AccountSettings,
  type AccountSettingsInput,
  accountSectionFields,
  accountSettingsOf,
  DEFAULT_ACCOUNT_GRPC_PORT,
  DEFAULT_ACCOUNT_HTTP_PORT,
  resolveAccountSettings,
} from './config.js';
export { DriftDetector, type DriftObservation, type DriftReport, type DriftVerdict } from './drift.js';
export { AccountStandbyError, BalancesUnavailableError } from './errors.js';
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
  ACCOUNT_LEASE_SCOPE,
  type AccountFilter,
  type AccountLeaseDeps,
  type AccountService,
  type AccountServiceDeps,
  accountComponents,
  buildAccountService,
  fillFromWire,
  fundingFromWire,
} from './service.js';
export {
  type AccountStateSource,
  type AccountSummaryReading,
  type BalanceReading,
  type Freshness,
  type PositionReading,
  type SummaryTotals,
  summaryTotals,
} from './views.js';
