import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import { payloadDecimal, payloadInstrument, payloadInt, payloadText } from './payload.js';
import type { ParseContext } from './profile.js';

const ctx = {
  instrumentOfVenueSymbol: (s: string) => (s === 'BTCUSDT' ? 'BTC-USDT-PERP' : undefined),
} as unknown as ParseContext;

test('numbers as text or finite numbers are read; the field that is not names itself', () => {
  assert.equal(payloadText({ p: '1.5' }, 'p', 'fill'), '1.5');
  assert.equal(payloadDecimal({ p: 0.1 }, 'p', 'fill').toFixed(), '0.1');
  assert.equal(payloadInt({ t: '42' }, 't', 'fill'), 42);
  assert.throws(
    () => payloadText({ p: '' }, 'p', 'fill'),
    (e: unknown) => e instanceof ValidationError && e.field === 'fill.p',
  );
  assert.throws(() => payloadText(undefined, 'p', 'fill'), ValidationError);
  assert.throws(
    () => payloadInt({ t: '1.5' }, 't', 'fill'),
    (e: unknown) => e instanceof ValidationError && e.field === 'fill.t',
  );
});

test('the instrument of a venue symbol we follow; another is an error naming the field', () => {
  assert.equal(payloadInstrument({ s: 'BTCUSDT' }, 's', 'order', ctx), 'BTC-USDT-PERP');
  assert.throws(
    () => payloadInstrument({ s: 'ETHUSDT' }, 's', 'order', ctx),
    (e: unknown) => e instanceof ValidationError && e.field === 'order.s' && /ETHUSDT/.test(e.message),
  );
});
