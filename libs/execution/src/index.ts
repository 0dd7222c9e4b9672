/**
 * @perpmesh/execution: the execution service's logic — validated, idempotent, write-ahead
 * order placement with nonces, the order state machine fed by every venue channel, restart
 * reconciliation, and the ExecutionService gRPC implementation. See README.md.
 */

export * from './components.js';
export * from './config.js';
export {
  type ExecStreamItem,
  ExecutionEngine,
  type ExecutionEngineDeps,
  type ExecutionTestHooks,
  IDEMPOTENCY_SCOPE,
  isStaleNonceRejection,
  type OrderFilter,
  type OrderLocator,
  type PlaceOrderResult,
} from './engine.js';
export { ExecutionUnavailableError, OrderNotFoundError, SimulatedCrashError } from './errors.js';
export { executionGrpcImplementation } from './grpc.js';
export { EXECUTION_DEFAULTS, type ExecutionOptions, resolveExecutionOptions } from './options.js';
export type { OrderView } from './orders.js';
export { buildExecutionService, type ExecutionService, type ExecutionServiceDeps } from './service.js';
export {
  checkOrderAgainstMarket,
  orderRequestFingerprint,
  type PlaceOrderCommand,
  placeOrderCommandFromProto,
} from './validation.js';
export { CANCEL_REJECTED_REASON_PREFIX, execFilter, orderToProto } from './wire.js';
