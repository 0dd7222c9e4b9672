import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import { DEFAULT_REDIS_COMMAND_TIMEOUT_MS, redisStoreClientOptions } from './redis-store.js';

describe('redisStoreClientOptions', () => {
  test('bounds every command, drops a connection silent for two timeouts, keeps exact integers', () => {
    const options = redisStoreClientOptions();
    assert.equal(options.commandTimeout, DEFAULT_REDIS_COMMAND_TIMEOUT_MS);
    assert.equal(options.socketTimeout, 2 * DEFAULT_REDIS_COMMAND_TIMEOUT_MS);
    assert.ok(typeof options.keepAlive === 'number' && options.keepAlive > 0, 'TCP keepalive on');
    assert.equal(options.stringNumbers, true);
    const custom = redisStoreClientOptions({ commandTimeoutMs: 750 });
    assert.equal(custom.commandTimeout, 750);
    assert.equal(custom.socketTimeout, 1_500);
  });

  test('a bad timeout is refused naming the field', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => redisStoreClientOptions({ commandTimeoutMs: bad }),
        (err: unknown) => err instanceof ValidationError && /commandTimeoutMs/.test(err.message),
      );
    }
  });
});
