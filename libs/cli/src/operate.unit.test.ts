/**
 * The operator CLI's pure parts: address resolution precedence, gRPC status -> message,
 * ages, intervals and percentages.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { resolveCliTargets } from './cli-config.js';
import { cliErrorFromGrpc, EXIT_FAILED, EXIT_UNAVAILABLE, ServiceUnreachableError } from './cli-errors.js';
import { formatDurationMs, formatIntervalMs, formatPercent } from './format.js';

describe('resolveCliTargets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perpmesh-cli-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  test('flag > cli.*Address > the service section (wildcard host dialed as 127.0.0.1)', () => {
    const config = file(
      'a.yaml',
      'execution: { grpcPort: 6001 }\naccount: { grpcHost: 10.0.0.5, grpcPort: 6002 }\ncli: { marketDataAddress: "md.internal:7003" }\n',
    );
    const t = resolveCliTargets({ config, execution: undefined }, {});
    assert.equal(t.address('execution'), '127.0.0.1:6001');
    assert.equal(t.address('account'), '10.0.0.5:6002');
    assert.equal(t.address('market-data'), 'md.internal:7003');
    assert.equal(t.address('strategy'), '127.0.0.1:50055');
    const flagged = resolveCliTargets({ config, marketData: '127.0.0.1:9' }, {});
    assert.equal(flagged.address('market-data'), '127.0.0.1:9');
  });

  test('the token comes from PERPMESH_TOKEN and is never shown', () => {
    const config = file('b.yaml', 'mode: embedded\n');
    const t = resolveCliTargets({ config }, { PERPMESH_TOKEN: 'sekrit-value' });
    assert.equal(t.token?.reveal(), 'sekrit-value');
    assert.doesNotMatch(JSON.stringify(t), /sekrit-value/);
    assert.equal(resolveCliTargets({ config }, {}).token, undefined);
  });

  test('defaults, env override of cli keys, timeout', () => {
    const config = file('c.yaml', 'venues: { paper: { kind: paper } }\n');
    const t = resolveCliTargets({ config }, { PERPMESH__CLI__EXECUTION_ADDRESS: '127.0.0.1:7777' });
    assert.equal(t.address('execution'), '127.0.0.1:7777');
    assert.equal(t.address('account'), '127.0.0.1:50052');
    assert.equal(t.address('market-data'), '127.0.0.1:50053');
    assert.equal(t.timeoutMs, 5_000);
    assert.equal(resolveCliTargets({ config, timeout: '250ms' }, {}).timeoutMs, 250);
  });

  test('bad values name the flag or key', () => {
    const config = file('d.yaml', 'execution: { grpcPort: 0 }\n');
    assert.throws(() => resolveCliTargets({ config, timeout: 'soon' }, {}), /--timeout: expected a duration/);
    const t = resolveCliTargets({ config, accountService: 'nope' }, {});
    assert.throws(() => t.address('account'), /--account-service: expected host:port/);
    assert.throws(() => t.address('execution'), /execution\.grpcPort: is 0 .* pass --execution host:port/);
    const bad = file('e.yaml', 'cli: { executionAddress: "x:99999" }\n');
    assert.throws(() => resolveCliTargets({ config: bad }, {}), /cli\.executionAddress: expected host:port/);
  });
});

describe('cliErrorFromGrpc', () => {
  const base = {
    service: 'execution',
    address: '127.0.0.1:50051',
    method: 'ListOpenOrders',
    connected: true,
    tokenSent: false,
    timeoutMs: 5000,
  };
  const grpcError = (code: status, details: string, md = new Metadata()): ServiceError =>
    Object.assign(new Error(details), { code, details, metadata: md }) as ServiceError;

  test('never connected: unreachable, naming service, address and flag; exit 2', () => {
    const e = cliErrorFromGrpc(
      grpcError(
        status.UNAVAILABLE,
        'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:50051',
      ),
      { ...base, connected: false, addressFlag: '--execution' },
    );
    assert.ok(e instanceof ServiceUnreachableError);
    assert.equal(e.exitCode, EXIT_UNAVAILABLE);
    assert.match(
      e.message,
      /cannot reach the execution service at 127\.0\.0\.1:50051 \(connection refused\).*--execution host:port/,
    );
  });

  test('UNAVAILABLE from a connected service is the service speaking, exit 1', () => {
    const e = cliErrorFromGrpc(grpcError(status.UNAVAILABLE, 'venue paper disconnected'), base);
    assert.equal(e.exitCode, EXIT_FAILED);
    assert.match(e.message, /is unavailable: venue paper disconnected/);
  });

  test('UNAUTHENTICATED says to set the token, or that it was refused', () => {
    assert.match(
      cliErrorFromGrpc(grpcError(status.UNAUTHENTICATED, 'missing'), base).message,
      /requires a token: set PERPMESH_TOKEN/,
    );
    const refused = cliErrorFromGrpc(grpcError(status.UNAUTHENTICATED, 'bad'), { ...base, tokenSent: true });
    assert.match(refused.message, /refused the token: check PERPMESH_TOKEN/);
    assert.equal(refused.exitCode, EXIT_UNAVAILABLE);
  });

  test('INVALID_ARGUMENT names the field', () => {
    const md = new Metadata();
    md.set('perpmesh-field', 'instrument');
    const e = cliErrorFromGrpc(
      grpcError(status.INVALID_ARGUMENT, 'must be BASE-QUOTE-PERP, got "x"', md),
      base,
    );
    assert.equal(e.message, 'invalid argument: instrument: must be BASE-QUOTE-PERP, got "x"');
    assert.equal(e.exitCode, EXIT_FAILED);
    const already = cliErrorFromGrpc(grpcError(status.INVALID_ARGUMENT, 'instrument: bad', md), base);
    assert.equal(already.message, 'invalid argument: instrument: bad');
  });

  test('a deadline on a connected channel is a timeout naming the method', () => {
    const e = cliErrorFromGrpc(grpcError(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), base);
    assert.match(e.message, /did not answer ListOpenOrders within 5000 ms/);
    assert.equal(e.exitCode, EXIT_UNAVAILABLE);
  });
});

describe('format', () => {
  test('durations at a glance', () => {
    assert.equal(formatDurationMs(850), '850ms');
    assert.equal(formatDurationMs(4_250), '4.2s');
    assert.equal(formatDurationMs(192_000), '3m12s');
    assert.equal(formatDurationMs(2 * 3_600_000 + 5 * 60_000), '2h05m');
    assert.equal(formatDurationMs(3 * 86_400_000 + 4 * 3_600_000), '3d04h');
    assert.equal(formatDurationMs(-1_500), '-1.5s');
  });

  test('funding intervals', () => {
    assert.equal(formatIntervalMs(28_800_000), '8h');
    assert.equal(formatIntervalMs(3_600_000), '1h');
    assert.equal(formatIntervalMs(16_200_000), '4h30m');
    assert.equal(formatIntervalMs(0), '-');
  });

  test('percentages are decimal, not float', () => {
    assert.equal(formatPercent('0.0001', 4), '0.0100%');
    assert.equal(formatPercent('0.0000125', 5), '0.00125%');
    assert.equal(formatPercent('-0.1095', 2), '-10.95%');
    // 0.1 + 0.2 in floats would print 30.000000000000004
    assert.equal(formatPercent('0.3', 15), '30.000000000000000%');
    assert.equal(formatPercent('', 2), '-');
  });
});
