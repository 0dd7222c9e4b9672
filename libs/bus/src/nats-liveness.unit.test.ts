import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import { DEFAULT_NATS_MAX_PINGS_OUT, DEFAULT_NATS_PING_INTERVAL_MS, natsConnectionOptions } from './nats.js';

describe('natsConnectionOptions', () => {
  test('pings often enough to notice a silent server within seconds; reconnects forever', () => {
    const options = natsConnectionOptions();
    assert.equal(options.pingInterval, DEFAULT_NATS_PING_INTERVAL_MS);
    assert.equal(options.maxPingOut, DEFAULT_NATS_MAX_PINGS_OUT);
    assert.ok(options.pingInterval * options.maxPingOut <= 10_000, 'a dead connection is found within 10 s');
    assert.equal(options.maxReconnectAttempts, -1);
    const custom = natsConnectionOptions({ pingIntervalMs: 500, maxPingsOut: 3 });
    assert.equal(custom.pingInterval, 500);
    assert.equal(custom.maxPingOut, 3);
  });

  test('bad values are refused naming the field', () => {
    assert.throws(
      () => natsConnectionOptions({ pingIntervalMs: 10 }),
      (err: unknown) => err instanceof ValidationError && /pingIntervalMs/.test(err.message),
    );
    assert.throws(
      () => natsConnectionOptions({ maxPingsOut: 0 }),
      (err: unknown) => err instanceof ValidationError && /maxPingsOut/.test(err.message),
    );
  });
});
