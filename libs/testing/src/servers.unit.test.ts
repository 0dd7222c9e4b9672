import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TestServerUnavailableError, uniqueTestName } from './servers.js';

describe('test servers', () => {
  test('the unavailable error says what to set and what really failed', () => {
    const cause = new TypeError("Cannot read properties of undefined (reading 'bind')");
    const err = new TestServerUnavailableError(
      'NATS',
      'NATS_URL',
      'testcontainers could not be loaded',
      cause,
    );
    assert.match(err.message, /^NATS is needed for this test and none is available: set NATS_URL/);
    assert.match(err.message, /\(testcontainers could not be loaded\)$/);
    assert.equal(err.cause, cause);
  });

  test('unique names fit NATS stream names and differ', () => {
    const a = uniqueTestName('EL');
    assert.match(a, /^EL_[A-Z0-9]+_[A-F0-9]{6}$/);
    assert.notEqual(a, uniqueTestName('EL'));
  });
});
