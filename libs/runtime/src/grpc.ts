/**
 * What every perpmesh gRPC server shares: health (`grpc.health.v1.Health`, following the
 * service's HealthRegistry), server reflection, bearer-token auth, and the ONE place where
 * domain errors become gRPC statuses.
 *
 * Auth: when a token is configured, every call needs `authorization: Bearer <token>`
 * metadata, compared in constant time; otherwise UNAUTHENTICATED. The health service is
 * exempt: Kubernetes gRPC probes and load balancers cannot send credentials, and it only
 * reveals SERVING / NOT_SERVING. Reflection is not exempt (it describes the whole API).
 */
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ERROR_CODES, isErrorCode, PerpmeshError, ValidationError } from '@perpmesh/core';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { bearerToken } from './bearer.js';
import type { TlsSection } from './config-schemas.js';
import type { HealthRegistry } from './health.js';
import { grpcServerCredentials, listenerExposureProblem, serverUsesTls } from './listeners.js';
import type { Logger } from './logger.js';
import { addLazyReflection } from './reflection.js';
import type { Secret } from './secret.js';

const Status = grpc.status;

// ---- errors -> status --------------------------------------------------------------------------

/**
 * Domain error codes (`PerpmeshError.code`) to gRPC status, read from core's catalog
 * (`ERROR_CODES`). Codes the catalog marks INTERNAL are not here: they, and a code from
 * outside the catalog (which also logs a warning), answer INTERNAL with a reference id.
 */
export const DOMAIN_CODE_TO_GRPC_STATUS: Readonly<Record<string, grpc.status>> = Object.fromEntries(
  Object.entries(ERROR_CODES)
    .filter(([, info]) => info.grpc !== 'INTERNAL')
    .map(([code, info]) => [code, Status[info.grpc]]),
);

/** Throw from a handler to answer with an exact status (nice-grpc's ServerError). */
export class GrpcStatusError extends Error {
  readonly code: grpc.status;
  readonly details: string;
  constructor(code: grpc.status, details: string) {
    super(`${Status[code]}: ${details}`);
    this.name = 'GrpcStatusError';
    this.code = code;
    this.details = details;
  }
}

export interface GrpcErrorMappingOptions {
  logger?: Logger;
  /** Extra or overriding domain-code mappings for this server. */
  codeMap?: Readonly<Record<string, grpc.status>>;
  /** Method path for the log line (`/perpmesh.v1.ExecutionService/PlaceOrder`). */
  method?: string;
}

/**
 * The single mapping from a thrown error to what the client sees. Domain errors keep
 * their message (written for callers, secret-free by contract); anything else becomes
 * INTERNAL with only a reference id, and the full error goes to the log under that id.
 */
export function toGrpcStatus(err: unknown, options: GrpcErrorMappingOptions = {}): grpc.StatusObject {
  const status = statusOf(err, options);
  return { ...status, details: boundedDetails(status.details) };
}

/**
 * Most characters of status details sent back. Details travel in an HTTP/2 trailer: one
 * echoing a 64 KB input overflows the client's header limit, which then gets no answer and
 * loses the connection. Whatever a message quotes, the answer stays small.
 */
export const MAX_STATUS_DETAILS_CHARS = 512;

function boundedDetails(details: string): string {
  if (details.length <= MAX_STATUS_DETAILS_CHARS) return details;
  return `${details.slice(0, MAX_STATUS_DETAILS_CHARS)}... (${details.length - MAX_STATUS_DETAILS_CHARS} more characters cut)`;
}

function statusOf(err: unknown, options: GrpcErrorMappingOptions): grpc.StatusObject {
  const metadata = new grpc.Metadata();
  if (err instanceof GrpcStatusError) return { code: err.code, details: err.details, metadata };
  if (err instanceof ValidationError) {
    metadata.set('perpmesh-field', err.field.slice(0, 128));
    return { code: Status.INVALID_ARGUMENT, details: err.message, metadata };
  }
  if (isAbortError(err)) return { code: Status.CANCELLED, details: 'call cancelled', metadata };
  if (err instanceof PerpmeshError) {
    const code = options.codeMap?.[err.code] ?? DOMAIN_CODE_TO_GRPC_STATUS[err.code];
    if (code !== undefined) {
      metadata.set('perpmesh-error-code', err.code);
      return { code, details: err.message, metadata };
    }
    if (!isErrorCode(err.code)) {
      options.logger?.warn(
        { domainCode: err.code, method: options.method },
        'domain error code is not in the catalog (libs/core/src/error-codes.ts); answered INTERNAL',
      );
    }
  }
  const ref = randomUUID();
  options.logger?.error({ err, ref, method: options.method }, 'gRPC handler failed');
  return { code: Status.INTERNAL, details: `internal error (ref ${ref})`, metadata };
}

function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

// ---- handler wrappers ------------------------------------------------------------------------------

export interface GrpcCallContext {
  /** Aborts when the client cancels, the deadline passes or the connection drops. */
  readonly signal: AbortSignal;
  readonly metadata: grpc.Metadata;
  readonly peer: string;
  /** `/package.Service/Method`. */
  readonly method: string;
  /** The caller's deadline (Infinity: none); a call forwarded to a peer keeps it. */
  readonly deadline: grpc.Deadline;
}

export type UnaryHandler<Req, Res> = (request: Req, ctx: GrpcCallContext) => Promise<Res> | Res;
/**
 * Yields the messages of a server stream. Observe `ctx.signal` while waiting for the next
 * message (e.g. pass it to the subscription): the stream ends when the client goes away.
 */
export type ServerStreamHandler<Req, Res> = (request: Req, ctx: GrpcCallContext) => AsyncIterable<Res>;

export interface GrpcHandlers {
  unary<Req, Res>(handler: UnaryHandler<Req, Res>): grpc.handleUnaryCall<Req, Res>;
  serverStream<Req, Res>(handler: ServerStreamHandler<Req, Res>): grpc.handleServerStreamingCall<Req, Res>;
}

type AnyServerCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>;

/**
 * The abort reason of every ended call. grpc-js emits 'cancelled' when a call's stream closes,
 * after a normal finish too, so a fresh `abort()` would build a DOMException (and capture its
 * stack) per call: measurable CPU on the order path. One shared AbortError, built once.
 */
const CALL_ENDED = new DOMException('the gRPC call ended or was cancelled', 'AbortError');

/**
 * A call's context; its signal aborts when the client goes away or the call's stream closes.
 * `answered()` (unary calls, right before the answer): the stream's closing after the answer
 * no longer aborts the signal. Nothing waits on a call once it is answered, and dispatching
 * that abort to the signal's listeners was ~1.5 % of execution's CPU on the order path.
 */
function callContext(call: AnyServerCall): { ctx: GrpcCallContext; answered: () => void } {
  const abort = new AbortController();
  let open = true;
  call.on('cancelled', () => {
    if (open) abort.abort(CALL_ENDED);
  });
  const ctx: GrpcCallContext = {
    signal: abort.signal,
    metadata: call.metadata,
    peer: call.getPeer(),
    method: call.getPath(),
    deadline: call.getDeadline(),
  };
  return {
    ctx,
    answered: () => {
      open = false;
    },
  };
}

/** Longest text field any request may carry (ids, decimals, reasons are far shorter). */
export const MAX_REQUEST_TEXT_CHARS = 4096;
/** Most elements of any repeated field in a request. */
export const MAX_REQUEST_LIST_LENGTH = 10_000;

const snakeCase = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * The first field of a decoded request over the size bounds, as a ValidationError naming it
 * by its proto name (`client_order_id`, `legs[3].size`); checked before any handler parses
 * the request, so no handler ever sees (or echoes) a huge value.
 */
export function checkRequestFieldSizes(request: unknown, path = ''): void {
  const found = oversizedField(request);
  if (!found) return;
  const full = `${path}${found.suffix}`;
  throw new ValidationError((path ? full : full.replace(/^\./, '')) || 'request', found.problem);
}

/**
 * The first value over the bounds and its path below `value` (`.legs[3].size`). Every
 * request is walked, so the path is only built for the one field found, on the way back up.
 */
function oversizedField(value: unknown): { suffix: string; problem: string } | undefined {
  if (typeof value === 'string') {
    return value.length > MAX_REQUEST_TEXT_CHARS
      ? { suffix: '', problem: `must be at most ${MAX_REQUEST_TEXT_CHARS} characters, got ${value.length}` }
      : undefined;
  }
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return undefined;
  if (Array.isArray(value)) {
    if (value.length > MAX_REQUEST_LIST_LENGTH) {
      return {
        suffix: '',
        problem: `must have at most ${MAX_REQUEST_LIST_LENGTH} elements, got ${value.length}`,
      };
    }
    for (let index = 0; index < value.length; index++) {
      const found = oversizedField(value[index]);
      if (found) return { suffix: `[${index}]${found.suffix}`, problem: found.problem };
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const found = oversizedField((value as Record<string, unknown>)[key]);
    if (found) return { suffix: `.${snakeCase(key)}${found.suffix}`, problem: found.problem };
  }
  return undefined;
}

/**
 * Turns `async (request, ctx) => response` and `async function* (request, ctx)` into
 * grpc-js handlers; every throw goes through `toGrpcStatus`. Requests over the field size
 * bounds (`checkRequestFieldSizes`) are refused before the handler runs.
 */
export function grpcHandlers(options: Omit<GrpcErrorMappingOptions, 'method'> = {}): GrpcHandlers {
  return {
    unary<Req, Res>(handler: UnaryHandler<Req, Res>): grpc.handleUnaryCall<Req, Res> {
      return (call, callback) => {
        const { ctx, answered } = callContext(call as AnyServerCall);
        Promise.resolve()
          .then(() => {
            checkRequestFieldSizes(call.request);
            return handler(call.request, ctx);
          })
          .then(
            (response) => {
              answered();
              callback(null, response);
            },
            (err: unknown) => {
              if (ctx.signal.aborted) return; // nobody is listening any more
              answered();
              callback(toGrpcStatus(err, { ...options, method: ctx.method }));
            },
          );
      };
    },

    serverStream<Req, Res>(handler: ServerStreamHandler<Req, Res>): grpc.handleServerStreamingCall<Req, Res> {
      return (call) => {
        const { ctx } = callContext(call as AnyServerCall);
        void (async () => {
          try {
            checkRequestFieldSizes(call.request);
            for await (const message of handler(call.request, ctx)) {
              if (ctx.signal.aborted) break;
              // Respect backpressure: a slow client must not make us buffer without bound.
              if (!call.write(message)) await drained(call, ctx.signal);
            }
            if (!ctx.signal.aborted) call.end();
          } catch (err) {
            if (ctx.signal.aborted) return;
            call.emit('error', toGrpcStatus(err, { ...options, method: ctx.method }));
          }
        })();
      };
    },
  };
}

function drained(call: grpc.ServerWritableStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      call.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.on('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

// ---- auth ------------------------------------------------------------------------------------------

export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

function isAuthorized(metadata: grpc.Metadata, token: Secret): boolean {
  const values = metadata.get('authorization');
  if (values.length !== 1 || typeof values[0] !== 'string') return false;
  const sent = bearerToken(values[0]);
  return sent !== undefined && token.equals(sent);
}

/** Server interceptor: UNAUTHENTICATED unless `authorization: Bearer <token>` matches. */
export function bearerAuthServerInterceptor(
  token: Secret,
  openServices: readonly string[] = [HEALTH_SERVICE_NAME],
): grpc.ServerInterceptor {
  const openPrefixes = openServices.map((name) => `/${name}/`);
  return (methodDescriptor, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            if (
              openPrefixes.some((p) => methodDescriptor.path.startsWith(p)) ||
              isAuthorized(metadata, token)
            ) {
              nextMetadata(metadata);
              return;
            }
            call.sendStatus({
              code: Status.UNAUTHENTICATED,
              details: 'missing or invalid bearer token: send metadata "authorization: Bearer <token>"',
            });
          },
        }),
    });
}

// ---- client side ----------------------------------------------------------------------------------

/** `authorization: Bearer <token>` metadata for one call. */
export function bearerMetadata(token: Secret, metadata: grpc.Metadata = new grpc.Metadata()): grpc.Metadata {
  metadata.set('authorization', `Bearer ${token.reveal()}`);
  return metadata;
}

/** Call credentials for TLS channels (grpc-js refuses call credentials on plaintext). */
export function bearerCallCredentials(token: Secret): grpc.CallCredentials {
  return grpc.credentials.createFromMetadataGenerator((_params, callback) =>
    callback(null, bearerMetadata(token)),
  );
}

/** Client interceptor adding the bearer token to every call; works on plaintext channels too. */
export function bearerAuthInterceptor(token: Secret): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => next(bearerMetadata(token, metadata), listener),
    });
}

// ---- server -----------------------------------------------------------------------------------------

export interface GrpcServiceRegistration {
  /** From ts-proto (`outputServices=grpc-js`) or `@grpc/proto-loader`. */
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
}

export interface GrpcServerOptions {
  /**
   * Default 127.0.0.1. Any address beyond loopback needs `authToken` or mutual TLS, or
   * the server refuses to start (`hostSetting` names the setting in that error).
   */
  host?: string;
  /** The config setting that chose `host` (e.g. `execution.grpcHost`), for errors. */
  hostSetting?: string;
  /** 0 binds any free port; the bound port is in the result. */
  port: number;
  services: readonly GrpcServiceRegistration[];
  /** The .proto files behind `services`, for reflection. */
  protoFiles: readonly string[];
  /** Import roots for `protoFiles` (e.g. the repo's `proto/`). */
  includeDirs?: readonly string[];
  /** When set, every call but health must carry it as a bearer token. */
  authToken?: Secret;
  logger: Logger;
  /** Health follows `health.isReady()`: SERVING when every component is ready. */
  health: HealthRegistry;
  /** TLS from PEM files (`tls` config section); plaintext when it has no certFile. */
  tls?: Partial<TlsSection> | undefined;
  /** Explicit credentials (win over `tls`). Default: from `tls`, else plaintext. */
  credentials?: grpc.ServerCredentials;
  serverOptions?: grpc.ServerOptions;
}

export interface RunningGrpcServer {
  readonly server: grpc.Server;
  readonly port: number;
  /** `host:port` a client on this machine can dial. */
  readonly address: string;
  /** Fully qualified names of the application services served. */
  readonly serviceNames: readonly string[];
  /** Reports NOT_SERVING, lets calls finish for up to `graceMs`, then cuts the rest. */
  close(graceMs?: number): Promise<void>;
}

export const DEFAULT_GRPC_CLOSE_GRACE_MS = 5_000;

/** Largest request message a server accepts (grpc-js's default is 4 MB; ours are tiny). */
export const MAX_GRPC_RECEIVE_BYTES = 1024 * 1024;

export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger.child({ component: 'grpc' });
  const exposure = listenerExposureProblem({ auth: { token: options.authToken }, tls: options.tls }, [
    { setting: options.hostSetting ?? 'grpcHost', host },
  ]);
  if (exposure) throw new ValidationError(exposure.setting, exposure.message);
  const interceptors = options.authToken ? [bearerAuthServerInterceptor(options.authToken)] : [];
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_GRPC_RECEIVE_BYTES,
    ...options.serverOptions,
    interceptors,
  });

  const serviceNames = options.services.map((s) => serviceNameOf(s.definition));
  for (const service of options.services) server.addService(service.definition, service.implementation);

  // Health: '' is the whole server; each service answers the same (one readiness per process).
  const healthImpl = new HealthImplementation();
  const setServing = (ready: boolean) => {
    const status = ready ? 'SERVING' : 'NOT_SERVING';
    healthImpl.setStatus('', status);
    for (const name of serviceNames) healthImpl.setStatus(name, status);
  };
  setServing(options.health.isReady());
  const unsubscribe = options.health.onReadinessChange((report) => setServing(report.ready));
  healthImpl.addToServer(server);

  // Reflection over the service protos plus health, so `grpcurl list` shows both; the protos
  // are parsed on the first reflection call (reflection.ts says why).
  const healthIncludeDir = dirname(dirname(dirname(healthProtoPath)));
  try {
    addLazyReflection(
      server,
      {
        protoFiles: [...options.protoFiles, 'health/v1/health.proto'],
        includeDirs: [...(options.includeDirs ?? []), healthIncludeDir],
      },
      logger,
    );
  } catch (err) {
    unsubscribe();
    throw err;
  }

  const bindHost = host.includes(':') ? `[${host}]` : host;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const credentials = options.credentials ?? grpcServerCredentials(options.tls);
      server.bindAsync(`${bindHost}:${options.port}`, credentials, (err, bound) =>
        err ? reject(err) : resolve(bound),
      );
    });
  } catch (err) {
    unsubscribe();
    server.forceShutdown();
    throw err;
  }
  const dialHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : bindHost;
  logger.info(
    {
      host,
      port,
      services: serviceNames,
      auth: options.authToken !== undefined,
      tls: options.credentials
        ? 'custom'
        : serverUsesTls(options.tls)
          ? options.tls?.requireClientCert
            ? 'mutual'
            : 'server'
          : 'off',
    },
    'gRPC listening',
  );

  let closing: Promise<void> | undefined;
  return {
    server,
    port,
    address: `${dialHost}:${port}`,
    serviceNames,
    close(graceMs = DEFAULT_GRPC_CLOSE_GRACE_MS) {
      closing ??= new Promise<void>((resolve) => {
        unsubscribe();
        setServing(false);
        const timer = setTimeout(() => {
          logger.warn({ graceMs }, 'gRPC calls still open after grace period; cutting them');
          server.forceShutdown();
          resolve();
        }, graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closing;
    },
  };
}

function serviceNameOf(definition: grpc.ServiceDefinition): string {
  const first = Object.values(definition)[0];
  const match = first ? /^\/([^/]+)\//.exec(first.path) : null;
  if (!match) throw new TypeError('gRPC service definition has no methods');
  return match[1]!;
}
