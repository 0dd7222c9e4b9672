/**
 * The scalar field of ECgFp5: integers mod the prime group order n (about 2^319). Scalars are
 * bigints in [0, n); on the wire they are 40-byte little-endian integers.
 */
import type { Fp5 } from './gfp5.js';

export const N =
  1067993516717146951041484916571792702745057740581727230159139685185762082554198619328292418486241n;
export const SCALAR_BYTES = 40;

export function scalarReduce(x: bigint): bigint {
  const r = x % N;
  return r < 0n ? r + N : r;
}

export function scalarAdd(a: bigint, b: bigint): bigint {
  return scalarReduce(a + b);
}

export function scalarSub(a: bigint, b: bigint): bigint {
  return scalarReduce(a - b);
}

export function scalarMul(a: bigint, b: bigint): bigint {
  return scalarReduce(a * b);
}

export function scalarNeg(a: bigint): bigint {
  return scalarReduce(-a);
}

/** Little-endian bytes to an unsigned integer (any length). */
export function bytesToBigIntLE(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

/** Big-endian bytes to an unsigned integer (any length). */
export function bytesToBigIntBE(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

export function bigIntToBytesLE(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = value;
  for (let i = 0; i < length; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new Error(`value does not fit in ${length} bytes`);
  return out;
}

/**
 * Lighter's reading of a 40-byte scalar (ScalarElementFromLittleEndianBytes, v0.0.15): the
 * little-endian integer reduced mod n; values >= n are not rejected.
 */
export function scalarFromBytesLE(bytes: Uint8Array): bigint {
  if (bytes.length !== SCALAR_BYTES)
    throw new Error(`scalar needs ${SCALAR_BYTES} bytes, got ${bytes.length}`);
  return scalarReduce(bytesToBigIntLE(bytes));
}

/** A strict decoder (Pornin's Scalar::decode): the little-endian integer must be < n. */
export function scalarDecodeStrict(bytes: Uint8Array): bigint | undefined {
  const v = bytesToBigIntLE(bytes);
  return v < N ? v : undefined;
}

export function scalarToBytesLE(s: bigint): Uint8Array {
  return bigIntToBytesLE(scalarReduce(s), SCALAR_BYTES);
}

/** 5 little-endian u64 limbs, least significant first (the integer, not reduced). */
export function limbsToBigInt(limbs: readonly bigint[]): bigint {
  let v = 0n;
  for (let i = limbs.length - 1; i >= 0; i--) v = (v << 64n) | limbs[i]!;
  return v;
}

export function bigIntToLimbs(value: bigint, count = 5): bigint[] {
  const out: bigint[] = [];
  let v = value;
  for (let i = 0; i < count; i++) {
    out.push(v & 0xffffffffffffffffn);
    v >>= 64n;
  }
  return out;
}

/**
 * How the Schnorr challenge e is formed from a hash: the 5 canonical limbs of the GF(p^5)
 * element read as a 320-bit little-endian integer, reduced mod n.
 */
export function scalarFromFp5(a: Fp5): bigint {
  return scalarReduce(limbsToBigInt(a));
}

/** The 80 little-endian 4-bit digits of a scalar (the windows of a 4-bit scalar multiplication). */
export function scalarNibbles(s: bigint): number[] {
  const out: number[] = [];
  let v = scalarReduce(s);
  for (let i = 0; i < 80; i++) {
    out.push(Number(v & 0xfn));
    v >>= 4n;
  }
  return out;
}

const MONTGOMERY_R_INVERSE = modInverse(1n << 320n, N);

/** Montgomery product a * b / 2^320 mod n (the representation the official library uses inside). */
export function scalarMontgomeryMul(a: bigint, b: bigint): bigint {
  return scalarReduce(a * b * MONTGOMERY_R_INVERSE);
}

export function scalarPow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = scalarReduce(base);
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % N;
    b = (b * b) % N;
    e >>= 1n;
  }
  return result;
}

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [((a % m) + m) % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new Error('not invertible');
  return ((oldS % m) + m) % m;
}
