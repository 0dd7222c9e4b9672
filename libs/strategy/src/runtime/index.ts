/**
 * @perpmesh/strategy/runtime: the strategy service's I/O around the pure deciders
 * (`@perpmesh/strategy`): inputs from the bus, state persisted before commands, decisions
 * on strat.{strategy}.{kind}, orders through the execution service (or a dry-run
 * recorder), one active instance per strategy id (a `Lease` from @perpmesh/state), StrategyService over gRPC.
 * `StrategyStepper` is the state + applied sequences + outbox + save part alone (no lease,
 * timer or tail): what a replay feeds from the log; `StrategyRunner` wires it to the live world.
 */

export * from './alarm-webhook.js';
export * from './components.js';
export * from './config.js';
export * from './gateway.js';
export * from './inputs.js';
export * from './journal.js';
export * from './metrics.js';
export {
  type RunnerDeps,
  type RunnerState,
  type RunnerStopResult,
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
export {
  decisionToProto,
  LeaseLostError,
  type OutboxEntry,
  type PersistedRecord,
  projectionName,
  type StepOutcome,
  type StepperDeps,
  StrategyStepper,
} from './stepper.js';
