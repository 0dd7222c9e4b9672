/**
 * The Goldilocks prime field GF(p), p = 2^64 - 2^32 + 1, in bigint. Elements are canonical
 * bigints in [0, p); `gl()` reduces any non-negative input (the official library accepts u64
 * values >= p and reduces them, so we do too).
 */

export const P = 0xffffffff00000001n;
const P_MINUS_1 = P - 1n;
const U64_MASK = (1n << 64n) - 1n;

/** Reduces a non-negative (or negative) integer into [0, p). */
export function gl(x: bigint): bigint {
  const r = x % P;
  return r < 0n ? r + P : r;
}

export function glAdd(a: bigint, b: bigint): bigint {
  const s = a + b;
  return s >= P ? s - P : s;
}

export function glSub(a: bigint, b: bigint): bigint {
  const d = a - b;
  return d < 0n ? d + P : d;
}

export function glNeg(a: bigint): bigint {
  return a === 0n ? 0n : P - a;
}

export function glMul(a: bigint, b: bigint): bigint {
  return (a * b) % P;
}

export function glSquare(a: bigint): bigint {
  return (a * a) % P;
}

export function glPow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = gl(base);
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

/** Multiplicative inverse; 0 maps to 0 (the library's InverseOrZero). */
export function glInverseOrZero(a: bigint): bigint {
  if (a === 0n) return 0n;
  return glPow(a, P - 2n);
}

/** Euler's criterion; 0 counts as a square (as the library's IsQuadraticResidue). */
export function glIsSquare(a: bigint): boolean {
  if (a === 0n) return true;
  return glPow(a, P_MINUS_1 / 2n) === 1n;
}

/** Legendre symbol as a field element: 1, p-1 or 0. */
export function glLegendre(a: bigint): bigint {
  return glPow(a, P_MINUS_1 / 2n);
}

// p - 1 = 2^32 * (2^32 - 1); 7 generates the multiplicative group.
const TWO_ADICITY = 32n;
const ODD_PART = P_MINUS_1 >> TWO_ADICITY;
const MULTIPLICATIVE_GENERATOR = 7n;

/** A square root (Tonelli-Shanks), or undefined for a non-square. Either root may come back. */
export function glSqrt(a: bigint): bigint | undefined {
  if (a === 0n) return 0n;
  if (!glIsSquare(a)) return undefined;
  let m = TWO_ADICITY;
  let c = glPow(MULTIPLICATIVE_GENERATOR, ODD_PART);
  let t = glPow(a, ODD_PART);
  let r = glPow(a, (ODD_PART + 1n) / 2n);
  while (t !== 1n) {
    let i = 0n;
    let t2 = t;
    while (t2 !== 1n) {
      t2 = glSquare(t2);
      i++;
    }
    let b = c;
    for (let j = 0n; j < m - i - 1n; j++) b = glSquare(b);
    m = i;
    c = glSquare(b);
    t = glMul(t, c);
    r = glMul(r, b);
  }
  return r;
}

/** 8 bytes little-endian, canonical. */
export function glToBytesLE(a: bigint): Uint8Array {
  const out = new Uint8Array(8);
  let v = a;
  for (let i = 0; i < 8; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Reads 8 little-endian bytes as a u64 and reduces it mod p (no range check, as the library). */
export function glFromBytesLE(bytes: Uint8Array, offset = 0): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(bytes[offset + i] ?? 0);
  return gl(v);
}

/** Parses a decimal u64 (string or number) as the library does: any u64, reduced mod p. */
export function parseU64(value: unknown, what: string): bigint {
  let v: bigint;
  if (typeof value === 'bigint') v = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) v = BigInt(value);
  else if (typeof value === 'string' && /^[0-9]+$/.test(value)) v = BigInt(value);
  else throw new Error(`${what}: expected a u64 as a decimal string or integer`);
  if (v < 0n || v > U64_MASK) throw new Error(`${what}: out of u64 range`);
  return v;
}
