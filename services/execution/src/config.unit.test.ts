import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EXECUTION_DEFAULTS } from '@perpmesh/execution';
import { ConfigError, parseConfig } from '@perpmesh/runtime';
import { executionConfigSchema, executionOptionsOf } from './config.js';

const venues = {
  venues: {
    'paper-lighter': { kind: 'paper', instruments: ['BTC-USDC-PERP'], accounts: { main: { apiKeyId: '3' } } },
  },
};

describe('execution config', () => {
  test('defaults: ports 50051 / 9101, lib defaults', () => {
    const { config } = parseConfig(executionConfigSchema, venues, { env: {} });
    assert.equal(config.execution.grpcPort, 50051);
    assert.equal(config.execution.http.port, 9101);
    assert.equal(config.execution.instance, '0');
    const options = executionOptionsOf(config.execution);
    assert.equal(options.idempotencyTtlMs, EXECUTION_DEFAULTS.idempotencyTtlMs);
    assert.equal(options.notFoundAfterMs, 60_000);
    assert.equal(config.venues['paper-lighter']?.accounts.main?.apiKeyId, '3');
  });

  test('durations in words, env overrides, errors naming the field', () => {
    const { config } = parseConfig(
      executionConfigSchema,
      { ...venues, execution: { notFoundAfter: '2m', duplicateWait: '250ms' } },
      { env: { PERPMESH__EXECUTION__GRPC_PORT: '50061' } },
    );
    assert.equal(config.execution.grpcPort, 50061);
    assert.equal(executionOptionsOf(config.execution).notFoundAfterMs, 120_000);
    assert.equal(executionOptionsOf(config.execution).duplicateWaitMs, 250);
    assert.throws(
      () => parseConfig(executionConfigSchema, { execution: { notFoundAfter: 'soon' } }, { env: {} }),
      (err: unknown) => err instanceof ConfigError && /execution\.notFoundAfter/.test(err.message),
    );
    assert.throws(
      () => parseConfig(executionConfigSchema, { execution: { grpcPrt: 1 } }, { env: {} }),
      (err: unknown) => err instanceof ConfigError && /grpcPrt/.test(err.message),
    );
  });
});
