/**
 * What can go wrong in an operator command, as one line for a human and an exit code for
 * a script. gRPC statuses become readable messages here, and only here.
 *
 * Exit codes:
 *   0  done
 *   1  the command ran and the answer is "no": a service refused the request (bad
 *      argument, not found...), something is not ready, the operator declined
 *   2  the command could not run: a service is not reachable or did not answer, the
 *      token is missing or wrong, the config or a flag is invalid
 */
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { type ErrorCode, PerpmeshError } from '@perpmesh/core';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_UNAVAILABLE = 2;

/** An error the CLI prints as one line (no stack) and exits with `exitCode`. */
export class CliError extends PerpmeshError {
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, exitCode: number, options?: { cause?: unknown }) {
    super(code, message, options);
    this.exitCode = exitCode;
  }
}

/** The service does not answer at its address: not running, wrong address, or hung. */
export class ServiceUnreachableError extends CliError {
  readonly service: string;
  readonly address: string;
  constructor(
    service: string,
    address: string,
    why: string,
    options?: { cause?: unknown; addressFlag?: string },
  ) {
    super(
      'SERVICE_UNREACHABLE',
      `cannot reach the ${service} service at ${address} (${why}): is it running? ` +
        `Start it with \`perpmesh start\`, or pass ${options?.addressFlag ?? `--${service}`} host:port`,
      EXIT_UNAVAILABLE,
      options,
    );
    this.service = service;
    this.address = address;
  }
}

/** The service refused our credentials. */
export class ServiceAuthError extends CliError {
  constructor(service: string, address: string, tokenSent: boolean, options?: { cause?: unknown }) {
    super(
      'SERVICE_UNAUTHENTICATED',
      tokenSent
        ? `the ${service} service at ${address} refused the token: check PERPMESH_TOKEN (or auth.token in the config)`
        : `the ${service} service at ${address} requires a token: set PERPMESH_TOKEN (or auth.token in the config)`,
      EXIT_UNAVAILABLE,
      options,
    );
  }
}

/** The service answered with an error status: the request itself was refused or failed. */
export class ServiceCallError extends CliError {
  readonly grpcCode: number;
  constructor(message: string, grpcCode: number, options?: { cause?: unknown }) {
    super('SERVICE_CALL_FAILED', message, EXIT_FAILED, options);
    this.grpcCode = grpcCode;
  }
}

/** The first line of a message, without a trailing period, for "why" parentheses. */
function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').trim();
}

// grpc-js says this when the channel never connected (refused, no route, DNS failure).
const NO_CONNECTION = /No connection established|failed to connect|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH/i;

function connectReason(details: string): string {
  if (/ECONNREFUSED/.test(details)) return 'connection refused';
  if (/ENOTFOUND/.test(details)) return 'host not found';
  if (/EHOSTUNREACH/.test(details)) return 'host unreachable';
  return 'no connection';
}

export interface GrpcFailureContext {
  service: string;
  address: string;
  /** `ListOpenOrders`, for messages. */
  method: string;
  /** False when the channel never reached READY: the failure is about connecting. */
  connected: boolean;
  tokenSent: boolean;
  timeoutMs: number;
  /** The flag that sets this service's address, for the hint. */
  addressFlag?: string;
}

/** Maps a failed call to the error the CLI reports. */
export function cliErrorFromGrpc(err: ServiceError, ctx: GrpcFailureContext): CliError {
  const details = firstLine(err.details ?? err.message ?? '');
  const who = `the ${ctx.service} service at ${ctx.address}`;
  switch (err.code) {
    case GrpcStatus.UNAVAILABLE:
      if (!ctx.connected || NO_CONNECTION.test(details)) {
        return new ServiceUnreachableError(ctx.service, ctx.address, connectReason(details), {
          cause: err,
          ...(ctx.addressFlag ? { addressFlag: ctx.addressFlag } : {}),
        });
      }
      return new ServiceCallError(`${who} is unavailable: ${details}`, err.code, { cause: err });
    case GrpcStatus.DEADLINE_EXCEEDED:
      if (!ctx.connected) {
        return new ServiceUnreachableError(
          ctx.service,
          ctx.address,
          `no connection within ${ctx.timeoutMs} ms`,
          { cause: err, ...(ctx.addressFlag ? { addressFlag: ctx.addressFlag } : {}) },
        );
      }
      return new CliError(
        'SERVICE_TIMEOUT',
        `${who} did not answer ${ctx.method} within ${ctx.timeoutMs} ms (raise --timeout?)`,
        EXIT_UNAVAILABLE,
        { cause: err },
      );
    case GrpcStatus.UNAUTHENTICATED:
    case GrpcStatus.PERMISSION_DENIED:
      return new ServiceAuthError(ctx.service, ctx.address, ctx.tokenSent, { cause: err });
    case GrpcStatus.INVALID_ARGUMENT: {
      // The server names the field in the message ("instrument: ...") and in metadata.
      const field = err.metadata?.get('perpmesh-field')[0]?.toString();
      const text = field && !details.startsWith(`${field}:`) ? `${field}: ${details}` : details;
      return new ServiceCallError(`invalid argument: ${text}`, err.code, { cause: err });
    }
    case GrpcStatus.NOT_FOUND:
      return new ServiceCallError(`not found: ${details}`, err.code, { cause: err });
    case GrpcStatus.FAILED_PRECONDITION:
      return new ServiceCallError(`refused by ${ctx.service}: ${details}`, err.code, { cause: err });
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return new ServiceCallError(`${who} is rate limited or out of capacity: ${details}`, err.code, {
        cause: err,
      });
    case GrpcStatus.UNIMPLEMENTED:
      return new ServiceCallError(
        `${who} does not implement ${ctx.method}: is it another version of perpmesh, or another service?`,
        err.code,
        { cause: err },
      );
    case GrpcStatus.UNKNOWN:
      return new ServiceCallError(`outcome unknown (${ctx.method}): ${details}`, err.code, { cause: err });
    case GrpcStatus.INTERNAL:
      return new ServiceCallError(`internal error in ${who}: ${details} (see its log)`, err.code, {
        cause: err,
      });
    default:
      return new ServiceCallError(
        `${ctx.method} failed on ${who}: ${GrpcStatus[err.code] ?? err.code}: ${details}`,
        err.code,
        { cause: err },
      );
  }
}
