/**
 * Errors of the execution service. Codes map to gRPC statuses at the one edge
 * (runtime's DOMAIN_CODE_TO_GRPC_STATUS): UNAVAILABLE, NOT_FOUND, FAILED_PRECONDITION.
 */
import { PerpmeshError } from '@perpmesh/core';

/** The service cannot take this request now (starting, reconciling, event log down); retry later. */
export class ExecutionUnavailableError extends PerpmeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNAVAILABLE', message, options);
  }
}

/** No such order in the service's state. */
export class OrderNotFoundError extends PerpmeshError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

/**
 * Thrown by a test hook to simulate a process that dies at that point: the engine does
 * nothing more for the request (no event is published), as after a kill -9.
 */
export class SimulatedCrashError extends PerpmeshError {
  constructor(where: string) {
    super('SIMULATED_CRASH', `simulated crash ${where}`);
  }
}

/**
 * A new (not reduce-only) order of a strategy whose kill switch is HALTED or REDUCING
 * (its trading state, as the strategy published it): refused before anything is sent.
 */
export class StrategyHaltedError extends PerpmeshError {
  readonly strategyId: string;
  constructor(strategyId: string, state: string) {
    super(
      'FAILED_PRECONDITION',
      `strategy ${strategyId} is ${state.toUpperCase()}: execution takes only reduce-only orders from it until it is resumed`,
    );
    this.strategyId = strategyId;
  }
}
