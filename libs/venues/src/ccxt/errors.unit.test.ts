import assert from 'node:assert/strict';
import { test } from 'node:test';
import ccxt from 'ccxt';
import {
  InsufficientMarginError,
  RateLimitedError,
  VenueDisconnectedError,
  VenueOrderNotFoundError,
  VenueRejectedError,
  VenueUnknownOutcomeError,
} from '../errors.js';
import { redact, venueErrorFromCcxt } from './errors.js';

test('a timeout or 5xx on create is an unknown outcome; elsewhere a disconnect', () => {
  for (const err of [
    new ccxt.RequestTimeout('t'),
    new ccxt.ExchangeNotAvailable('503'),
    new ccxt.OperationFailed('-1000'),
  ]) {
    assert.ok(venueErrorFromCcxt('v', err, 'create') instanceof VenueUnknownOutcomeError);
    assert.ok(venueErrorFromCcxt('v', err, 'other') instanceof VenueDisconnectedError);
  }
});

test('429, missing orders, margin and auth map to their named errors', () => {
  assert.ok(venueErrorFromCcxt('v', new ccxt.RateLimitExceeded('429'), 'create') instanceof RateLimitedError);
  assert.ok(venueErrorFromCcxt('v', new ccxt.DDoSProtection('418'), 'other') instanceof RateLimitedError);
  assert.ok(venueErrorFromCcxt('v', new ccxt.OrderNotFound('x'), 'other') instanceof VenueOrderNotFoundError);
  assert.ok(
    venueErrorFromCcxt('v', new ccxt.InsufficientFunds('x'), 'create') instanceof InsufficientMarginError,
  );
  const auth = venueErrorFromCcxt('v', new ccxt.AuthenticationError('bad'), 'other');
  assert.ok(auth instanceof VenueRejectedError && auth.reason === 'authentication');
  const invalid = venueErrorFromCcxt(
    'v',
    new ccxt.InvalidOrder('{"code":-5022}'),
    'create',
    () => 'post_only_would_cross',
  );
  assert.ok(invalid instanceof VenueRejectedError && invalid.reason === 'post_only_would_cross');
});

test('signatures and keys in a ccxt message are redacted', () => {
  const text = 'GET http://h/fapi/v1/order?symbol=X&timestamp=1&signature=abcdef 503';
  assert.equal(redact(text), 'GET http://h/fapi/v1/order?symbol=X&timestamp=1&signature=<redacted> 503');
  const mapped = venueErrorFromCcxt('v', new ccxt.ExchangeNotAvailable(text), 'other');
  assert.doesNotMatch(mapped.message, /abcdef/);
});
