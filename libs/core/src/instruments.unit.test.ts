import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ValidationError } from './errors.js';
import {
  assertSubjectToken,
  ccxtSymbolFromInstrument,
  indexCcxtSymbols,
  instrumentFromCcxtSymbol,
  instrumentFromVenueMarket,
  isInstrumentId,
  isPaperVenue,
  isSubjectToken,
  isVenueId,
  makeInstrument,
  parseInstrument,
  parseInstrumentId,
  parseVenueId,
  UnsupportedInstrumentError,
} from './instruments.js';

function assertValidation(fn: () => unknown, field: string, mentions?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ValidationError, `expected ValidationError, got ${String(error)}`);
    assert.equal(error.field, field);
    assert.equal(error.code, 'INVALID_ARGUMENT');
    if (mentions)
      assert.ok(error.message.includes(mentions), `message ${error.message} should mention ${mentions}`);
    return true;
  });
}

describe('instrument ids', () => {
  test('parses linear perps and spot into parts', () => {
    assert.deepEqual(
      { ...parseInstrument('BTC-USDC-PERP') },
      { id: 'BTC-USDC-PERP', base: 'BTC', quote: 'USDC', settle: 'USDC', kind: 'perp' },
    );
    assert.deepEqual(
      { ...parseInstrument('ETH-USDT') },
      { id: 'ETH-USDT', base: 'ETH', quote: 'USDT', settle: 'USDT', kind: 'spot' },
    );
    assert.equal(parseInstrument('1000PEPE-USDT-PERP').base, '1000PEPE');
    assert.equal(parseInstrument('kPEPE-USDC-PERP').base, 'kPEPE');
  });

  test('rejects malformed ids, naming the field and the value', () => {
    for (const bad of [
      '',
      'BTC',
      'BTC-USDC-SWAP',
      'BTC-USDC-PERP-X',
      'BTC/USDC',
      'BTC.X-USDC',
      'BTC-USDC-',
      '-USDC',
    ]) {
      assertValidation(
        () => parseInstrument(bad, 'order.instrument'),
        'order.instrument',
        JSON.stringify(bad),
      );
    }
    assertValidation(() => parseInstrument('BTC-BTC-PERP'), 'instrument', 'differ');
    assertValidation(() => parseInstrument('BTC-PERP'), 'instrument', 'BTC-USDC-PERP');
    assertValidation(() => parseInstrument(42), 'instrument', 'number');
    assertValidation(() => parseInstrument(`${'A'.repeat(33)}-USDC-PERP`), 'instrument');
    assert.equal(parseInstrumentId('BTC-USDC-PERP'), 'BTC-USDC-PERP');
    assert.equal(isInstrumentId('BTC-USDC-PERP'), true);
    assert.equal(isInstrumentId('BTC USDC'), false);
  });

  test('makeInstrument builds the id', () => {
    assert.equal(makeInstrument({ base: 'SOL', quote: 'USDT', kind: 'perp' }).id, 'SOL-USDT-PERP');
    assert.equal(makeInstrument({ base: 'SOL', quote: 'USDT', kind: 'spot' }).id, 'SOL-USDT');
    assertValidation(() => makeInstrument({ base: 'SOL', quote: 'US-DT', kind: 'spot' }), 'instrument.quote');
  });
});

describe('ccxt symbol mapping', () => {
  test('linear perps and spot map both ways', () => {
    assert.equal(instrumentFromCcxtSymbol('BTC/USDC:USDC').id, 'BTC-USDC-PERP');
    assert.equal(instrumentFromCcxtSymbol('ETH/USDT').id, 'ETH-USDT');
    assert.equal(ccxtSymbolFromInstrument('BTC-USDC-PERP'), 'BTC/USDC:USDC');
    assert.equal(ccxtSymbolFromInstrument('ETH-USDT'), 'ETH/USDT');
    assert.equal(ccxtSymbolFromInstrument(parseInstrument('ETH-USDT-PERP')), 'ETH/USDT:USDT');
  });

  test('USD-quoted, stablecoin-settled markets are named by the settle currency', () => {
    const instrument = instrumentFromCcxtSymbol('BTC/USD:USDC');
    assert.equal(instrument.id, 'BTC-USDC-PERP');
    assert.equal(instrument.settle, 'USDC');
  });

  test('inverse, dated futures, options and quanto are rejected with a clear error', () => {
    const cases: [string, string][] = [
      ['BTC/USD:BTC', 'inverse'],
      ['BTC/USDT:USDT-250328', 'dated futures'],
      ['BTC/USD:BTC-250328-50000-C', 'options'],
      ['ETH/USD:BTC', 'quanto'],
    ];
    for (const [symbol, reason] of cases) {
      assert.throws(
        () => instrumentFromCcxtSymbol(symbol),
        (error: unknown) =>
          error instanceof UnsupportedInstrumentError &&
          error.code === 'UNSUPPORTED_INSTRUMENT' &&
          error.field === 'symbol' &&
          error.value === symbol &&
          error.message.includes(reason),
      );
    }
  });

  test('malformed symbols are validation errors naming the field', () => {
    for (const bad of ['BTCUSDT', 'BTC/', '/USDT', 'BTC/USDT/X', 'BTC-X/USDT']) {
      assert.throws(() => instrumentFromCcxtSymbol(bad, 'market.symbol'), ValidationError);
    }
    assertValidation(() => instrumentFromCcxtSymbol(undefined, 'market.symbol'), 'market.symbol');
  });

  test('round trip: instrument -> ccxt symbol -> instrument', () => {
    const code = fc.stringMatching(/^[A-Za-z0-9]{1,12}$/);
    fc.assert(
      fc.property(code, code, fc.constantFrom('perp' as const, 'spot' as const), (base, quote, kind) => {
        fc.pre(base !== quote && quote !== 'PERP');
        const instrument = makeInstrument({ base, quote, kind });
        assert.deepEqual(instrumentFromCcxtSymbol(ccxtSymbolFromInstrument(instrument)), instrument);
        assert.deepEqual(parseInstrument(instrument.id), instrument);
      }),
    );
  });

  test('indexCcxtSymbols maps both ways, prefers the canonical symbol, lists what it skipped', () => {
    const index = indexCcxtSymbols([
      'BTC/USD:USDC',
      'BTC/USDC:USDC',
      'ETH/USD:USDC',
      'BTC/USD:BTC',
      'SOL/USDC',
    ]);
    assert.equal(index.symbolByInstrument.get('BTC-USDC-PERP'), 'BTC/USDC:USDC');
    assert.equal(index.symbolByInstrument.get('ETH-USDC-PERP'), 'ETH/USD:USDC');
    assert.equal(index.instrumentBySymbol.get('ETH/USD:USDC')?.id, 'ETH-USDC-PERP');
    assert.equal(index.instrumentBySymbol.get('SOL/USDC')?.id, 'SOL-USDC');
    assert.equal(index.instrumentBySymbol.has('BTC/USD:USDC'), false);
    assert.deepEqual(
      index.skipped.map((s) => s.symbol),
      ['BTC/USD:USDC', 'BTC/USD:BTC'],
    );
    // Canonical first, the alias second: the alias is still the one skipped.
    const reversed = indexCcxtSymbols(['BTC/USDC:USDC', 'BTC/USD:USDC']);
    assert.equal(reversed.symbolByInstrument.get('BTC-USDC-PERP'), 'BTC/USDC:USDC');
    assert.deepEqual(
      reversed.skipped.map((s) => s.symbol),
      ['BTC/USD:USDC'],
    );
  });

  test('instrumentFromVenueMarket names by settle currency (Lighter BTC -> BTC-USDC-PERP)', () => {
    assert.equal(instrumentFromVenueMarket('BTC', 'USDC').id, 'BTC-USDC-PERP');
    assertValidation(() => instrumentFromVenueMarket('BTC.X', 'USDC'), 'market.base');
    assertValidation(() => instrumentFromVenueMarket('BTC', ''), 'market.settle');
  });
});

describe('venue ids and subject tokens', () => {
  test('accepts ccxt ids and paper venues', () => {
    for (const ok of ['paper', 'paper-lighter', 'binanceusdm', 'okx', 'hyperliquid', 'paper-a-b2']) {
      assert.equal(parseVenueId(ok), ok);
      assert.equal(isVenueId(ok), true);
    }
    assert.equal(isPaperVenue('paper'), true);
    assert.equal(isPaperVenue('paper-lighter'), true);
    assert.equal(isPaperVenue('paperx'), false);
    assert.equal(isPaperVenue('okx'), false);
  });

  test('rejects anything else, naming the field and value', () => {
    for (const bad of [
      '',
      'OKX',
      'paper-',
      '-okx',
      'paper--x',
      'ok x',
      'okx.eu',
      'okx*',
      'okx>',
      'a'.repeat(65),
    ]) {
      assertValidation(
        () => parseVenueId(bad, 'config.venues[0].id'),
        'config.venues[0].id',
        JSON.stringify(bad),
      );
      assert.equal(isVenueId(bad), false);
    }
    assertValidation(() => parseVenueId(undefined), 'venue', 'undefined');
  });

  test('subject tokens refuse separators, wildcards, whitespace and control characters', () => {
    for (const ok of ['main', 'acct_1', 'BTC-USDC-PERP', 'a:b'])
      assert.equal(assertSubjectToken(ok, 'account'), ok);
    for (const bad of ['', 'a.b', '*', 'a>', 'a b', 'a\tb', 'a\nb', 'é', 'x'.repeat(129)]) {
      assert.equal(isSubjectToken(bad), false, bad);
      assertValidation(() => assertSubjectToken(bad, 'account'), 'account');
    }
    fc.assert(
      fc.property(fc.string(), (value) => {
        if (isSubjectToken(value)) {
          assert.ok(value.length > 0);
          assert.ok(!/[.*>\s]/.test(value));
        }
      }),
    );
  });
});
