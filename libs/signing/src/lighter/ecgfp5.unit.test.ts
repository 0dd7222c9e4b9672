/** The ECgFp5 group: group law against scalar arithmetic, encode/decode round trip, order n, fixed-base = generic multiplication. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  GENERATOR,
  isNeutral,
  mulGenerator,
  NEUTRAL,
  pointAdd,
  pointDecode,
  pointDouble,
  pointEncode,
  pointEquals,
  pointMul,
  pointNeg,
} from './ecgfp5.js';
import { fp5Equals, fp5Neg } from './gfp5.js';
import { N, scalarAdd, scalarMul } from './scalar.js';

const arbScalar = fc.bigInt({ min: 0n, max: N - 1n });

describe('ECgFp5', () => {
  test('the generator encodes to 4 and the neutral to 0', () => {
    assert.deepEqual(pointEncode(GENERATOR), [4n, 0n, 0n, 0n, 0n]);
    assert.deepEqual(pointEncode(NEUTRAL), [0n, 0n, 0n, 0n, 0n]);
    assert.ok(isNeutral(pointDecode([0n, 0n, 0n, 0n, 0n])!));
  });

  test('n G is the neutral, (n - 1) G = -G', () => {
    assert.ok(isNeutral(pointMul(GENERATOR, N)));
    assert.ok(pointEquals(mulGenerator(N - 1n), pointNeg(GENERATOR)));
  });

  test('group law agrees with scalar arithmetic', () => {
    fc.assert(
      fc.property(arbScalar, arbScalar, (a, b) => {
        const aG = mulGenerator(a);
        const bG = mulGenerator(b);
        assert.ok(pointEquals(pointAdd(aG, bG), mulGenerator(scalarAdd(a, b))));
        assert.ok(pointEquals(pointDouble(aG), pointAdd(aG, aG)));
        assert.ok(pointEquals(pointMul(aG, b), mulGenerator(scalarMul(a, b))));
        assert.ok(isNeutral(pointAdd(aG, pointNeg(aG))));
      }),
      { numRuns: 8 },
    );
  });

  test('encode/decode round trip; negation negates the encoding', () => {
    fc.assert(
      fc.property(arbScalar, (k) => {
        const p = mulGenerator(k);
        const w = pointEncode(p);
        const back = pointDecode(w);
        assert.ok(back && pointEquals(back, p));
        assert.ok(fp5Equals(pointEncode(pointNeg(p)), fp5Neg(w)));
      }),
      { numRuns: 10 },
    );
  });

  test('not every w decodes', () => {
    let failures = 0;
    for (let i = 1n; i < 40n; i++) if (pointDecode([i, 1n, 0n, 0n, 0n]) === undefined) failures++;
    assert.ok(failures > 5, `about half of all w fail to decode, got ${failures}/39`);
  });
});
