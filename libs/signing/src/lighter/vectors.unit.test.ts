/** The Lighter known-answer vectors: every bundled case passes, and the runner can fail (wrong values, unknown sections) without leaking keys. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { LIGHTER_VECTORS_URL, lighterSelfTest } from './self-test.js';
import { runLighterVectors } from './vectors.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests edit arbitrary paths of the parsed JSON
type Json = Record<string, any>;
const load = (): Json => JSON.parse(readFileSync(LIGHTER_VECTORS_URL, 'utf8'));

/** Runs the top-level part of a file holding `section` and returns that section's results. */
function sectionResults(file: Json, section: string) {
  const top = section.split('/')[0]!;
  return runLighterVectors({ [top]: file[top] }).filter((r) => r.section === section);
}

/** Changes the last hex digit / decimal digit of a value so it is wrong but well-formed. */
function corruptHex(hex: string): string {
  return hex.slice(0, -1) + (hex.endsWith('0') ? '1' : '0');
}
function corruptDecimal(d: string): string {
  return d === '0' ? '1' : (BigInt(d) - 1n).toString();
}

describe('Lighter vectors', () => {
  test('every case of the bundled file passes, and every section is run', () => {
    const { ok, results } = lighterSelfTest();
    const failures = results.filter((r) => !r.ok);
    assert.deepEqual(failures, []);
    assert.equal(ok, true);
    const sections = new Set(results.map((r) => r.section));
    for (const s of [
      'goldilocks/binary',
      'gfp5/generated',
      'poseidon2/official/permute',
      'ecgfp5/official/group_vectors',
      'ecgfp5/scalar_field/official/from_gfp5',
      'keys/cases',
      'keys/from_seed',
      'schnorr/official/deterministic_k',
      'schnorr/generated/verify_cases',
      'transactions/create_order',
      'transactions/other_tx_types',
      'transactions/attributes_hash',
      'auth_token/cases',
    ]) {
      assert.ok(sections.has(s), `section ${s} was run`);
    }
    assert.ok(results.length > 500, `ran ${results.length} cases`);
  });

  test('an unknown section is a failed case, not skipped', () => {
    const file = load();
    file.schnorr.generated.batch_verify = { cases: [{ x: 1 }] };
    file.brand_new = { cases: [] };
    const failed = runLighterVectors(file).filter((r) => !r.ok);
    assert.deepEqual(
      failed.map((r) => [r.section, r.detail]),
      [
        ['schnorr/generated/batch_verify/cases', 'unknown section schnorr/generated/batch_verify/cases'],
        ['brand_new/cases', 'unknown section brand_new/cases'],
      ],
    );
  });

  test('a file that is not an object fails', () => {
    assert.equal(runLighterVectors(null)[0]?.ok, false);
    assert.equal(runLighterVectors({ description: 'x' })[0]?.ok, false);
  });

  const mutations: [string, string, (f: Json) => void][] = [
    [
      'goldilocks/binary',
      '3',
      (f) => (f.goldilocks.binary.cases[3].mul = corruptDecimal(f.goldilocks.binary.cases[3].mul)),
    ],
    ['goldilocks/unary', '7', (f) => (f.goldilocks.unary.cases[7].inverse_or_zero = '5')],
    ['gfp5/official/inverse', '0', (f) => (f.gfp5.official.inverse[0].inverse[2] = '7')],
    [
      'gfp5/official/sqrt',
      '0',
      (f) => (f.gfp5.official.sqrt[0].canonical_sqrt = f.gfp5.official.sqrt[0].sqrt),
    ],
    ['poseidon2/official/permute', '0', (f) => (f.poseidon2.official.permute[0].output[11] = '1')],
    [
      'poseidon2/generated/hash',
      '5',
      (f) => (f.poseidon2.generated.hash.cases[5].hash_to_quintic_extension[4] = '0'),
    ],
    ['ecgfp5/generated/mulgen', '3', (f) => (f.ecgfp5.generated.mulgen.cases[3].kG_encoded[0] = '4')],
    [
      'ecgfp5/official/invalid_encodings',
      'invalid w 0',
      (f) => (f.ecgfp5.official.invalid_encodings.w[0] = ['4', '0', '0', '0', '0']),
    ],
    ['ecgfp5/official/projective/add', '0', (f) => (f.ecgfp5.official.projective.add[0].sum.x[0] = '1')],
    [
      'keys/cases',
      'two',
      (f) => (f.keys.cases[1].public_key_hex = corruptHex(f.keys.cases[1].public_key_hex)),
    ],
    [
      'schnorr/generated/deterministic_k',
      '2',
      (f) =>
        (f.schnorr.generated.deterministic_k.cases[2].sig_hex = corruptHex(
          f.schnorr.generated.deterministic_k.cases[2].sig_hex,
        )),
    ],
    [
      'schnorr/generated/verify_cases',
      'e_bit_flipped',
      (f) => (f.schnorr.generated.verify_cases.cases[1].valid_official = true),
    ],
    [
      'transactions/create_order',
      'stop_loss_sell',
      (f) => (f.transactions.create_order.cases[2].inputs.price = 4294967294),
    ],
    [
      'transactions/other_tx_types',
      'cancel_order_skip_nonce_true',
      (f) => (f.transactions.other_tx_types.cases[1].inputs.skipNonce = false),
    ],
    [
      'auth_token/cases',
      '0',
      (f) =>
        (f.auth_token.cases[0].deterministic_token = corruptHex(f.auth_token.cases[0].deterministic_token)),
    ],
  ];
  for (const [section, name, mutate] of mutations) {
    test(`a wrong expected value fails its case: ${section} ${name}`, () => {
      const file = load();
      mutate(file);
      const results = sectionResults(file, section);
      const failed = results.filter((r) => !r.ok);
      assert.deepEqual(
        failed.map((r) => r.name),
        [name],
        `only the changed case fails: ${JSON.stringify(failed)}`,
      );
      assert.ok(failed[0]?.detail, 'the failure says what differed');
    });
  }

  test('a failing key case never shows the private key', () => {
    const file = load();
    const keyCase = file.keys.cases[5];
    const seedCase = file.keys.from_seed.cases[0];
    const secrets = [keyCase.private_key_hex, keyCase.scalar_canonical_le_hex, seedCase.private_key_hex];
    keyCase.scalar_canonical_le_hex = corruptHex(keyCase.scalar_canonical_le_hex);
    seedCase.private_key_hex = corruptHex(seedCase.private_key_hex);
    file.transactions.create_order.cases[0].private_key_hex = 'zz';
    const failed = runLighterVectors({ keys: file.keys, transactions: file.transactions }).filter(
      (r) => !r.ok,
    );
    assert.equal(failed.length, 3);
    for (const r of failed) {
      for (const s of secrets) assert.ok(!r.detail?.includes(s.slice(0, 16)), `no key in: ${r.detail}`);
      assert.ok(!r.detail?.includes(corruptHex(seedCase.private_key_hex).slice(0, 16)));
    }
  });
});
