/**
 * The gRPC helpers against a real grpc-js server on 127.0.0.1 serving a test-only Echo
 * service (fixtures/echo.proto).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { type ErrorCode, PerpmeshError, ValidationError } from '@perpmesh/core';
import { service as healthServiceDefinition } from 'grpc-health-check';
import {
  bearerAuthInterceptor,
  bearerMetadata,
  grpcHandlers,
  HEALTH_SERVICE_NAME,
  type RunningGrpcServer,
  startGrpcServer,
} from './grpc.js';
import { HealthRegistry } from './health.js';
import { createLogger } from './logger.js';
import { Secret } from './secret.js';

const ECHO_PROTO = new URL('./fixtures/echo.proto', import.meta.url).pathname;
const ECHO_SERVICE = 'perpmesh.runtimetest.v1.EchoService';
const require = createRequire(import.meta.url);
const reflectionProto = (version: 'v1' | 'v1alpha') =>
  join(dirname(require.resolve('@grpc/reflection')), `../proto/grpc/reflection/${version}/reflection.proto`);

interface EchoRequest {
  message: string;
  failWith: string;
}
interface EchoResponse {
  message: string;
  index: number;
}
interface EchoStreamRequest {
  message: string;
  count: number;
}

type Ctor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => grpc.Client;

const echoPackage = protoLoader.loadSync(ECHO_PROTO, { defaults: true });
const EchoClient = grpc.loadPackageDefinition(echoPackage).perpmesh as unknown as {
  runtimetest: { v1: { EchoService: Ctor & { service: grpc.ServiceDefinition } } };
};
const EchoService = EchoClient.runtimetest.v1.EchoService;
const HealthClient = grpc.makeGenericClientConstructor(healthServiceDefinition, 'Health') as unknown as Ctor;
const reflectionClient = (version: 'v1' | 'v1alpha') =>
  (
    grpc.loadPackageDefinition(protoLoader.loadSync(reflectionProto(version), { defaults: true }))
      .grpc as unknown as {
      reflection: Record<string, { ServerReflection: Ctor }>;
    }
  ).reflection[version]?.ServerReflection as Ctor;
const ReflectionClient = reflectionClient('v1');
const ReflectionV1AlphaClient = reflectionClient('v1alpha');

/** One request on a ServerReflectionInfo stream of `Client`; its one answer. */
async function reflect(
  Client: Ctor,
  address: string,
  request: Record<string, string>,
  metadata: grpc.Metadata,
): Promise<Record<string, unknown>> {
  const client = new Client(address, grpc.credentials.createInsecure());
  try {
    const call = (
      client as unknown as {
        serverReflectionInfo(m: grpc.Metadata): grpc.ClientDuplexStream<unknown, unknown>;
      }
    ).serverReflectionInfo(metadata);
    const response = new Promise<Record<string, unknown>>((resolve, reject) => {
      call.once('data', (data) => resolve(data as Record<string, unknown>));
      call.once('error', reject);
    });
    call.write(request);
    call.end();
    return await response;
  } finally {
    client.close();
  }
}

function captureLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ service: 'grpc-test', level: 'debug', destination }), lines };
}

function unary<Res>(client: grpc.Client, method: string, request: unknown, metadata = new grpc.Metadata()) {
  return new Promise<Res>((resolve, reject) => {
    (client as unknown as Record<string, (...args: unknown[]) => unknown>)[method]!.call(
      client,
      request,
      metadata,
      (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res)),
    );
  });
}

function rejectsWith(promise: Promise<unknown>, code: grpc.status, details?: RegExp) {
  return assert.rejects(promise, (err: grpc.ServiceError) => {
    assert.equal(
      err.code,
      code,
      `expected ${grpc.status[code]}, got ${grpc.status[err.code]}: ${err.details}`,
    );
    if (details) assert.match(err.details, details);
    return true;
  });
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('startGrpcServer with a token', () => {
  const token = new Secret('runtime-test-token');
  const health = new HealthRegistry();
  const { logger, lines } = captureLogger();
  const streamAborted = deferred<boolean>();
  let server: RunningGrpcServer;
  let authed: grpc.Client;
  let anonymous: grpc.Client;

  before(async () => {
    health.notReady('echo backend', 'echo backend: warming up');
    const handlers = grpcHandlers({ logger });
    const implementation = {
      echo: handlers.unary<EchoRequest, EchoResponse>(async (request) => {
        switch (request.failWith) {
          case 'validation':
            throw new ValidationError('message', 'must not be empty');
          case 'not_found':
            throw new PerpmeshError('ORDER_NOT_FOUND', 'order c-42 not found on paper');
          case 'unmapped':
            // A code from outside the catalog (a peer built from other sources, a cast).
            throw new PerpmeshError('SOMETHING_NEW' as ErrorCode, 'internal detail: shard 7 of cluster blue');
          case 'internal':
            throw new Error('connect ECONNREFUSED 10.1.2.3:6379 password=hunter2');
          default:
            return { message: request.message, index: 0 };
        }
      }),
      echoStream: handlers.serverStream<EchoStreamRequest, EchoResponse>(async function* (request, ctx) {
        // True only with an AbortError reason: what code handed this signal (fetch, timers) rejects with.
        const onAbort = () => streamAborted.resolve((ctx.signal.reason as Error).name === 'AbortError');
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        for (let index = 0; request.count === 0 || index < request.count; index++) {
          if (ctx.signal.aborted) return;
          yield { message: request.message, index };
          await new Promise((r) => setTimeout(r, 1));
        }
      }),
    };
    server = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      services: [{ definition: EchoService.service, implementation }],
      protoFiles: [ECHO_PROTO],
      authToken: token,
      logger,
      health,
    });
    authed = new EchoService(server.address, grpc.credentials.createInsecure(), {
      interceptors: [bearerAuthInterceptor(token)],
    });
    anonymous = new EchoService(server.address, grpc.credentials.createInsecure());
  });

  after(async () => {
    authed.close();
    anonymous.close();
    await server.close(1_000);
  });

  test('binds a free port and names its services', () => {
    assert.ok(server.port > 0);
    assert.deepEqual(server.serviceNames, [ECHO_SERVICE]);
  });

  test('a call without the token is UNAUTHENTICATED', async () => {
    await rejectsWith(
      unary(anonymous, 'echo', { message: 'hi' }),
      grpc.status.UNAUTHENTICATED,
      /bearer token/,
    );
  });

  test('a wrong token, or a token without the Bearer scheme, is UNAUTHENTICATED', async () => {
    const wrong = bearerMetadata(new Secret('runtime-test-tokeX'));
    await rejectsWith(unary(anonymous, 'echo', { message: 'hi' }, wrong), grpc.status.UNAUTHENTICATED);
    const noScheme = new grpc.Metadata();
    noScheme.set('authorization', token.reveal());
    await rejectsWith(unary(anonymous, 'echo', { message: 'hi' }, noScheme), grpc.status.UNAUTHENTICATED);
  });

  test('the right token passes, by interceptor or by metadata (scheme case-insensitive)', async () => {
    assert.deepEqual(await unary(authed, 'echo', { message: 'hi' }), { message: 'hi', index: 0 });
    const lower = new grpc.Metadata();
    lower.set('authorization', `bearer ${token.reveal()}`);
    assert.deepEqual(await unary(anonymous, 'echo', { message: 'yo' }, lower), { message: 'yo', index: 0 });
  });

  test('ValidationError becomes INVALID_ARGUMENT naming the field', async () => {
    await assert.rejects(
      unary(authed, 'echo', { message: '', failWith: 'validation' }),
      (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
        assert.equal(err.details, 'message: must not be empty');
        assert.deepEqual(err.metadata.get('perpmesh-field'), ['message']);
        return true;
      },
    );
  });

  test('domain codes map through the table and keep their message', async () => {
    await assert.rejects(unary(authed, 'echo', { failWith: 'not_found' }), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.NOT_FOUND);
      assert.equal(err.details, 'order c-42 not found on paper');
      assert.deepEqual(err.metadata.get('perpmesh-error-code'), ['ORDER_NOT_FOUND']);
      return true;
    });
  });

  test('unknown errors become INTERNAL with only a reference; the log has the rest', async () => {
    let ref = '';
    await assert.rejects(unary(authed, 'echo', { failWith: 'internal' }), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.INTERNAL);
      const match = /^internal error \(ref ([0-9a-f-]{36})\)$/.exec(err.details);
      assert.ok(match, err.details);
      ref = match[1]!;
      assert.doesNotMatch(err.details, /hunter2|10\.1\.2\.3|ECONNREFUSED/);
      return true;
    });
    const logged = lines.find((l) => l.ref === ref);
    assert.ok(logged, 'the failure is logged under its ref');
    assert.equal(logged.method, `/${ECHO_SERVICE}/Echo`);
  });

  test('a domain error with a code outside the catalog is INTERNAL too, and warns', async () => {
    await rejectsWith(
      unary(authed, 'echo', { failWith: 'unmapped' }),
      grpc.status.INTERNAL,
      /^internal error \(ref /,
    );
    assert.ok(lines.some((l) => l.domainCode === 'SOMETHING_NEW' && l.level === 'warn'));
  });

  test('server streams deliver every message and end', async () => {
    const call = (
      authed as unknown as { echoStream(r: EchoStreamRequest): grpc.ClientReadableStream<EchoResponse> }
    ).echoStream({ message: 'tick', count: 3 });
    const received: EchoResponse[] = [];
    for await (const message of call) received.push(message as EchoResponse);
    assert.deepEqual(
      received.map((m) => m.index),
      [0, 1, 2],
    );
  });

  test('a client cancel aborts the stream handler signal', async () => {
    const call = (
      authed as unknown as { echoStream(r: EchoStreamRequest): grpc.ClientReadableStream<EchoResponse> }
    ).echoStream({ message: 'forever', count: 0 });
    let seen = 0;
    const ended = new Promise<grpc.status>((resolve) =>
      call.on('error', (err: grpc.ServiceError) => resolve(err.code)),
    );
    await new Promise<void>((resolve) => {
      call.on('data', () => {
        seen++;
        if (seen === 2) {
          call.cancel();
          resolve();
        }
      });
    });
    assert.equal(await ended, grpc.status.CANCELLED);
    assert.equal(await streamAborted.promise, true);
  });

  test('health needs no token and follows the HealthRegistry', async () => {
    const client = new HealthClient(server.address, grpc.credentials.createInsecure());
    try {
      const check = (service: string) => unary<{ status: string }>(client, 'check', { service });
      assert.equal((await check('')).status, 'NOT_SERVING');
      assert.equal((await check(ECHO_SERVICE)).status, 'NOT_SERVING');
      health.ready('echo backend');
      assert.equal((await check('')).status, 'SERVING');
      assert.equal((await check(ECHO_SERVICE)).status, 'SERVING');
      health.notReady('echo backend', 'echo backend: reconnecting');
      assert.equal((await check('')).status, 'NOT_SERVING');
      health.ready('echo backend');
    } finally {
      client.close();
    }
  });

  test('reflection lists the services (with the token) and describes them, v1 and v1alpha', async () => {
    await rejectsWith(
      reflect(ReflectionClient, server.address, { listServices: '*' }, new grpc.Metadata()),
      grpc.status.UNAUTHENTICATED,
    );
    for (const Client of [ReflectionClient, ReflectionV1AlphaClient]) {
      const listed = await reflect(Client, server.address, { listServices: '*' }, bearerMetadata(token));
      const names = (listed.listServicesResponse as { service: Array<{ name: string }> }).service.map(
        (s) => s.name,
      );
      assert.ok(names.includes(ECHO_SERVICE), names.join(', '));
      assert.ok(names.includes(HEALTH_SERVICE_NAME), names.join(', '));

      const described = await reflect(
        Client,
        server.address,
        { fileContainingSymbol: ECHO_SERVICE },
        bearerMetadata(token),
      );
      const files = (described.fileDescriptorResponse as { fileDescriptorProto: Buffer[] })
        .fileDescriptorProto;
      assert.ok(files.length > 0);
      assert.ok(Buffer.concat(files).includes('EchoStream'));
    }
  });
});

describe('startGrpcServer without a token', () => {
  test('calls need no metadata; close() reports NOT_SERVING and stops', async () => {
    const { logger } = captureLogger();
    const health = new HealthRegistry();
    const server = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      services: [
        {
          definition: EchoService.service,
          implementation: {
            echo: grpcHandlers().unary<EchoRequest, EchoResponse>((r) => ({ message: r.message, index: 1 })),
            echoStream: grpcHandlers().serverStream<EchoStreamRequest, EchoResponse>(async function* () {}),
          },
        },
      ],
      protoFiles: [ECHO_PROTO],
      logger,
      health,
    });
    const client = new EchoService(server.address, grpc.credentials.createInsecure());
    try {
      assert.deepEqual(await unary(client, 'echo', { message: 'open' }), { message: 'open', index: 1 });
    } finally {
      client.close();
      await server.close(1_000);
    }
    const after = new EchoService(server.address, grpc.credentials.createInsecure());
    try {
      await rejectsWith(unary(after, 'echo', { message: 'x' }), grpc.status.UNAVAILABLE);
    } finally {
      after.close();
    }
  });
});

describe('startGrpcServer bind failure', () => {
  test('a port already in use rejects the start', async () => {
    const { logger } = captureLogger();
    const health = new HealthRegistry();
    const options = {
      host: '127.0.0.1',
      services: [
        {
          definition: EchoService.service,
          implementation: {
            echo: grpcHandlers().unary<EchoRequest, EchoResponse>((r) => ({ message: r.message, index: 0 })),
            echoStream: grpcHandlers().serverStream<EchoStreamRequest, EchoResponse>(async function* () {}),
          },
        },
      ],
      protoFiles: [ECHO_PROTO],
      logger,
      health,
    };
    const first = await startGrpcServer({ ...options, port: 0 });
    try {
      await assert.rejects(startGrpcServer({ ...options, port: first.port }), /No address added|EADDRINUSE/);
    } finally {
      await first.close(1_000);
    }
  });
});

describe('startGrpcServer reflection, built on the first call', () => {
  const echoService = () => ({
    definition: EchoService.service,
    implementation: {
      echo: grpcHandlers().unary<EchoRequest, EchoResponse>((r) => ({ message: r.message, index: 0 })),
      echoStream: grpcHandlers().serverStream<EchoStreamRequest, EchoResponse>(async function* () {}),
    },
  });

  test('a missing proto file still fails the start, naming the file', async () => {
    const { logger } = captureLogger();
    await assert.rejects(
      startGrpcServer({
        host: '127.0.0.1',
        port: 0,
        services: [echoService()],
        protoFiles: ['perpmesh/v1/no-such.proto'],
        includeDirs: [dirname(ECHO_PROTO)],
        logger,
        health: new HealthRegistry(),
      }),
      /proto file\(s\) perpmesh\/v1\/no-such\.proto not found/,
    );
  });

  test('two servers of one process each describe their own protos', async () => {
    const { logger } = captureLogger();
    const start = (protoFiles: string[]) =>
      startGrpcServer({
        host: '127.0.0.1',
        port: 0,
        services: [echoService()],
        protoFiles,
        logger,
        health: new HealthRegistry(),
      });
    const withEcho = await start([ECHO_PROTO]);
    const healthOnly = await start([]);
    try {
      const names = async (address: string) =>
        (
          (await reflect(ReflectionClient, address, { listServices: '*' }, new grpc.Metadata()))
            .listServicesResponse as { service: Array<{ name: string }> }
        ).service.map((s) => s.name);
      assert.deepEqual((await names(withEcho.address)).sort(), [ECHO_SERVICE, HEALTH_SERVICE_NAME].sort());
      assert.deepEqual(await names(healthOnly.address), [HEALTH_SERVICE_NAME]);
    } finally {
      await withEcho.close(1_000);
      await healthOnly.close(1_000);
    }
  });
});
