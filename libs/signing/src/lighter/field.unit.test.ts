/** Goldilocks and GF(p^5) arithmetic: field laws, inverses, square roots, Frobenius, byte round trips. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  FP5_ONE,
  FP5_ZERO,
  type Fp5,
  fp5,
  fp5Add,
  fp5CanonicalSqrt,
  fp5Div,
  fp5Equals,
  fp5Frobenius,
  fp5FromBytesLE,
  fp5InverseOrZero,
  fp5Legendre,
  fp5Mul,
  fp5Neg,
  fp5Pow,
  fp5Sgn0,
  fp5Sqrt,
  fp5Square,
  fp5Sub,
  fp5ToBytesLE,
} from './gfp5.js';
import { gl, glInverseOrZero, glIsSquare, glMul, glSqrt, glSquare, P } from './goldilocks.js';

const arbGl = fc.bigInt({ min: 0n, max: P - 1n });
const arbFp5 = fc.tuple(arbGl, arbGl, arbGl, arbGl, arbGl).map((l) => fp5(l));
const arbFp5NonZero = arbFp5.filter((a) => !fp5Equals(a, FP5_ZERO));

describe('Goldilocks', () => {
  test('inverse, and square roots of squares', () => {
    fc.assert(
      fc.property(arbGl, (a) => {
        if (a !== 0n) assert.equal(glMul(a, glInverseOrZero(a)), 1n);
        const s = glSqrt(glSquare(a));
        assert.ok(s !== undefined && glSquare(s) === glSquare(a));
        assert.equal(glIsSquare(glSquare(a)), true);
      }),
    );
    assert.equal(glInverseOrZero(0n), 0n);
    assert.equal(glSqrt(7n), undefined, '7 generates the group, so it is not a square');
  });

  test('inputs >= p are reduced', () => {
    assert.equal(gl(P), 0n);
    assert.equal(gl((1n << 64n) - 1n), (1n << 32n) - 2n);
  });
});

describe('GF(p^5)', () => {
  test('z^5 = 3', () => {
    assert.deepEqual(fp5Pow([0n, 1n, 0n, 0n, 0n], 5n), [3n, 0n, 0n, 0n, 0n]);
  });

  test('ring laws and square = mul', () => {
    fc.assert(
      fc.property(arbFp5, arbFp5, arbFp5, (a, b, c) => {
        assert.deepEqual(fp5Mul(a, b), fp5Mul(b, a));
        assert.deepEqual(fp5Mul(a, fp5Add(b, c)), fp5Add(fp5Mul(a, b), fp5Mul(a, c)));
        assert.deepEqual(fp5Mul(fp5Mul(a, b), c), fp5Mul(a, fp5Mul(b, c)));
        assert.deepEqual(fp5Square(a), fp5Mul(a, a));
        assert.deepEqual(fp5Sub(fp5Add(a, b), b), a);
      }),
      { numRuns: 50 },
    );
  });

  test('inverse and division', () => {
    fc.assert(
      fc.property(arbFp5NonZero, arbFp5, (a, b) => {
        assert.deepEqual(fp5Mul(a, fp5InverseOrZero(a)), FP5_ONE);
        assert.deepEqual(fp5Mul(fp5Div(b, a), a), b);
      }),
      { numRuns: 50 },
    );
    assert.deepEqual(fp5InverseOrZero(FP5_ZERO), FP5_ZERO);
  });

  test('Frobenius is a^p and has order 5', () => {
    fc.assert(
      fc.property(arbFp5, (a) => {
        assert.deepEqual(fp5Frobenius(a, 1), fp5Pow(a, P));
        let x: Fp5 = a;
        for (let i = 0; i < 5; i++) x = fp5Frobenius(x, 1);
        assert.deepEqual(x, a);
      }),
      { numRuns: 10 },
    );
  });

  test('square roots: squares have a canonical root (sgn0 false when a root has one); legendre agrees', () => {
    fc.assert(
      fc.property(arbFp5NonZero, (a) => {
        const sq = fp5Square(a);
        assert.equal(fp5Legendre(sq), 1n);
        const r = fp5CanonicalSqrt(sq);
        assert.ok(r);
        assert.deepEqual(fp5Square(r), sq);
        // sgn0 as the official library computes it is "limb 0 is even", so when limb 0 of
        // the root is 0 both roots carry it; otherwise the canonical one is the false one.
        assert.equal(fp5Sgn0(r), fp5Sgn0(r) && fp5Sgn0(fp5Neg(r)));
        const legendre = fp5Legendre(a);
        assert.equal(fp5Sqrt(a) !== undefined, legendre === 1n);
      }),
      { numRuns: 30 },
    );
  });

  test('square root of a square whose roots have limb 0 = 0 (the shrunk counterexample x^4)', () => {
    const a = fp5([0n, 0n, 0n, 0n, 1n]);
    const r = fp5CanonicalSqrt(fp5Square(a));
    assert.ok(r);
    assert.deepEqual(fp5Square(r), fp5Square(a));
  });

  test('40-byte little-endian round trip', () => {
    fc.assert(
      fc.property(arbFp5, (a) => {
        const bytes = fp5ToBytesLE(a);
        assert.equal(bytes.length, 40);
        assert.deepEqual(fp5FromBytesLE(bytes), a);
      }),
    );
    assert.equal(Buffer.from(fp5ToBytesLE([4n, 0n, 0n, 0n, 0n])).toString('hex'), `04${'0'.repeat(78)}`);
  });
});
