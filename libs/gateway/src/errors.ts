/**
 * The gateway's errors: small named classes with a stable `code` from core's catalog
 * (libs/core/src/error-codes.ts), which also gives their HTTP status.
 */
import { PerpmeshError } from '@perpmesh/core';

/** A service the gateway reads from did not answer (or refused). Says which, where and why. */
export class BackendUnavailableError extends PerpmeshError {
  readonly service: string;
  readonly address: string;
  /** The gRPC status code name when the call reached the server (e.g. UNAUTHENTICATED). */
  readonly grpcStatus: string | undefined;
  constructor(
    service: string,
    address: string,
    grpcStatus: string | undefined,
    detail: string,
    cause?: unknown,
  ) {
    super(
      'BACKEND_UNAVAILABLE',
      `${service} service at ${address}: ${grpcStatus ? `${grpcStatus}: ` : ''}${detail}`,
      { cause },
    );
    this.service = service;
    this.address = address;
    this.grpcStatus = grpcStatus;
  }
}

/** An action was refused: no token, a wrong token, or actions disabled. */
export class ActionRefusedError extends PerpmeshError {
  readonly status: 401 | 403;
  constructor(status: 401 | 403, message: string) {
    super(status === 401 ? 'UNAUTHENTICATED' : 'ACTIONS_DISABLED', message);
    this.status = status;
  }
}

/** The trading-state switch has nobody to forward to (no strategy service is wired in). */
export class TradingStateUnavailableError extends PerpmeshError {
  constructor(message: string) {
    super('TRADING_STATE_UNAVAILABLE', message);
  }
}
