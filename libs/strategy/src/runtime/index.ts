/**
 * @perpmesh/strategy/runtime: the strategy service's I/O around the pure deciders
 * (`@perpmesh/strategy`): inputs from the bus, state persisted before commands, decisions
 * on strat.{strategy}.{kind}, orders through the execution service (or a dry-run
 * recorder), one active instance per strategy id (a `Lease` from @perpmesh/state), StrategyService over gRPC.
 */

export * from './components.js';
export * from './config.js';
export * from './gateway.js';
export * from './inputs.js';
export {
  decisionToProto,
  LeaseLostError,
  projectionName,
  type RunnerDeps,
  type RunnerState,
  type RunnerStreams,
  STRATEGY_LEASE_SCOPE,
  StrategyNotRunningError,
  StrategyRunner,
} from './runner.js';
export {
  buildStrategyService,
  type StrategyService,
  type StrategyServiceDeps,
  UnknownStrategyError,
} from './service.js';
