/**
 * @perpmesh/strategy: the pure decision code of the strategy service.
 *
 * Each strategy is a `StrategyDecider`: `step(state, input) -> { state, commands, decisions }`
 * with no I/O, no clock (inputs carry `nowMs`) and no randomness, and a serialize /
 * deserialize pair for its state. The runtime feeds it events, publishes its decisions
 * and sends its commands to the execution service. Each strategy lives in
 * `strategies/<name>/` and is listed once in the registry (registry.ts). Test helper:
 * `@perpmesh/strategy/testing`.
 */
export {
  configDecimal,
  configDuration,
  parseWith,
  positiveConfigDuration,
  strategyIdSchema,
} from './codec.js';
export {
  type AnyStrategyDecider,
  makeStrategyDecider,
  parseStrategyConfig,
  STRATEGY_KINDS,
  type StrategyConfig,
} from './config.js';
export {
  type BaseStrategyConfig,
  buildDecider,
  CANCEL_RETRY_MS,
  type DeciderDefinition,
  type DecisionDraft,
  type PlaceRequest,
  type PlaceResult,
  runInputs,
  STATE_FORMAT,
  Step,
  type StrategyKind,
  type StrategyState,
} from './engine.js';
export * from './model.js';
export {
  type AnyStrategyDefinition,
  lookupStrategy,
  registerStrategy,
  type StrategyAccount,
  type StrategyDefinition,
  type StrategyMarket,
  strategyKinds,
} from './registry.js';
export {
  checkOrder,
  consumeToken,
  type OrderRequest,
  type RiskConfig,
  type RiskReasonCode,
  type RiskVerdict,
  refillTokens,
  riskConfigSchema,
} from './risk.js';
export { fundingArbStrategy } from './strategies/funding-arb/definition.js';
export {
  ARB_PHASES,
  type Arb,
  type ArbLeg,
  type ArbPhase,
  arbAttribution,
  breakEvenHours,
  commonLotSize,
  type FundingArbConfig,
  type FundingArbState,
  fundingArbConfigSchema,
  fundingArbDecider,
  type LegMarks,
  legSize,
  parseFundingArbConfig,
  settlementsWithin,
} from './strategies/funding-arb/index.js';
export {
  type GridConfig,
  type GridState,
  gridConfigSchema,
  gridDecider,
  parseGridConfig,
} from './strategies/grid/decider.js';
export { gridStrategy } from './strategies/grid/definition.js';
export {
  midMoveBps,
  parseScalperConfig,
  recordMid,
  type ScalperConfig,
  type ScalperState,
  scalperConfigSchema,
  scalperDecider,
} from './strategies/scalper/decider.js';
export { scalperStrategy } from './strategies/scalper/definition.js';
export {
  CLIENT_ORDER_ID_SEPARATOR,
  clientOrderSeq,
  initialWorld,
  isOpenOrder,
  isOwnClientOrderId,
  nextClientOrderId,
  type OwnOrder,
  openOrders,
  positionSize,
  TRADING_STATES,
  type TradingState,
  type WorldState,
} from './world.js';
