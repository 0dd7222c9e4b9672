/**
 * The ECgFp5 group (Pornin, 2022) over GF(p^5): curve y^2 = x (x^2 + a x + b), a = 2, b = 263 z,
 * prime group order n, each group element encoded as a single GF(p^5) element w (neutral: w = 0).
 *
 * Inside, a group element is held as the matching point of the prime-order subgroup of the
 * isomorphic short Weierstrass curve Y^2 = X^3 + A X + B (X = x + a/3), in Jacobian coordinates
 * (X/Z^2, Y/Z^3; Z = 0 is the neutral). That is the model the official verifier uses: decoding w
 * picks the root x of x^2 - (w^2 - a) x + b = 0 that is a square and sets y = -w x; encoding is
 * w = y / (a/3 - X).
 */
import {
  FP5_ONE,
  FP5_ZERO,
  type Fp5,
  fp5Add,
  fp5CanonicalSqrt,
  fp5Div,
  fp5Double,
  fp5Equals,
  fp5FromBase,
  fp5InverseOrZero,
  fp5IsZero,
  fp5Legendre,
  fp5Mul,
  fp5Neg,
  fp5Square,
  fp5Sub,
} from './gfp5.js';
import { glInverseOrZero, glMul } from './goldilocks.js';
import { scalarReduce } from './scalar.js';

const INV3 = glInverseOrZero(3n);

/** Curve constants of the (x, w) model. */
export const CURVE_A: Fp5 = fp5FromBase(2n);
export const CURVE_B: Fp5 = [0n, 263n, 0n, 0n, 0n];
const CURVE_B_TIMES_4: Fp5 = fp5Add(fp5Double(CURVE_B), fp5Double(CURVE_B));
/** a/3: X = x + a/3. */
const A_OVER_3: Fp5 = fp5FromBase(glMul(2n, INV3));
/** A = b - a^2/3 of the short Weierstrass model. */
export const WEIERSTRASS_A: Fp5 = fp5Sub(CURVE_B, fp5FromBase(glMul(4n, INV3)));
const HALF: Fp5 = fp5InverseOrZero(fp5FromBase(2n));

/** A group element: Jacobian coordinates on the short Weierstrass model; z = 0 is the neutral. */
export interface EcPoint {
  readonly x: Fp5;
  readonly y: Fp5;
  readonly z: Fp5;
}

/** An affine short Weierstrass point, the form the official vectors list. */
export interface WeierstrassAffine {
  readonly X: Fp5;
  readonly Y: Fp5;
  readonly isInf: boolean;
}

export const NEUTRAL: EcPoint = { x: FP5_ONE, y: FP5_ONE, z: FP5_ZERO };

export function isNeutral(p: EcPoint): boolean {
  return fp5IsZero(p.z);
}

export function pointFromAffine(a: WeierstrassAffine): EcPoint {
  return a.isInf ? NEUTRAL : { x: a.X, y: a.Y, z: FP5_ONE };
}

export function pointToAffine(p: EcPoint): WeierstrassAffine {
  if (isNeutral(p)) return { X: FP5_ZERO, Y: FP5_ZERO, isInf: true };
  const zInv = fp5InverseOrZero(p.z);
  const zInv2 = fp5Square(zInv);
  return { X: fp5Mul(p.x, zInv2), Y: fp5Mul(p.y, fp5Mul(zInv2, zInv)), isInf: false };
}

/** Decodes w; undefined when w is not the encoding of a group element. */
export function pointDecode(w: Fp5): EcPoint | undefined {
  if (fp5IsZero(w)) return NEUTRAL;
  const e = fp5Sub(fp5Square(w), CURVE_A);
  const delta = fp5Sub(fp5Square(e), CURVE_B_TIMES_4);
  const r = fp5CanonicalSqrt(delta);
  if (r === undefined) return undefined;
  const x1 = fp5Mul(fp5Add(e, r), HALF);
  const x2 = fp5Mul(fp5Sub(e, r), HALF);
  // Exactly one root is a square; that one is the x of the prime-order-subgroup point.
  const x = fp5Legendre(x1) === 1n ? x1 : x2;
  return { x: fp5Add(x, A_OVER_3), y: fp5Neg(fp5Mul(w, x)), z: FP5_ONE };
}

/** w = y / (a/3 - X) in affine terms; with Jacobian coordinates w = Y / (Z (a/3 Z^2 - X)). */
export function pointEncode(p: EcPoint): Fp5 {
  if (isNeutral(p)) return FP5_ZERO;
  const zz = fp5Square(p.z);
  const den = fp5Mul(p.z, fp5Sub(fp5Mul(A_OVER_3, zz), p.x));
  return fp5Div(p.y, den);
}

export function pointNeg(p: EcPoint): EcPoint {
  return { x: p.x, y: fp5Neg(p.y), z: p.z };
}

export function pointDouble(p: EcPoint): EcPoint {
  if (isNeutral(p)) return p;
  const xx = fp5Square(p.x);
  const yy = fp5Square(p.y);
  const yyyy = fp5Square(yy);
  const zz = fp5Square(p.z);
  const s = fp5Double(fp5Sub(fp5Sub(fp5Square(fp5Add(p.x, yy)), xx), yyyy));
  const m = fp5Add(fp5Add(fp5Double(xx), xx), fp5Mul(WEIERSTRASS_A, fp5Square(zz)));
  const x3 = fp5Sub(fp5Square(m), fp5Double(s));
  const yyyy8 = fp5Double(fp5Double(fp5Double(yyyy)));
  const y3 = fp5Sub(fp5Mul(m, fp5Sub(s, x3)), yyyy8);
  const z3 = fp5Sub(fp5Sub(fp5Square(fp5Add(p.y, p.z)), yy), zz);
  return { x: x3, y: y3, z: z3 };
}

export function pointAdd(p: EcPoint, q: EcPoint): EcPoint {
  if (isNeutral(p)) return q;
  if (isNeutral(q)) return p;
  const z1z1 = fp5Square(p.z);
  const z2z2 = fp5Square(q.z);
  const u1 = fp5Mul(p.x, z2z2);
  const u2 = fp5Mul(q.x, z1z1);
  const s1 = fp5Mul(p.y, fp5Mul(q.z, z2z2));
  const s2 = fp5Mul(q.y, fp5Mul(p.z, z1z1));
  const h = fp5Sub(u2, u1);
  const rr = fp5Double(fp5Sub(s2, s1));
  if (fp5IsZero(h)) return fp5IsZero(rr) ? pointDouble(p) : NEUTRAL;
  const i = fp5Square(fp5Double(h));
  const j = fp5Mul(h, i);
  const v = fp5Mul(u1, i);
  const x3 = fp5Sub(fp5Sub(fp5Square(rr), j), fp5Double(v));
  const y3 = fp5Sub(fp5Mul(rr, fp5Sub(v, x3)), fp5Double(fp5Mul(s1, j)));
  const z3 = fp5Mul(fp5Sub(fp5Sub(fp5Square(fp5Add(p.z, q.z)), z1z1), z2z2), h);
  return { x: x3, y: y3, z: z3 };
}

/** p + q with q affine (z = 1), the cheaper mixed addition. */
function pointAddAffine(p: EcPoint, q: WeierstrassAffine): EcPoint {
  if (q.isInf) return p;
  if (isNeutral(p)) return { x: q.X, y: q.Y, z: FP5_ONE };
  const z1z1 = fp5Square(p.z);
  const u2 = fp5Mul(q.X, z1z1);
  const s2 = fp5Mul(q.Y, fp5Mul(p.z, z1z1));
  const h = fp5Sub(u2, p.x);
  const rr = fp5Double(fp5Sub(s2, p.y));
  if (fp5IsZero(h)) return fp5IsZero(rr) ? pointDouble(p) : NEUTRAL;
  const hh = fp5Square(h);
  const i = fp5Double(fp5Double(hh));
  const j = fp5Mul(h, i);
  const v = fp5Mul(p.x, i);
  const x3 = fp5Sub(fp5Sub(fp5Square(rr), j), fp5Double(v));
  const y3 = fp5Sub(fp5Mul(rr, fp5Sub(v, x3)), fp5Double(fp5Mul(p.y, j)));
  const z3 = fp5Sub(fp5Sub(fp5Square(fp5Add(p.z, h)), z1z1), hh);
  return { x: x3, y: y3, z: z3 };
}

/** Group equality without normalizing: X1 Z2^2 = X2 Z1^2 and Y1 Z2^3 = Y2 Z1^3. */
export function pointEquals(p: EcPoint, q: EcPoint): boolean {
  if (isNeutral(p) || isNeutral(q)) return isNeutral(p) && isNeutral(q);
  const z1z1 = fp5Square(p.z);
  const z2z2 = fp5Square(q.z);
  return (
    fp5Equals(fp5Mul(p.x, z2z2), fp5Mul(q.x, z1z1)) &&
    fp5Equals(fp5Mul(p.y, fp5Mul(z2z2, q.z)), fp5Mul(q.y, fp5Mul(z1z1, p.z)))
  );
}

/** Many Jacobian points to affine with one inversion (Montgomery's trick). */
function batchToAffine(points: readonly EcPoint[]): WeierstrassAffine[] {
  const prefix: Fp5[] = [];
  let acc: Fp5 = FP5_ONE;
  for (const p of points) {
    prefix.push(acc);
    if (!isNeutral(p)) acc = fp5Mul(acc, p.z);
  }
  let inv = fp5InverseOrZero(acc);
  const out: WeierstrassAffine[] = new Array(points.length);
  for (let i = points.length - 1; i >= 0; i--) {
    const p = points[i]!;
    if (isNeutral(p)) {
      out[i] = { X: FP5_ZERO, Y: FP5_ZERO, isInf: true };
      continue;
    }
    const zInv = fp5Mul(inv, prefix[i]!);
    inv = fp5Mul(inv, p.z);
    const zInv2 = fp5Square(zInv);
    out[i] = { X: fp5Mul(p.x, zInv2), Y: fp5Mul(p.y, fp5Mul(zInv2, zInv)), isInf: false };
  }
  return out;
}

/** [0, p, 2p, ..., 15p]. */
function window16(p: EcPoint): EcPoint[] {
  const table: EcPoint[] = [NEUTRAL, p];
  for (let i = 2; i < 16; i++)
    table.push(i % 2 === 0 ? pointDouble(table[i / 2]!) : pointAdd(table[i - 1]!, p));
  return table;
}

/** k * p for any scalar (reduced mod n), 4-bit fixed window. */
export function pointMul(p: EcPoint, k: bigint): EcPoint {
  const s = scalarReduce(k);
  if (s === 0n || isNeutral(p)) return NEUTRAL;
  const table = batchToAffine(window16(p));
  let acc = NEUTRAL;
  for (let shift = 316n; shift >= 0n; shift -= 4n) {
    if (!isNeutral(acc)) acc = pointDouble(pointDouble(pointDouble(pointDouble(acc))));
    acc = pointAddAffine(acc, table[Number((s >> shift) & 0xfn)]!);
  }
  return acc;
}

/** The generator, w = 4. */
export const GENERATOR: EcPoint = pointDecode(fp5FromBase(4n))!;

/**
 * A fixed-base table: row i holds d * 16^i * P (d < 16, affine), so k * P is 80 mixed additions
 * and no doubling. Building one costs about as much as 20 generic multiplications, so it pays
 * for the generator and for a public key that verifies many signatures.
 */
export class FixedBaseTable {
  readonly #rows: WeierstrassAffine[][];

  constructor(base: EcPoint) {
    const rows: EcPoint[][] = [];
    let b = base;
    for (let i = 0; i < 80; i++) {
      rows.push(window16(b));
      b = pointDouble(pointDouble(pointDouble(pointDouble(b))));
    }
    const flat = batchToAffine(rows.flat());
    this.#rows = rows.map((_, i) => flat.slice(16 * i, 16 * i + 16));
  }

  mul(k: bigint): EcPoint {
    let s = scalarReduce(k);
    let acc = NEUTRAL;
    for (let i = 0; i < 80 && s !== 0n; i++) {
      acc = pointAddAffine(acc, this.#rows[i]![Number(s & 0xfn)]!);
      s >>= 4n;
    }
    return acc;
  }
}

let generatorTable: FixedBaseTable | undefined;

/** k * G (the table is built on first use). */
export function mulGenerator(k: bigint): EcPoint {
  generatorTable ??= new FixedBaseTable(GENERATOR);
  return generatorTable.mul(k);
}

/** s * G + e * q (the Schnorr verification equation); `qTable` if q has one. */
export function mulAddGenerator(s: bigint, q: EcPoint, e: bigint, qTable?: FixedBaseTable): EcPoint {
  return pointAdd(mulGenerator(s), qTable ? qTable.mul(e) : pointMul(q, e));
}

/** Pornin's fractional coordinates of a group element, for checking his projective vectors. */
export function porninCoordinates(p: EcPoint): { x: Fp5; u: Fp5 } {
  if (isNeutral(p)) return { x: FP5_ZERO, u: FP5_ZERO };
  // The Pornin-model element has the other (non-square) root x' = b / x and the same w.
  const a = pointToAffine(p);
  const xw = fp5Sub(a.X, A_OVER_3);
  const w = pointEncode(p);
  return { x: fp5Div(CURVE_B, xw), u: fp5InverseOrZero(w) };
}
