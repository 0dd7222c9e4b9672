/**
 * Domain errors: small named classes with a stable `code` and an optional `cause`.
 * Codes come from the catalog (error-codes.ts); only the edges (gRPC servers, HTTP
 * gateway, CLI) map them to wire statuses, from that catalog.
 * Messages never carry secret values: callers pass field names, not credentials.
 */
import type { ErrorCode } from './error-codes.js';

export class PerpmeshError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bad input. `field` is the dotted path of the offending field (e.g. `order.price`). */
export class ValidationError extends PerpmeshError {
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', `${field}: ${message}`, options);
    this.field = field;
  }
}
