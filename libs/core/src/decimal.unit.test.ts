import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DECIMAL_LIMITS, parseDecimal, parsePositiveDecimal, toWire } from './decimal.js';
import { ValidationError } from './errors.js';

function refused(value: unknown, pattern: RegExp): void {
  assert.throws(
    () => parseDecimal(value, 'size'),
    (err: unknown) => err instanceof ValidationError && err.field === 'size' && pattern.test(err.message),
    `expected ${String(value).slice(0, 40)} to be refused`,
  );
}

describe('parseDecimal: the one strict grammar', () => {
  it('accepts plain decimals, a minus sign and a short exponent', () => {
    for (const [text, wire] of [
      ['0.01', '0.01'],
      ['-42', '-42'],
      ['100000', '100000'],
      ['1e-7', '0.0000001'],
      ['2.5E3', '2500'],
      ['0', '0'],
    ] as const) {
      assert.equal(toWire(parseDecimal(text, 'size')), wire);
    }
  });

  it('refuses whitespace, a plus sign, a bare point and empty text', () => {
    for (const text of [
      ' 0.01 ',
      '0.01\n',
      '\t1',
      '+0.01',
      '.01',
      '1.',
      '',
      '-',
      '1e',
      '0x10',
      '1_000',
      'NaN',
      'Infinity',
      '1,5',
    ]) {
      refused(text, /not a decimal number/);
    }
  });

  it('refuses exponents and magnitudes beyond the limits without building the value', () => {
    const started = Date.now();
    refused('1e9000000000000000', /not a decimal number/);
    refused('1e-9000000000000000', /not a decimal number/);
    refused('1e400', /below 1e30/);
    refused('1e40', /below 1e30/);
    refused('1e-101', /at least 1e-100/);
    refused(`1${'0'.repeat(30)}`, /below 1e30/);
    refused(`0.${'1'.repeat(61)}`, /at most 60 significant digits/);
    assert.ok(Date.now() - started < 1_000, 'hostile exponents must be refused at once');
    assert.equal(toWire(parseDecimal(`${'9'.repeat(30)}.${'9'.repeat(30)}`, 'size')).length, 61);
    // What perpmesh computes (an average entry price at full precision) parses back.
    const entry = parseDecimal('59993.0888355342136854741896758703481392', 'entryPrice').div(7);
    assert.ok(parseDecimal(toWire(entry), 'entryPrice').eq(entry));
    assert.equal(toWire(parseDecimal('1e-100', 'rate')).length, 102);
  });

  it('refuses text longer than the limit and echoes only a bounded prefix', () => {
    const huge = '1'.repeat(100_000);
    assert.throws(
      () => parseDecimal(huge, 'size'),
      (err: unknown) =>
        err instanceof ValidationError &&
        err.message.includes(`at most ${DECIMAL_LIMITS.maxTextLength} characters`) &&
        err.message.includes('(100000 characters)') &&
        err.message.length < 200,
    );
  });

  it('bounds JS numbers and bigints the same way', () => {
    assert.equal(toWire(parseDecimal(0.25, 'fee')), '0.25');
    refused(1e300, /below 1e30/);
    refused(Number.NaN, /finite|not a decimal/);
    refused(10n ** 40n, /below 1e30/);
    assert.equal(toWire(parseDecimal(12n, 'size')), '12');
  });

  it('parsePositiveDecimal names the field for zero and negatives', () => {
    assert.throws(() => parsePositiveDecimal('0', 'price'), /greater than 0/);
    assert.throws(() => parsePositiveDecimal('-1', 'price'), /greater than 0/);
  });
});
