import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { bundledVectorsUrl } from '../selftest.js';
import { extendedSelfTest, runExtendedVectors } from './vectors.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests corrupt arbitrary fields of the parsed JSON
type Json = Record<string, any>;
const bundled = (): Json => JSON.parse(readFileSync(bundledVectorsUrl('extended'), 'utf8'));
const failures = (file: unknown) => runExtendedVectors(file).filter((r) => !r.ok);
const PRIVATE_KEYS = (file: Json): string[] =>
  [
    ...file.orders.map((o: Json) => o.inputs.stark_private_key),
    ...file.stark_keys.map((k: Json) => k.stark_private_key),
  ]
    .filter((k) => BigInt(k) > 1n)
    .map((k: string) => k.slice(2));

describe('Extended vectors', () => {
  test('every bundled case passes, in every section', () => {
    const results = extendedSelfTest();
    assert.deepEqual(
      results.filter((r) => !r.ok),
      [],
    );
    const sections = new Set(results.map((r) => r.section));
    assert.deepEqual([...sections].sort(), [
      'ccxt_create_order_request',
      'official_rust_unit_tests',
      'orders',
      'stark_keys',
    ]);
    const file = bundled();
    assert.equal(
      results.length,
      file.orders.length + file.official_rust_unit_tests.vectors.length + file.stark_keys.length + 1,
    );
  });

  const corruptions: [string, (f: Json) => void, RegExp][] = [
    [
      'wrong order message hash',
      (f) => (f.orders[2].order_msg_hash = '0x1234'),
      /order_msg_hash: expected 0x1234/,
    ],
    ['wrong official id', (f) => (f.orders[2].official_expected.id = '12'), /official_expected\.id/],
    [
      'wrong ccxt signature s',
      (f) => (f.orders[2].signature_ccxt.s = '0x5'),
      /signature_ccxt\.s.*signature_ccxt: does not verify/,
    ],
    ['wrong amount', (f) => (f.orders[2].amounts.feeAmount = '21724'), /amounts\.feeAmount: expected 21724/],
    ['wrong hash element', (f) => (f.orders[2].hash_elements.salt = '1'), /hash_elements\.salt/],
    ['wrong domain hash', (f) => (f.orders[2].domain_hash = '0x2'), /domain_hash/],
    ['wrong public key', (f) => (f.orders[2].stark_public_key = '0x3'), /stark_public_key/],
    [
      'changed input',
      (f) => (f.orders[2].inputs.qty = '0.00100001'),
      /amounts\.quoteAmount: expected 43445116, got 43445551/,
    ],
    [
      'expiry that breaks the settlement expiration rule',
      (f) => (f.orders[2].inputs.expiryEpochMillis += 1000),
      /settlementExpiration/,
    ],
    ['missing input', (f) => delete f.orders[2].inputs.price, /missing field inputs\.price/],
    ['unknown field', (f) => (f.orders[2].expected_extra_hash = '0x1'), /unknown field expected_extra_hash/],
  ];
  for (const [what, corrupt, detail] of corruptions) {
    test(`${what}: fails its case only, and no detail holds a private key`, () => {
      const file = bundled();
      corrupt(file);
      const failed = failures(file);
      assert.equal(failed.length, 1, JSON.stringify(failed));
      assert.equal(failed[0]!.section, 'orders');
      assert.equal(failed[0]!.name, file.orders[2].name);
      assert.match(failed[0]!.detail ?? '', detail);
      for (const key of PRIVATE_KEYS(bundled())) assert.ok(!failed[0]!.detail!.includes(key));
    });
  }

  test('a case without a private key is verify-only: its signatures must verify under its public key', () => {
    const file = bundled();
    for (const order of file.orders) delete order.inputs.stark_private_key;
    assert.deepEqual(failures(file), []);
    file.orders[0].signature_official_wasm.s = file.orders[1].signature_official_wasm.s;
    const failed = failures(file);
    assert.equal(failed.length, 1);
    assert.match(
      failed[0]?.detail ?? '',
      /(^|; )signature_official_wasm: does not verify over the computed hash/,
    );
  });

  test('the request body, Rust unit-test and key sections catch a wrong value', () => {
    const file = bundled();
    file.ccxt_create_order_request.request.settlement.signature.r = '0x719bae';
    file.official_rust_unit_tests.vectors[3].expected_decimal = '7';
    file.stark_keys[1].stark_public_key = '0x1';
    const failed = failures(file).map((r) => r.section);
    assert.deepEqual(failed, ['ccxt_create_order_request', 'official_rust_unit_tests', 'stark_keys']);
  });

  test('a Rust vector the official test marks ok: false passes only when it differs', () => {
    const file = bundled();
    file.official_rust_unit_tests.vectors[0].ok = false;
    assert.match(failures(file)[0]?.detail ?? '', /ok: false/);
    file.official_rust_unit_tests.vectors[0].expected = '0x1';
    assert.deepEqual(failures(file), []);
  });

  test('unknown and malformed sections fail, never skip', () => {
    const file = bundled();
    file.limit_orders_v2 = [{ name: 'x' }];
    file.stark_keys = {};
    const failed = failures(file);
    assert.deepEqual(
      failed.map((r) => `${r.section}/${r.name}`),
      ['stark_keys/(section)', 'limit_orders_v2/(section)'],
    );
    assert.match(failures({ description: 'Extended', orders: [] })[0]?.detail ?? '', /no cases/);
    assert.match(failures({ description: 'Extended' })[0]?.detail ?? '', /no test sections/);
    assert.match(failures(42)[0]?.detail ?? '', /not a JSON object/);
  });
});
