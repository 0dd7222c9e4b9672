/**
 * GF(p^5) = GF(p)[z] / (z^5 - 3) over the Goldilocks prime: the field ECgFp5 is defined over.
 * An element is 5 canonical limbs [a0..a4] meaning a0 + a1 z + ... + a4 z^4.
 */
import {
  gl,
  glAdd,
  glFromBytesLE,
  glInverseOrZero,
  glLegendre,
  glMul,
  glNeg,
  glPow,
  glSqrt,
  glSub,
  glToBytesLE,
  P,
} from './goldilocks.js';

export type Fp5 = readonly [bigint, bigint, bigint, bigint, bigint];

/** z^5 = W. */
const W = 3n;

export const FP5_ZERO: Fp5 = [0n, 0n, 0n, 0n, 0n];
export const FP5_ONE: Fp5 = [1n, 0n, 0n, 0n, 0n];

export function fp5(limbs: readonly bigint[]): Fp5 {
  if (limbs.length !== 5) throw new Error(`GF(p^5) element needs 5 limbs, got ${limbs.length}`);
  return [gl(limbs[0]!), gl(limbs[1]!), gl(limbs[2]!), gl(limbs[3]!), gl(limbs[4]!)];
}

export function fp5FromBase(a: bigint): Fp5 {
  return [gl(a), 0n, 0n, 0n, 0n];
}

export function fp5Equals(a: Fp5, b: Fp5): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3] && a[4] === b[4];
}

export function fp5IsZero(a: Fp5): boolean {
  return a[0] === 0n && a[1] === 0n && a[2] === 0n && a[3] === 0n && a[4] === 0n;
}

export function fp5Add(a: Fp5, b: Fp5): Fp5 {
  return [glAdd(a[0], b[0]), glAdd(a[1], b[1]), glAdd(a[2], b[2]), glAdd(a[3], b[3]), glAdd(a[4], b[4])];
}

export function fp5Sub(a: Fp5, b: Fp5): Fp5 {
  return [glSub(a[0], b[0]), glSub(a[1], b[1]), glSub(a[2], b[2]), glSub(a[3], b[3]), glSub(a[4], b[4])];
}

export function fp5Neg(a: Fp5): Fp5 {
  return [glNeg(a[0]), glNeg(a[1]), glNeg(a[2]), glNeg(a[3]), glNeg(a[4])];
}

export function fp5Double(a: Fp5): Fp5 {
  return fp5Add(a, a);
}

/** Multiplies by an element of the base field. */
export function fp5Scale(a: Fp5, k: bigint): Fp5 {
  return [glMul(a[0], k), glMul(a[1], k), glMul(a[2], k), glMul(a[3], k), glMul(a[4], k)];
}

export function fp5Mul(a: Fp5, b: Fp5): Fp5 {
  const [a0, a1, a2, a3, a4] = a;
  const [b0, b1, b2, b3, b4] = b;
  // Products of degree >= 5 wrap around with the factor W (z^5 = 3); one reduction per limb.
  const c0 = a0 * b0 + W * (a1 * b4 + a2 * b3 + a3 * b2 + a4 * b1);
  const c1 = a0 * b1 + a1 * b0 + W * (a2 * b4 + a3 * b3 + a4 * b2);
  const c2 = a0 * b2 + a1 * b1 + a2 * b0 + W * (a3 * b4 + a4 * b3);
  const c3 = a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0 + W * (a4 * b4);
  const c4 = a0 * b4 + a1 * b3 + a2 * b2 + a3 * b1 + a4 * b0;
  return [c0 % P, c1 % P, c2 % P, c3 % P, c4 % P];
}

export function fp5Square(a: Fp5): Fp5 {
  const [a0, a1, a2, a3, a4] = a;
  const c0 = a0 * a0 + 2n * W * (a1 * a4 + a2 * a3);
  const c1 = 2n * a0 * a1 + W * (2n * a2 * a4 + a3 * a3);
  const c2 = 2n * a0 * a2 + a1 * a1 + 2n * W * (a3 * a4);
  const c3 = 2n * (a0 * a3 + a1 * a2) + W * (a4 * a4);
  const c4 = 2n * (a0 * a4 + a1 * a3) + a2 * a2;
  return [c0 % P, c1 % P, c2 % P, c3 % P, c4 % P];
}

// Frobenius: (sum a_i z^i)^(p^k) = sum a_i (z^(p^k))^i and z^(p^k) = GAMMA^k * z, because
// p = 1 mod 5 makes z^(p-1) = W^((p-1)/5), a 5th root of unity in GF(p).
const GAMMA = glPow(W, (P - 1n) / 5n);
const FROBENIUS_FACTORS: readonly (readonly bigint[])[] = [0, 1, 2, 3, 4].map((k) => {
  const gk = glPow(GAMMA, BigInt(k));
  return [0, 1, 2, 3, 4].map((i) => glPow(gk, BigInt(i)));
});

/** a^(p^count). */
export function fp5Frobenius(a: Fp5, count = 1): Fp5 {
  const f = FROBENIUS_FACTORS[((count % 5) + 5) % 5]!;
  return [a[0], glMul(a[1], f[1]!), glMul(a[2], f[2]!), glMul(a[3], f[3]!), glMul(a[4], f[4]!)];
}

/** Only limb 0 of a*b, for products known to lie in GF(p). */
function baseLimbOfProduct(a: Fp5, b: Fp5): bigint {
  return (a[0] * b[0] + W * (a[1] * b[4] + a[2] * b[3] + a[3] * b[2] + a[4] * b[1])) % P;
}

/** a^(p + p^2 + p^3 + p^4), so that a * result = N(a), the norm, lies in GF(p). */
function conjugateProduct(a: Fp5): Fp5 {
  const d = fp5Frobenius(a, 1);
  const e = fp5Mul(d, fp5Frobenius(d, 1));
  return fp5Mul(e, fp5Frobenius(e, 2));
}

/** The norm N(a) = a^((p^5 - 1)/(p - 1)), an element of GF(p). */
export function fp5Norm(a: Fp5): bigint {
  return baseLimbOfProduct(a, conjugateProduct(a));
}

/** Multiplicative inverse; 0 maps to 0 (the library's InverseOrZero). */
export function fp5InverseOrZero(a: Fp5): Fp5 {
  if (fp5IsZero(a)) return FP5_ZERO;
  const f = conjugateProduct(a);
  return fp5Scale(f, glInverseOrZero(baseLimbOfProduct(a, f)));
}

export function fp5Div(a: Fp5, b: Fp5): Fp5 {
  return fp5Mul(a, fp5InverseOrZero(b));
}

/** Legendre symbol as a GF(p) value (1, p-1, or 0): a is a square in GF(p^5) iff N(a) is in GF(p). */
export function fp5Legendre(a: Fp5): bigint {
  return glLegendre(fp5Norm(a));
}

/**
 * A square root, or undefined. With e = a^((p+1)/2 * (p + p^3)) we get a * e^2 = N(a) in GF(p),
 * so sqrt(a) = sqrt(N(a)) / e.
 */
export function fp5Sqrt(a: Fp5): Fp5 | undefined {
  if (fp5IsZero(a)) return FP5_ZERO;
  const d = fp5Pow(a, (P + 1n) / 2n);
  const e = fp5Frobenius(fp5Mul(d, fp5Frobenius(d, 2)), 1);
  const norm = baseLimbOfProduct(a, fp5Square(e));
  const s = glSqrt(norm);
  if (s === undefined) return undefined;
  return fp5Scale(fp5InverseOrZero(e), s);
}

/**
 * The official library's sign bit, computed as it does: walking the limbs, true if a limb is even
 * while all limbs before it are zero. That makes it "limb 0 is even" (a zero limb 0 counts as
 * even). CanonicalSqrt returns the root whose sgn0 is false.
 */
export function fp5Sgn0(a: Fp5): boolean {
  let sign = false;
  let zero = true;
  for (const limb of a) {
    const even = (limb & 1n) === 0n;
    sign = sign || (zero && even);
    zero = zero && limb === 0n;
  }
  return sign;
}

/** The square root whose sgn0 is false (the one the curve decoder uses). */
export function fp5CanonicalSqrt(a: Fp5): Fp5 | undefined {
  const r = fp5Sqrt(a);
  if (r === undefined) return undefined;
  return fp5Sgn0(r) ? fp5Neg(r) : r;
}

export function fp5Pow(a: Fp5, exponent: bigint): Fp5 {
  let result: Fp5 = FP5_ONE;
  let base = a;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = fp5Mul(result, base);
    base = fp5Square(base);
    e >>= 1n;
  }
  return result;
}

/** 40 bytes: each limb as 8 little-endian bytes, limb 0 first. */
export function fp5ToBytesLE(a: Fp5): Uint8Array {
  const out = new Uint8Array(40);
  for (let i = 0; i < 5; i++) out.set(glToBytesLE(a[i]!), 8 * i);
  return out;
}

/** Reads 40 bytes as 5 little-endian u64 limbs, reducing each mod p (no range check, as v0.0.15). */
export function fp5FromBytesLE(bytes: Uint8Array): Fp5 {
  if (bytes.length !== 40) throw new Error(`GF(p^5) element needs 40 bytes, got ${bytes.length}`);
  return [
    glFromBytesLE(bytes, 0),
    glFromBytesLE(bytes, 8),
    glFromBytesLE(bytes, 16),
    glFromBytesLE(bytes, 24),
    glFromBytesLE(bytes, 32),
  ];
}
