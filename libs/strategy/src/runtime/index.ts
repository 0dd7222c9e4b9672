/**
 * @perpmesh/strategy/runtime: the strategy service's I/O around the pure deciders
 * (`@perpmesh/strategy`): inputs from the bus, state persisted before commands, decisions
 * on strat.{strategy}.{kind}, orders through the execution service (or a dry-run
 * recorder), one active instance per strategy id (lease), StrategyService over gRPC.
 */
export * from './config.js';
export * from './gateway.js';
export * from './inputs.js';
export { LEASE_SCOPE, type LeaseHolder, type LeaseOptions, parseLeaseValue, StrategyLease } from './lease.js';
export {
  decisionToProto,
  LeaseLostError,
  projectionName,
  type RunnerDeps,
  type RunnerState,
  type RunnerStreams,
  StrategyNotRunningError,
  StrategyRunner,
} from './runner.js';
export {
  buildStrategyService,
  type StrategyService,
  type StrategyServiceDeps,
  UnknownStrategyError,
} from './service.js';
