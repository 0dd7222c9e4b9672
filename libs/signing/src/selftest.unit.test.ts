import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runSignerVectors, selfTestSigners } from './index.js';
import {
  createSignerSelfTest,
  detectSignerVectorsKind,
  SignerSelfTestError,
  UnknownVectorsFormatError,
} from './selftest.js';
import type { VectorCaseResult } from './vectors.js';

const LIGHTER_LIKE = {
  description: 'Known-answer test vectors for the Lighter (zkLighter) L2 signer',
  goldilocks: {},
};
const EXTENDED_LIKE = { description: 'Extended (Starknet) order signing', orders: [] };

describe('signer vectors format', () => {
  test('detected by its sections, else by its description', () => {
    assert.equal(detectSignerVectorsKind(LIGHTER_LIKE), 'lighter');
    assert.equal(detectSignerVectorsKind({ schnorr: {} }), 'lighter');
    assert.equal(detectSignerVectorsKind(EXTENDED_LIKE), 'extended');
    assert.equal(detectSignerVectorsKind({ stark_keys: [] }), 'extended');
    assert.equal(
      detectSignerVectorsKind({ description: 'Extended (Starknet) vectors', new_section: [] }),
      'extended',
    );
    assert.equal(detectSignerVectorsKind({ description: 'zkLighter vectors' }), 'lighter');
  });

  test('neither, both or not an object is an unknown format', () => {
    for (const file of [{}, { description: 'something else' }, { orders: [], schnorr: {} }, [], 'x', null]) {
      assert.throws(() => detectSignerVectorsKind(file), UnknownVectorsFormatError);
    }
  });
});

describe('signer self-test registry', () => {
  const passing = (file: unknown): VectorCaseResult[] => [
    { section: 's', name: JSON.stringify(file).length.toString(), ok: true },
  ];
  const failing = (): VectorCaseResult[] => [
    { section: 's', name: 'c', ok: false, detail: 'expected 1, got 2' },
  ];

  test('a file goes to its signer; a signer missing from the build fails every run', () => {
    const selfTest = createSignerSelfTest({ extended: passing });
    assert.equal(selfTest.runSignerVectors(EXTENDED_LIKE).kind, 'extended');
    assert.ok(selfTest.runSignerVectors(EXTENDED_LIKE).results.every((r) => r.ok));
    const lighter = selfTest.runSignerVectors(LIGHTER_LIKE);
    assert.equal(lighter.kind, 'lighter');
    assert.deepEqual(lighter.results, [
      { section: 'file', name: '(file)', ok: false, detail: 'no Lighter signer in this build' },
    ]);
    const withLighter = createSignerSelfTest({ extended: passing, lighter: failing });
    assert.deepEqual(withLighter.runSignerVectors(LIGHTER_LIKE).results, failing());
  });

  test('the bundled self-test runs every registered signer, and require refuses on a failure', () => {
    const ok = createSignerSelfTest({ extended: passing });
    assert.deepEqual(
      ok.selfTestSigners().map((r) => r.kind),
      ['extended'],
    );
    ok.requireSignersSelfTest();
    const bad = createSignerSelfTest({ extended: failing });
    assert.throws(
      () => bad.requireSignersSelfTest(),
      (e: unknown) =>
        e instanceof SignerSelfTestError &&
        /refusing to sign.*extended s\/c: expected 1, got 2/.test(e.message),
    );
  });

  test('this build: the bundled Extended vectors pass', () => {
    const runs = selfTestSigners();
    const extended = runs.find((r) => r.kind === 'extended');
    assert.ok(extended && extended.results.length > 10);
    assert.deepEqual(
      extended.results.filter((r) => !r.ok),
      [],
    );
    assert.equal(runSignerVectors(EXTENDED_LIKE).kind, 'extended');
  });
});
