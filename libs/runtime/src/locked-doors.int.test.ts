/**
 * Locked doors at the gRPC edge (issue 15): loopback by default, no start beyond loopback
 * without a token or mutual TLS, server and mutual TLS from PEM files (certificates made
 * here with openssl), bounded request fields and bounded error details so a huge value gets
 * a prompt INVALID_ARGUMENT and the connection stays usable.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ValidationError } from '@perpmesh/core';
import { makeTestCertificates, type TestCertificates } from '@perpmesh/testing';
import type { TlsSection } from './config-schemas.js';
import { grpcHandlers, MAX_STATUS_DETAILS_CHARS, type RunningGrpcServer, startGrpcServer } from './grpc.js';
import { HealthRegistry } from './health.js';
import { grpcChannelCredentials } from './listeners.js';
import { createLogger } from './logger.js';
import { Secret } from './secret.js';

const ECHO_PROTO = new URL('./fixtures/echo.proto', import.meta.url).pathname;
type Ctor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => grpc.Client;
const EchoService = (
  grpc.loadPackageDefinition(protoLoader.loadSync(ECHO_PROTO, { defaults: true })).perpmesh as unknown as {
    runtimetest: { v1: { EchoService: Ctor & { service: grpc.ServiceDefinition } } };
  }
).runtimetest.v1.EchoService;

const logger = createLogger({ service: 'locked-doors-test', level: 'silent' });

interface EchoRequest {
  message: string;
  failWith: string;
}

const implementation = {
  echo: grpcHandlers({ logger }).unary<EchoRequest, { message: string; index: number }>((request) => {
    // An error that quotes its whole input, as parsers did before issue 15.
    if (request.failWith === 'echo') throw new ValidationError('message', `bad value ${request.message}`);
    return { message: request.message, index: 0 };
  }),
  echoStream: grpcHandlers({ logger }).serverStream(async function* () {}),
};

function start(options: Partial<Parameters<typeof startGrpcServer>[0]> = {}): Promise<RunningGrpcServer> {
  return startGrpcServer({
    port: 0,
    services: [{ definition: EchoService.service, implementation }],
    protoFiles: [ECHO_PROTO],
    logger,
    health: new HealthRegistry(),
    ...options,
  });
}

function echo(client: grpc.Client, request: Partial<EchoRequest>, timeoutMs = 5_000) {
  return new Promise<{ message: string }>((resolve, reject) => {
    (client as unknown as { echo: (...args: unknown[]) => void }).echo(
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err: grpc.ServiceError | null, res: { message: string }) => (err ? reject(err) : resolve(res)),
    );
  });
}

describe('listeners are loopback unless opened, and opened only with a way to tell callers apart', () => {
  test('the default host is 127.0.0.1', async () => {
    const server = await start();
    try {
      assert.match(server.address, /^127\.0\.0\.1:\d+$/);
    } finally {
      await server.close(100);
    }
  });

  test('0.0.0.0 without a token or mutual TLS refuses to start, naming the setting', async () => {
    await assert.rejects(
      start({ host: '0.0.0.0', hostSetting: 'execution.grpcHost' }),
      (err: unknown) =>
        err instanceof ValidationError &&
        err.field === 'execution.grpcHost' &&
        /auth\.token/.test(err.message) &&
        /requireClientCert/.test(err.message),
    );
  });

  test('0.0.0.0 with a token starts', async () => {
    const server = await start({ host: '0.0.0.0', authToken: new Secret('locked-doors-token') });
    await server.close(100);
  });
});

describe('request bounds: a huge value gets a prompt INVALID_ARGUMENT and the connection stays usable', () => {
  let server: RunningGrpcServer;
  let client: grpc.Client;
  before(async () => {
    server = await start();
    client = new EchoService(server.address, grpc.credentials.createInsecure());
  });
  after(async () => {
    client.close();
    await server.close(100);
  });

  test('a 64 KB field is refused by name before the handler sees it', async () => {
    await assert.rejects(
      echo(client, { message: 'x'.repeat(64 * 1024) }, 2_000),
      (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
        assert.deepEqual(err.metadata.get('perpmesh-field'), ['message']);
        assert.match(err.details, /at most 4096 characters/);
        return true;
      },
    );
    assert.deepEqual(await echo(client, { message: 'still here' }, 2_000), {
      message: 'still here',
      index: 0,
    });
  });

  test('an error message that quotes a long input is cut, so the answer still fits', async () => {
    await assert.rejects(
      echo(client, { message: 'y'.repeat(4000), failWith: 'echo' }, 2_000),
      (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
        assert.ok(
          err.details.length < MAX_STATUS_DETAILS_CHARS + 80,
          `details of ${err.details.length} chars`,
        );
        assert.match(err.details, /more characters cut/);
        return true;
      },
    );
    assert.deepEqual(await echo(client, { message: 'ok' }, 2_000), { message: 'ok', index: 0 });
  });
});

describe('gRPC TLS from files', () => {
  let dir: string;
  let certs: TestCertificates;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'perpmesh-tls-'));
    certs = makeTestCertificates(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('server TLS: a client trusting the CA gets through; a plaintext client does not', async () => {
    const tls: Partial<TlsSection> = { certFile: certs.server.certFile, keyFile: certs.server.keyFile };
    const server = await start({ tls });
    const trusting = new EchoService(
      server.address,
      grpcChannelCredentials({ caFile: certs.client.caFile, requireClientCert: false }),
    );
    const plaintext = new EchoService(server.address, grpc.credentials.createInsecure());
    try {
      assert.deepEqual(await echo(trusting, { message: 'over tls' }), { message: 'over tls', index: 0 });
      await assert.rejects(
        echo(plaintext, { message: 'no tls' }, 1_000),
        (err: grpc.ServiceError) =>
          err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED,
      );
    } finally {
      trusting.close();
      plaintext.close();
      await server.close(100);
    }
  });

  test('mutual TLS: only a client with a certificate from the CA gets through; it may listen beyond loopback without a token', async () => {
    const tls: TlsSection = { ...certs.server, requireClientCert: true };
    const server = await start({ tls, host: '0.0.0.0' });
    const withCert = new EchoService(
      server.address,
      grpcChannelCredentials({ ...certs.client, requireClientCert: false }),
    );
    const withoutCert = new EchoService(
      server.address,
      grpcChannelCredentials({ caFile: certs.client.caFile, requireClientCert: false }),
    );
    try {
      assert.deepEqual(await echo(withCert, { message: 'mutual' }), { message: 'mutual', index: 0 });
      await assert.rejects(
        echo(withoutCert, { message: 'anonymous' }, 1_000),
        (err: grpc.ServiceError) =>
          err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED,
      );
    } finally {
      withCert.close();
      withoutCert.close();
      await server.close(100);
    }
  });
});
