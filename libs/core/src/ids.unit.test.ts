import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from './errors.js';
import {
  isClientOrderId,
  MAX_CLIENT_ORDER_ID_LENGTH,
  parseAccountId,
  parseClientOrderId,
  parseTradeId,
  parseVenueOrderId,
} from './ids.js';

function assertField(fn: () => unknown, field: string): void {
  assert.throws(fn, (error: unknown) => error instanceof ValidationError && error.field === field);
}

describe('clientOrderId', () => {
  test('accepts UUIDs, ULIDs and plain tokens up to 36 characters', () => {
    for (const ok of [
      '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
      '01J2ZK3M4N5P6Q7R8S9T0V1W2X',
      'grid_1-42',
      'a',
    ]) {
      assert.equal(parseClientOrderId(ok), ok);
      assert.equal(isClientOrderId(ok), true);
    }
    assert.equal(parseClientOrderId('x'.repeat(MAX_CLIENT_ORDER_ID_LENGTH)).length, 36);
  });

  test('rejects empty, too long, and characters outside A-Z a-z 0-9 _ -', () => {
    for (const bad of ['', 'x'.repeat(37), 'a.b', 'a b', 'a/b', 'a*', 'a>', 'é', 'a:b']) {
      assert.equal(isClientOrderId(bad), false, bad);
      assert.throws(
        () => parseClientOrderId(bad, 'request.clientOrderId'),
        (error: unknown) =>
          error instanceof ValidationError &&
          error.field === 'request.clientOrderId' &&
          error.message.includes(JSON.stringify(bad)),
      );
    }
    assertField(() => parseClientOrderId(7), 'clientOrderId');
  });
});

describe('other ids', () => {
  test('account ids are subject tokens', () => {
    assert.equal(parseAccountId('main'), 'main');
    assertField(() => parseAccountId('a.b'), 'account');
    assertField(() => parseAccountId(''), 'account');
  });

  test('venue order ids and trade ids are bounded venue text; safe integers become strings', () => {
    assert.equal(parseVenueOrderId('8389765604226578432'), '8389765604226578432');
    assert.equal(parseVenueOrderId(12345), '12345');
    assert.equal(parseTradeId('0xabc'), '0xabc');
    assertField(() => parseVenueOrderId(''), 'venueOrderId');
    assertField(() => parseTradeId('x'.repeat(129)), 'tradeId');
    assertField(() => parseTradeId(1.5), 'tradeId');
  });
});
