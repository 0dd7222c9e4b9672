import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { settlementAmounts, settlementExpirationSeconds } from './amounts.js';
import {
  FELT_PRIME,
  feltHex,
  parseFelt,
  parseI64,
  parseUnsigned,
  shortString,
  signedToFelt,
} from './felt.js';

const BTC = { syntheticResolution: 1_000_000, collateralResolution: 1_000_000 };

describe('settlementAmounts', () => {
  test('a buy rounds base and quote up, negates the quote; the fee is rounded up', () => {
    // 0.0012345 BTC -> 1234.5 units; 0.0012345 * 43445.1168 * 1e6 = 53632996.6896; fee 26816.498
    const a = settlementAmounts({
      side: 'buy',
      qty: '0.0012345',
      price: '43445.1168',
      totalFee: '0.0005',
      ...BTC,
    });
    assert.deepEqual(a, { baseAmount: 1235n, quoteAmount: -53632997n, feeAmount: 26817n });
  });

  test('a sell truncates base and quote, negates the base; the fee is still rounded up', () => {
    const a = settlementAmounts({
      side: 'sell',
      qty: '0.0012345',
      price: '43445.1168',
      totalFee: '0.0005',
      ...BTC,
    });
    assert.deepEqual(a, { baseAmount: -1234n, quoteAmount: 53632996n, feeAmount: 26817n });
  });

  test('exact amounts are not moved by the rounding; a zero fee is zero', () => {
    const a = settlementAmounts({ side: 'buy', qty: '0.001', price: '39000', totalFee: '0', ...BTC });
    assert.deepEqual(a, { baseAmount: 1000n, quoteAmount: -39000000n, feeAmount: 0n });
  });

  test('bad input names the field', () => {
    const base = { side: 'buy' as const, qty: '1', price: '1', totalFee: '0', ...BTC };
    assert.throws(() => settlementAmounts({ ...base, qty: '0' }), /qty/);
    assert.throws(() => settlementAmounts({ ...base, price: 'abc' }), /price/);
    assert.throws(() => settlementAmounts({ ...base, totalFee: '-0.1' }), /totalFee/);
    assert.throws(() => settlementAmounts({ ...base, syntheticResolution: 0 }), /syntheticResolution/);
    assert.throws(() => settlementAmounts({ ...base, side: 'long' as never }), /side/);
  });
});

describe('settlementExpirationSeconds', () => {
  test('the expiry rounded up to a second, plus 14 days', () => {
    assert.equal(settlementExpirationSeconds(1705626536861), 1705626537n + 1209600n);
    assert.equal(settlementExpirationSeconds(1704420537000), 1704420537n + 1209600n);
    assert.throws(() => settlementExpirationSeconds(0), /expiryEpochMillis/);
  });
});

describe('felts', () => {
  test('a negative i64 is P + v; a positive one is itself', () => {
    assert.equal(signedToFelt(-1000n), FELT_PRIME - 1000n);
    assert.equal(
      feltHex(signedToFelt(-1000n)),
      '0x800000000000010fffffffffffffffffffffffffffffffffffffffffffffc19',
    );
    assert.equal(signedToFelt(1000n), 1000n);
  });

  test('ranges are checked and the error names the field', () => {
    assert.throws(() => parseI64(2n ** 63n, 'order.baseAmount'), /order\.baseAmount: out of the i64 range/);
    assert.equal(parseI64(-(2n ** 63n), 'x'), -(2n ** 63n));
    assert.throws(() => parseUnsigned(2n ** 32n, 32, 'vault'), /vault: out of the u32 range/);
    assert.throws(() => parseFelt(FELT_PRIME, 'salt'), /salt: out of the felt range/);
    assert.throws(() => parseFelt('12.5', 'salt'), /salt: not an integer/);
    assert.equal(parseFelt('0x1f', 'x'), 31n);
    assert.equal(parseFelt('31', 'x'), 31n);
  });

  test('short strings are big-endian ASCII, at most 31 characters', () => {
    assert.equal(shortString('SN_MAIN'), 0x534e5f4d41494en);
    assert.equal(shortString(''), 0n);
    assert.throws(() => shortString('x'.repeat(32), 'domain.name'), /domain\.name/);
    assert.throws(() => shortString('é'), /ASCII/);
  });
});
