/**
 * The `emulators` section: defaults, errors naming the field, embedded mode only, and the
 * emulators component placed before the venues (so it stops after them).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLogger, parseConfig } from '@perpmesh/runtime';
import { buildEmbeddedComponents, embeddedConfigSchema } from './embedded.js';
import { emulatorsInUse } from './emulators.js';

const logger = createLogger({ service: 'emulators-test', level: 'silent' });
const venues = { paper: { kind: 'paper', instruments: ['BTC-USDC-PERP'], accounts: { main: {} } } };
const parse = (raw: object) => parseConfig(embeddedConfigSchema, { venues, ...raw }, { env: {} }).config;

describe('emulators config section', () => {
  test('off by default, with the runner’s ports and seed', () => {
    const config = parse({});
    assert.deepEqual(config.emulators, {
      start: false,
      seed: 42,
      binanceusdm: { port: 4100 },
      hyperliquid: { port: 4200 },
      lighter: { port: 0 },
    });
    const names = buildEmbeddedComponents(config, logger).components.map((c) => c.name);
    assert.ok(!names.includes('emulators'));
  });

  test('start: true puts the emulators right before the venues', () => {
    const config = parse({ emulators: { start: true, hyperliquid: { port: 0 } } });
    assert.equal(config.emulators.hyperliquid.port, 0);
    const names = buildEmbeddedComponents(config, logger).components.map((c) => c.name);
    assert.equal(names.indexOf('emulators') + 1, names.indexOf('venues'));
  });

  test('an emulated Extended runs only when its entry is there (default port 4400)', () => {
    assert.deepEqual(parse({ emulators: { extended: {} } }).emulators.extended, { port: 4400 });
    assert.deepEqual(parse({ emulators: { extended: { port: 0 } } }).emulators.extended, { port: 0 });
    assert.throws(() => parse({ emulators: { extended: { port: -1 } } }), /emulators\.extended\.port/);
  });

  test('bad values are errors naming the field', () => {
    assert.throws(
      () => parse({ emulators: { binanceusdm: { port: 70000 } } }),
      /emulators\.binanceusdm\.port/,
    );
    assert.throws(() => parse({ emulators: { start: 'yes' } }), /emulators\.start/);
    assert.throws(() => parse({ emulators: { bogus: 1 } }), /emulators/);
  });

  test('distributed mode refuses to start them in process', () => {
    const config = parse({ mode: 'distributed', emulators: { start: true } });
    assert.throws(() => buildEmbeddedComponents(config, logger), /emulators\.start.*embedded mode/);
  });
});

describe('which emulators run: only those a configured venue uses', () => {
  const section = (raw: object) => parse({ emulators: { start: true, ...raw } }).emulators;
  const binance = { kind: 'binanceusdm', baseUrl: 'http://127.0.0.1:4100' };
  const hyperliquid = { kind: 'hyperliquid', baseUrl: 'http://localhost:4200' };

  test('config/emulated.yaml: Binance and Hyperliquid, not Lighter or Extended', () => {
    assert.deepEqual(emulatorsInUse(section({}), { binance, hyperliquid }), {
      binanceusdm: 4100,
      hyperliquid: 4200,
    });
  });

  test('config/emulated-dex.yaml: Lighter and Extended, not the default Binance/Hyperliquid ports', () => {
    const venues = {
      lighter: { kind: 'lighter', baseUrl: 'http://127.0.0.1:4300' },
      extended: { kind: 'extended', baseUrl: 'http://127.0.0.1:4400' },
    };
    assert.deepEqual(emulatorsInUse(section({ lighter: { port: 4300 }, extended: {} }), venues), {
      lighter: 4300,
      extended: 4400,
    });
  });

  test('one venue of two: only its emulator', () => {
    assert.deepEqual(emulatorsInUse(section({}), { paper: { kind: 'paper' }, binance }), {
      binanceusdm: 4100,
    });
  });

  test('no match: another port, a remote host, another kind, port 0, Extended without its entry', () => {
    const venues = {
      elsewhere: { kind: 'binanceusdm', baseUrl: 'http://127.0.0.1:4999' },
      remote: { kind: 'hyperliquid', baseUrl: 'https://api.hyperliquid.xyz' },
      wrongKind: { kind: 'okx', baseUrl: 'http://127.0.0.1:4100' },
      lighter: { kind: 'lighter', baseUrl: 'http://127.0.0.1:80' },
      extended: { kind: 'extended', baseUrl: 'http://127.0.0.1:4400' },
    };
    assert.deepEqual(emulatorsInUse(section({}), venues), {});
  });
});
