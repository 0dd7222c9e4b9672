import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { parseConfig } from './config.js';
import { serviceConfigSchema } from './config-schemas.js';
import { isLoopbackHost, listenerExposureProblem, listenerSettings } from './listeners.js';
import { Secret } from './secret.js';

describe('isLoopbackHost', () => {
  test('127.0.0.0/8, ::1 and localhost are loopback; wildcards and other addresses are not', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '[::1]',
      'localhost',
      'LOCALHOST',
      '::ffff:127.0.0.1',
    ])
      assert.ok(isLoopbackHost(host), host);
    for (const host of ['0.0.0.0', '::', '[::]', '10.0.0.5', '192.168.1.2', 'example.com', '128.0.0.1'])
      assert.ok(!isLoopbackHost(host), host);
  });
});

describe('listenerExposureProblem', () => {
  const schema = serviceConfigSchema(
    'execution',
    { grpcHost: z.string().default('127.0.0.1') },
    { defaultHttpPort: 9101 },
  );
  const parse = (data: unknown) => parseConfig(schema, data, { env: {} }).config;

  test('every listener binds loopback by default: no problem', () => {
    const config = parse({});
    assert.deepEqual(listenerSettings(config), [
      { setting: 'execution.grpcHost', host: '127.0.0.1' },
      { setting: 'execution.http.host', host: '127.0.0.1' },
    ]);
    assert.equal(listenerExposureProblem(config), undefined);
  });

  test('beyond loopback without auth.token names the setting and the fixes', () => {
    const grpc = listenerExposureProblem(parse({ execution: { grpcHost: '0.0.0.0' } }));
    assert.equal(grpc?.setting, 'execution.grpcHost');
    assert.match(grpc?.message ?? '', /auth\.token.*PERPMESH_TOKEN.*tls\.requireClientCert.*127\.0\.0\.1/s);
    const http = listenerExposureProblem(parse({ execution: { http: { host: '10.1.2.3' } } }));
    assert.equal(http?.setting, 'execution.http.host');
  });

  test('a token, or mutual TLS, opens the door', () => {
    const open = { execution: { grpcHost: '0.0.0.0' } };
    assert.equal(listenerExposureProblem({ ...parse(open), auth: { token: new Secret('t') } }), undefined);
    const mutual = { certFile: 'c.pem', keyFile: 'k.pem', caFile: 'ca.pem', requireClientCert: true };
    assert.equal(listenerExposureProblem(parse({ ...open, tls: mutual })), undefined);
    const serverOnly = { certFile: 'c.pem', keyFile: 'k.pem' };
    assert.equal(listenerExposureProblem(parse({ ...open, tls: serverOnly }))?.setting, 'execution.grpcHost');
  });

  test('a listener the caller places itself is named by its own setting', () => {
    const problem = listenerExposureProblem({}, [{ setting: 'execution.grpcHost', host: '0.0.0.0' }]);
    assert.equal(problem?.setting, 'execution.grpcHost');
    assert.match(
      problem?.message ?? '',
      /^execution\.grpcHost is "0\.0\.0\.0".*\(execution\.grpcHost: 127\.0\.0\.1\)$/s,
    );
    assert.equal(listenerExposureProblem({}, [{ setting: 'grpcHost', host: '127.0.0.1' }]), undefined);
  });

  test('tls settings that cannot work are config errors naming the key', () => {
    assert.throws(() => parse({ tls: { certFile: 'c.pem' } }), /tls\.keyFile/);
    assert.throws(
      () => parse({ tls: { certFile: 'c.pem', keyFile: 'k.pem', requireClientCert: true } }),
      /tls\.requireClientCert/,
    );
  });
});
