/**
 * Runs a known-answer vectors file in the format of `lighter-vectors.json` (see
 * libs/signing/vectors/README.md) against this signer: every section and case, one
 * `VectorCaseResult` per case. Sections this runner does not know are reported as failed cases,
 * never skipped. Details never carry a private key.
 */
import type { VectorCaseResult } from '../vectors.js';
import {
  lighterAuthMessage,
  lighterAuthMessageElements,
  lighterAuthMessageHash,
  parseLighterAuthToken,
} from './auth-token.js';
import {
  type EcPoint,
  GENERATOR,
  isNeutral,
  mulGenerator,
  pointAdd,
  pointDecode,
  pointDouble,
  pointEncode,
  pointEquals,
  pointFromAffine,
  pointMul,
  pointNeg,
  pointToAffine,
  porninCoordinates,
  type WeierstrassAffine,
} from './ecgfp5.js';
import {
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
  fp5IsZero,
  fp5Legendre,
  fp5Mul,
  fp5Sgn0,
  fp5Sqrt,
  fp5Square,
  fp5Sub,
  fp5ToBytesLE,
} from './gfp5.js';
import {
  gl,
  glAdd,
  glInverseOrZero,
  glIsSquare,
  glMul,
  glNeg,
  glSqrt,
  glSquare,
  glSub,
  glToBytesLE,
  P,
  parseU64,
} from './goldilocks.js';
import { bytesToHex, hexToBytes, publicKeyFromScalar, scalarFromSeed } from './keys.js';
import {
  bytesToU64WordsLE,
  type HashOut,
  hashNToHashNoPad,
  hashNToMNoPad,
  hashNToOne,
  hashToQuinticExtension,
  hashTwoToOne,
  poseidon2Permute,
} from './poseidon2.js';
import {
  bigIntToBytesLE,
  bigIntToLimbs,
  bytesToBigIntLE,
  limbsToBigInt,
  N,
  scalarDecodeStrict,
  scalarFromBytesLE,
  scalarFromFp5,
  scalarMontgomeryMul,
  scalarNibbles,
  scalarPow,
  scalarReduce,
  scalarSub,
  scalarToBytesLE,
} from './scalar.js';
import {
  schnorrChallenge,
  schnorrSign,
  schnorrVerify,
  schnorrVerifyBytes,
  signatureFromBytes,
  signatureToBytes,
} from './schnorr.js';
import {
  LIGHTER_TX_TYPE,
  type LighterTx,
  type LighterTxAttributes,
  lighterAttributesHash,
  lighterTxHash,
  lighterTxHashElements,
  lighterTxInfoJson,
} from './transactions.js';

type Json = Record<string, unknown>;

/** A case that did not match: what differed. */
class Mismatch extends Error {}

interface Ctx {
  readonly root: Json;
}

type CaseCheck = (c: Json, ctx: Ctx) => void;

// ---------------------------------------------------------------------------------------------
// Reading values (each error names the field)

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field(c: Json, key: string): unknown {
  if (!(key in c)) throw new Mismatch(`missing field ${key}`);
  return c[key];
}

function u64(c: Json, key: string): bigint {
  return parseU64(field(c, key), key);
}

function u64List(c: Json, key: string): bigint[] {
  const v = field(c, key);
  if (!Array.isArray(v)) throw new Mismatch(`${key}: expected a list`);
  return v.map((x, i) => parseU64(x, `${key}[${i}]`));
}

function asFp5(v: unknown, what: string): Fp5 {
  if (!Array.isArray(v) || v.length !== 5) throw new Mismatch(`${what}: expected 5 limbs`);
  return fp5(v.map((x, i) => parseU64(x, `${what}[${i}]`)));
}

function fp5Field(c: Json, key: string): Fp5 {
  return asFp5(field(c, key), key);
}

function str(c: Json, key: string): string {
  const v = field(c, key);
  if (typeof v !== 'string') throw new Mismatch(`${key}: expected a string`);
  return v;
}

function hexField(c: Json, key: string, length?: number): Uint8Array {
  return hexToBytes(str(c, key), key, length);
}

function num(c: Json, key: string): number {
  const v = field(c, key);
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Mismatch(`${key}: expected an integer`);
  return v;
}

function obj(c: Json, key: string): Json {
  const v = field(c, key);
  if (!isObject(v)) throw new Mismatch(`${key}: expected an object`);
  return v;
}

/** A scalar given as `<prefix>_limbs` or `<prefix>_le_hex` (the integer, not reduced). */
function scalarInput(c: Json, prefix: string): bigint {
  if (`${prefix}_limbs` in c) return limbsToBigInt(u64List(c, `${prefix}_limbs`));
  if (`${prefix}_le_hex` in c) return bytesToBigIntLE(hexField(c, `${prefix}_le_hex`));
  throw new Mismatch(`missing field ${prefix}_limbs or ${prefix}_le_hex`);
}

function weierstrassField(c: Json, key: string): WeierstrassAffine {
  const p = obj(c, key);
  const isInf = p.is_inf === true;
  return {
    X: isInf ? FP5_ZERO : fp5Field(p, 'X'),
    Y: isInf ? FP5_ZERO : fp5Field(p, 'Y'),
    isInf,
  };
}

// ---------------------------------------------------------------------------------------------
// Comparing

const fp5Text = (a: Fp5): string => `[${a.join(',')}]`;

/** `secret`: the values are key material; say only that they differ. */
function expectEqual(what: string, got: string, expected: string, secret = false): void {
  if (got === expected) return;
  throw new Mismatch(
    secret ? `${what}: differs (value redacted)` : `${what}: expected ${expected}, got ${got}`,
  );
}

function expectU64(c: Json, key: string, got: bigint): void {
  expectEqual(key, got.toString(), u64(c, key).toString());
}

function expectFp5(c: Json, key: string, got: Fp5): void {
  expectEqual(key, fp5Text(got), fp5Text(fp5Field(c, key)));
}

function expectU64List(c: Json, key: string, got: readonly bigint[], secret = false): void {
  expectEqual(key, `[${got.join(',')}]`, `[${u64List(c, key).join(',')}]`, secret);
}

function expectHex(c: Json, key: string, got: Uint8Array, secret = false): void {
  expectEqual(key, bytesToHex(got), str(c, key).toLowerCase().replace(/^0x/, ''), secret);
}

function expectBool(c: Json, key: string, got: boolean): void {
  const v = field(c, key);
  if (typeof v !== 'boolean') throw new Mismatch(`${key}: expected a boolean`);
  expectEqual(key, String(got), String(v));
}

function expectWeierstrass(c: Json, key: string, got: EcPoint): void {
  const expected = weierstrassField(c, key);
  const a = pointToAffine(got);
  if (expected.isInf || a.isInf) {
    expectEqual(`${key}.is_inf`, String(a.isInf), String(expected.isInf));
    return;
  }
  expectEqual(`${key}.X`, fp5Text(a.X), fp5Text(expected.X));
  expectEqual(`${key}.Y`, fp5Text(a.Y), fp5Text(expected.Y));
}

function decodeOrFail(w: Fp5, what: string): EcPoint {
  const p = pointDecode(w);
  if (!p) throw new Mismatch(`${what}: does not decode to a group element`);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Goldilocks

const glBinary: CaseCheck = (c) => {
  const a = gl(u64(c, 'a'));
  const b = gl(u64(c, 'b'));
  if ('add' in c) expectU64(c, 'add', glAdd(a, b));
  if ('sub' in c) expectU64(c, 'sub', glSub(a, b));
  if ('mul' in c) expectU64(c, 'mul', glMul(a, b));
};

const glUnary: CaseCheck = (c) => {
  const a = gl(u64(c, 'a'));
  if ('neg' in c) expectU64(c, 'neg', glNeg(a));
  if ('square' in c) expectU64(c, 'square', glSquare(a));
  if ('inverse_or_zero' in c) expectU64(c, 'inverse_or_zero', glInverseOrZero(a));
  if ('is_quadratic_residue' in c) expectBool(c, 'is_quadratic_residue', glIsSquare(a));
  if ('sqrt_official' in c) {
    const root = glSqrt(a);
    if (c.sqrt_official === null) {
      if (root !== undefined) throw new Mismatch('sqrt_official: expected no root, got one');
    } else {
      // Either root is correct: the expected one must be a root and ours must be it or its negation.
      const expected = gl(u64(c, 'sqrt_official'));
      if (glSquare(expected) !== a) throw new Mismatch('sqrt_official: the expected value is not a root');
      if (root === undefined || (root !== expected && root !== glNeg(expected))) {
        throw new Mismatch(`sqrt_official: expected ±${expected}, got ${root}`);
      }
    }
  }
};

const glFixedCheck: CaseCheck = (c) => {
  const product = glMul(gl(u64(c, 'a')), gl(u64(c, 'b')));
  if ('a_times_b' in c) expectU64(c, 'a_times_b', product);
  if ('zero_minus_a_times_b' in c) expectU64(c, 'zero_minus_a_times_b', glSub(0n, product));
};

/** The official tests are properties over these inputs; we check ours against plain integers. */
function glOfficialInputs(node: Json, section: string): VectorCaseResult[] {
  const values = u64List(node, 'values');
  return values.map((a, i) =>
    runCase(section, `value ${i}`, () => {
      for (const b of values) {
        if (glAdd(gl(a), gl(b)) !== (a + b) % P) throw new Mismatch(`add(${a}, ${b})`);
        if (glSub(gl(a), gl(b)) !== (((a - b) % P) + P) % P) throw new Mismatch(`sub(${a}, ${b})`);
        if (glMul(gl(a), gl(b)) !== (a * b) % P) throw new Mismatch(`mul(${a}, ${b})`);
      }
      const inv = glInverseOrZero(gl(a));
      if (gl(a) !== 0n && glMul(inv, gl(a)) !== 1n) throw new Mismatch(`inverse(${a})`);
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// GF(p^5)

const fp5Ops: CaseCheck = (c) => {
  const a = fp5Field(c, 'a');
  const b = 'b' in c ? fp5Field(c, 'b') : undefined;
  const needB = (): Fp5 => {
    if (!b) throw new Mismatch('missing field b');
    return b;
  };
  if ('add' in c) expectFp5(c, 'add', fp5Add(a, needB()));
  if ('sub' in c) expectFp5(c, 'sub', fp5Sub(a, needB()));
  if ('mul' in c) expectFp5(c, 'mul', fp5Mul(a, needB()));
  if ('div' in c) expectFp5(c, 'div', fp5Div(a, needB()));
  for (const key of ['square', 'square_a']) if (key in c) expectFp5(c, key, fp5Square(a));
  for (const key of ['inverse', 'inverse_a']) if (key in c) expectFp5(c, key, fp5InverseOrZero(a));
  for (const key of ['sgn0', 'sgn0_a']) if (key in c) expectBool(c, key, fp5Sgn0(a));
  for (const key of ['legendre', 'legendre_a']) if (key in c) expectU64(c, key, fp5Legendre(a));
  if ('frobenius' in c) expectFp5(c, 'frobenius', fp5Frobenius(a, 'count' in c ? num(c, 'count') : 1));
  for (const key of ['canonical_sqrt', 'canonical_sqrt_a']) {
    if (!(key in c)) continue;
    const root = fp5CanonicalSqrt(a);
    if (c[key] === null) {
      if (root !== undefined) throw new Mismatch(`${key}: expected no root, got one`);
    } else {
      if (root === undefined) throw new Mismatch(`${key}: expected a root, got none`);
      expectFp5(c, key, root);
    }
  }
  if ('canonical_sqrt_of_square_a' in c) {
    const root = fp5CanonicalSqrt(fp5Square(a));
    if (!root) throw new Mismatch('canonical_sqrt_of_square_a: got no root of a square');
    expectFp5(c, 'canonical_sqrt_of_square_a', root);
  }
  if ('sqrt' in c) {
    // Which of the two roots comes back is the library's choice: the expected value must be a
    // root of a, and so must ours (then they are equal up to sign).
    const expected = fp5Field(c, 'sqrt');
    if (!fp5Equals(fp5Square(expected), a)) throw new Mismatch('sqrt: the expected value is not a root');
    const root = fp5Sqrt(a);
    if (!root || !fp5Equals(fp5Square(root), a)) throw new Mismatch('sqrt: got no root');
  }
  if (!('sqrt' in c) && !('canonical_sqrt' in c) && 'legendre' in c && fp5Legendre(a) === P - 1n) {
    // A non-square has no root.
    if (fp5Sqrt(a) !== undefined) throw new Mismatch('sqrt: a non-square got a root');
  }
};

// ---------------------------------------------------------------------------------------------
// Poseidon2

const p2Permute: CaseCheck = (c) => expectU64List(c, 'output', poseidon2Permute(u64List(c, 'input')));

const p2NToM: CaseCheck = (c) =>
  expectU64List(c, 'output', hashNToMNoPad(u64List(c, 'input'), num(c, 'num_outputs')));

const p2NToHash: CaseCheck = (c) => expectU64List(c, 'output', hashNToHashNoPad(u64List(c, 'input')));

function hashOut(c: Json, key: string): HashOut {
  const v = u64List(c, key).map(gl);
  if (v.length !== 4) throw new Mismatch(`${key}: expected 4 elements`);
  return [v[0]!, v[1]!, v[2]!, v[3]!];
}

const p2TwoToOne: CaseCheck = (c) =>
  expectU64List(c, 'output', hashTwoToOne(hashOut(c, 'left'), hashOut(c, 'right')));

const p2NToOne: CaseCheck = (c) => {
  const count = num(c, 'count');
  const hashes: HashOut[] = [hashNToHashNoPad(u64List(c, 'seed'))];
  for (let i = 1; i < count; i++) hashes.push(hashTwoToOne(hashes[i - 1]!, hashes[i - 1]!));
  if ('intermediate_inputs' in c) {
    const expected = field(c, 'intermediate_inputs');
    if (!Array.isArray(expected)) throw new Mismatch('intermediate_inputs: expected a list');
    expectEqual(
      'intermediate_inputs',
      hashes.map((h) => h.join(',')).join(';'),
      expected.map((h) => u64List({ h }, 'h').join(',')).join(';'),
    );
  }
  expectU64List(c, 'output', hashNToOne(hashes));
};

const p2ToQuintic: CaseCheck = (c) => expectFp5(c, 'output', hashToQuinticExtension(u64List(c, 'input')));

const p2DigestBytes: CaseCheck = (c) => {
  const chunks = field(c, 'input_bytes_hex');
  const hex = Array.isArray(chunks) ? chunks.join('') : String(chunks);
  const bytes = hexToBytes(hex, 'input_bytes_hex');
  const elements = bytesToU64WordsLE(bytes, false);
  if ('input_elements' in c) expectU64List(c, 'input_elements', elements);
  const out = hashNToHashNoPad(elements);
  if ('output' in c) expectU64List(c, 'output', out);
  if ('output_le_hex' in c) expectHex(c, 'output_le_hex', Buffer.concat(out.map((x) => glToBytesLE(x))));
};

const p2Hash: CaseCheck = (c) => {
  const input = u64List(c, 'input');
  if ('hash_n_to_hash_no_pad' in c) expectU64List(c, 'hash_n_to_hash_no_pad', hashNToHashNoPad(input));
  const q = hashToQuinticExtension(input);
  if ('hash_to_quintic_extension' in c) expectFp5(c, 'hash_to_quintic_extension', q);
  if ('hash_to_quintic_extension_le_hex' in c)
    expectHex(c, 'hash_to_quintic_extension_le_hex', fp5ToBytesLE(q));
};

// ---------------------------------------------------------------------------------------------
// ECgFp5

function generatorSection(node: Json, section: string): VectorCaseResult[] {
  return [
    runCase(section, 'generator', () => {
      expectFp5(node, 'encoded', pointEncode(GENERATOR));
      if ('weierstrass' in node) expectWeierstrass(node, 'weierstrass', GENERATOR);
      const decoded = decodeOrFail(fp5Field(node, 'encoded'), 'encoded');
      if (!pointEquals(decoded, GENERATOR)) throw new Mismatch('encoded: does not decode to the generator');
    }),
  ];
}

function groupVectorsSection(node: Json, section: string): VectorCaseResult[] {
  const raw = field(node, 'w');
  if (!Array.isArray(raw)) return [failed(section, 'w', 'w: expected a list')];
  const ws = raw.map((w, i) => asFp5(w, `w[${i}]`));
  const results = ws.map((w, i) =>
    runCase(section, `w${i} decodes and re-encodes`, () => {
      const p = decodeOrFail(w, `w${i}`);
      expectEqual(`encode(decode(w${i}))`, fp5Text(pointEncode(p)), fp5Text(w));
      expectEqual(`w${i} is neutral`, String(isNeutral(p)), String(i === 0));
    }),
  );
  // The relations the format defines: w0 neutral, w1 = P1, w2 = P2, w3 = P1+P2, w4 = 2 P1,
  // w5 = 2 P2, w6 = 2 P1 + P2, w7 = P1 + 2 P2.
  const relation = (name: string, index: number, compute: (p: EcPoint[]) => EcPoint): VectorCaseResult =>
    runCase(section, name, () => {
      const points = ws.map((w, i) => decodeOrFail(w, `w${i}`));
      if (index >= points.length) throw new Mismatch(`w${index}: missing`);
      expectEqual(name, fp5Text(pointEncode(compute(points))), fp5Text(ws[index]!));
    });
  results.push(
    relation('P1+P2 = w3', 3, (p) => pointAdd(p[1]!, p[2]!)),
    relation('P1+P1 = w4', 4, (p) => pointAdd(p[1]!, p[1]!)),
    relation('double(P2) = w5', 5, (p) => pointDouble(p[2]!)),
    relation('double(P1)+P2 = w6', 6, (p) => pointAdd(pointDouble(p[1]!), p[2]!)),
    relation('P1+P2+P2 = w7', 7, (p) => pointAdd(pointAdd(p[1]!, p[2]!), p[2]!)),
    relation('neutral+P1 = w1', 1, (p) => pointAdd(p[0]!, p[1]!)),
  );
  return results;
}

function invalidEncodingsSection(node: Json, section: string): VectorCaseResult[] {
  const raw = field(node, 'w');
  if (!Array.isArray(raw)) return [failed(section, 'w', 'w: expected a list')];
  return raw.map((w, i) =>
    runCase(section, `invalid w ${i}`, () => {
      if (pointDecode(asFp5(w, `w[${i}]`)) !== undefined)
        throw new Mismatch(`w[${i}]: decoded, expected failure`);
    }),
  );
}

const decodeAsWeierstrass: CaseCheck = (c, ctx) => {
  const index = num(c, 'w_index');
  const groupVectors = lookup(ctx.root, ['ecgfp5', 'official', 'group_vectors', 'w']);
  if (!Array.isArray(groupVectors) || index >= groupVectors.length) {
    throw new Mismatch(`w_index ${index}: not in ecgfp5.official.group_vectors.w`);
  }
  const p = decodeOrFail(asFp5(groupVectors[index], `w[${index}]`), `w[${index}]`);
  const expectedInf = c.is_inf === true;
  expectEqual('is_inf', String(isNeutral(p)), String(expectedInf));
  if (!expectedInf) {
    const a = pointToAffine(p);
    expectFp5(c, 'X', a.X);
    expectFp5(c, 'Y', a.Y);
  }
};

const weierstrassWindow: CaseCheck = (c) => {
  const p = pointFromAffine(weierstrassField(c, 'P'));
  const bits = num(c, 'window_bits');
  const multiples = field(c, 'multiples');
  if (!Array.isArray(multiples) || multiples.length !== 1 << bits) {
    throw new Mismatch(`multiples: expected ${1 << bits} points`);
  }
  let acc: EcPoint = pointFromAffine({ X: FP5_ZERO, Y: FP5_ZERO, isInf: true });
  for (const [i, m] of multiples.entries()) {
    expectWeierstrass({ [`multiples[${i}]`]: m }, `multiples[${i}]`, acc);
    acc = pointAdd(acc, p);
  }
};

const weierstrassDouble: CaseCheck = (c) =>
  expectWeierstrass(c, 'double', pointDouble(pointFromAffine(weierstrassField(c, 'P'))));

const weierstrassAdd: CaseCheck = (c) =>
  expectWeierstrass(
    c,
    'sum',
    pointAdd(pointFromAffine(weierstrassField(c, 'P')), pointFromAffine(weierstrassField(c, 'Q'))),
  );

const weierstrassMulAdd2: CaseCheck = (c) => {
  const p = pointFromAffine(weierstrassField(c, 'P'));
  const q = pointFromAffine(weierstrassField(c, 'Q'));
  if ('P_encoded' in c) expectFp5(c, 'P_encoded', pointEncode(p));
  if ('Q_encoded' in c) expectFp5(c, 'Q_encoded', pointEncode(q));
  const result = pointAdd(pointMul(p, scalarInput(c, 's')), pointMul(q, scalarInput(c, 'e')));
  expectWeierstrass(c, 'result', result);
  if ('result_encoded' in c) expectFp5(c, 'result_encoded', pointEncode(result));
};

const scalarMulEncoded: CaseCheck = (c) => {
  const p = decodeOrFail(fp5Field(c, 'P_w'), 'P_w');
  expectFp5(c, 'result_w', pointEncode(pointMul(p, scalarInput(c, 'scalar'))));
};

/** A point in Pornin's fractional coordinates (x = X/Z, u = U/T; w = T/U), as the group element. */
function porninPoint(c: Json, key: string): EcPoint {
  const t = obj(c, key);
  const u = fp5Field(t, 'u');
  const w = fp5IsZero(u) ? FP5_ZERO : fp5Div(fp5Field(t, 't'), u);
  const p = decodeOrFail(w, key);
  expectPornin(c, key, p);
  return p;
}

/** The (X:Z:U:T) tuple at `key` represents p. */
function expectPornin(c: Json, key: string, p: EcPoint): void {
  const t = obj(c, key);
  const { x, u } = porninCoordinates(p);
  const ok =
    fp5Equals(fp5Field(t, 'x'), fp5Mul(x, fp5Field(t, 'z'))) &&
    fp5Equals(fp5Field(t, 'u'), fp5Mul(u, fp5Field(t, 't'))) &&
    !fp5IsZero(fp5Field(t, 'z')) &&
    !fp5IsZero(fp5Field(t, 't'));
  if (!ok)
    throw new Mismatch(
      `${key}: the projective tuple is not the expected point (encoded ${fp5Text(pointEncode(p))})`,
    );
}

const projectiveEncode: CaseCheck = (c) => expectFp5(c, 'encoded', pointEncode(porninPoint(c, 'point')));

const projectiveAdd: CaseCheck = (c) => {
  const a = porninPoint(c, 'a');
  const b = porninPoint(c, 'b');
  if ('a_encoded' in c) expectFp5(c, 'a_encoded', pointEncode(a));
  if ('b_encoded' in c) expectFp5(c, 'b_encoded', pointEncode(b));
  const sum = pointAdd(a, b);
  expectFp5(c, 'sum_encoded', pointEncode(sum));
  if ('sum' in c) expectPornin(c, 'sum', sum);
};

const projectiveDouble: CaseCheck = (c) => {
  const p = porninPoint(c, 'point');
  if ('point_encoded' in c) expectFp5(c, 'point_encoded', pointEncode(p));
  const d = pointDouble(p);
  expectFp5(c, 'double_encoded', pointEncode(d));
  if ('double' in c) expectPornin(c, 'double', d);
};

const projectiveMDouble: CaseCheck = (c) => {
  let p = porninPoint(c, 'point');
  if ('point_encoded' in c) expectFp5(c, 'point_encoded', pointEncode(p));
  const times = num(c, 'n');
  for (let i = 0; i < times; i++) p = pointDouble(p);
  expectFp5(c, 'result_encoded', pointEncode(p));
  if ('result' in c) expectPornin(c, 'result', p);
};

const projectiveScalarMul: CaseCheck = (c) => {
  const p = porninPoint(c, 'point');
  if ('point_encoded' in c) expectFp5(c, 'point_encoded', pointEncode(p));
  const r = pointMul(p, scalarInput(c, 'scalar'));
  expectFp5(c, 'result_encoded', pointEncode(r));
  if ('result' in c) expectPornin(c, 'result', r);
  if ('result_projective_actual' in c) expectPornin(c, 'result_projective_actual', r);
};

const mulGen: CaseCheck = (c) => {
  const k = scalarInput(c, 'k');
  const w = pointEncode(mulGenerator(k));
  expectFp5(c, 'kG_encoded', w);
  if ('kG_encoded_le_hex' in c) expectHex(c, 'kG_encoded_le_hex', fp5ToBytesLE(w));
  // The generic multiplication must agree with the fixed-base one.
  expectFp5(c, 'kG_encoded', pointEncode(pointMul(GENERATOR, k)));
};

const pointOps: CaseCheck = (c) => {
  const p = decodeOrFail(fp5Field(c, 'P'), 'P');
  const q = 'Q' in c ? decodeOrFail(fp5Field(c, 'Q'), 'Q') : undefined;
  if ('2P' in c) expectFp5(c, '2P', pointEncode(pointDouble(p)));
  if ('P_plus_Q' in c) {
    if (!q) throw new Mismatch('missing field Q');
    expectFp5(c, 'P_plus_Q', pointEncode(pointAdd(p, q)));
  }
  if ('neg_P' in c) expectFp5(c, 'neg_P', pointEncode(pointNeg(p)));
  if ('P_weierstrass' in c) expectWeierstrass(c, 'P_weierstrass', p);
};

// ---------------------------------------------------------------------------------------------
// Scalars

function porninScalarCodec(node: Json, section: string): VectorCaseResult[] {
  const results: VectorCaseResult[] = [];
  const strict = (key: string, accept: boolean): void => {
    if (!(key in node)) return;
    results.push(
      runCase(section, `${key} strict decode ${accept ? 'accepts' : 'rejects'}`, () => {
        const got = scalarDecodeStrict(hexField(node, key));
        if ((got !== undefined) !== accept)
          throw new Mismatch(`${key}: strict decode ${accept ? 'rejected' : 'accepted'}`);
      }),
    );
  };
  strict('buf1', true);
  strict('buf2', false);
  strict('buf3', false);
  if ('buf1' in node) {
    results.push(
      runCase(section, 'buf1 = n - 1', () => {
        expectEqual('buf1', String(bytesToBigIntLE(hexField(node, 'buf1'))), String(N - 1n));
      }),
    );
  }
  if ('buf4' in node && 'buf5' in node) {
    results.push(
      runCase(section, 'buf4 mod n = buf5', () =>
        expectHex(node, 'buf5', scalarToBytesLE(scalarReduce(bytesToBigIntLE(hexField(node, 'buf4'))))),
      ),
    );
  }
  if ('buf5' in node && 'buf6' in node) {
    results.push(
      runCase(section, 'buf5^(2^8) = buf6', () =>
        expectHex(node, 'buf6', scalarToBytesLE(scalarPow(bytesToBigIntLE(hexField(node, 'buf5')), 256n))),
      ),
    );
  }
  for (const key of Object.keys(node)) {
    const m = /^lighter_ScalarElementFromLittleEndianBytes_(buf\d+)_40$/.exec(key);
    if (!m) continue;
    results.push(
      runCase(section, key, () => {
        const input = hexField(node, m[1]!).subarray(0, 40);
        expectHex(node, key, scalarToBytesLE(scalarFromBytesLE(input)));
      }),
    );
  }
  for (const key of ['n_decimal', 'n_le_hex']) {
    if (!(key in node)) continue;
    results.push(
      runCase(section, key, () =>
        key === 'n_decimal'
          ? expectEqual(key, String(N), str(node, key))
          : expectHex(node, key, bigIntToBytesLE(N, 40)),
      ),
    );
  }
  const known = /^(buf\d+|lighter_.*|n_decimal|n_le_hex|source|meaning)$/;
  for (const key of Object.keys(node)) {
    if (!known.test(key)) results.push(failed(section, key, `unknown field ${key}`));
  }
  return results;
}

const fromGfp5: CaseCheck = (c) => {
  const s = scalarFromFp5(fp5Field(c, 'fp5'));
  if ('scalar_le_hex' in c) expectHex(c, 'scalar_le_hex', scalarToBytesLE(s));
  if ('scalar_limbs' in c) expectU64List(c, 'scalar_limbs', bigIntToLimbs(s));
};

const scalarSubCase: CaseCheck = (c) =>
  expectU64List(
    c,
    'a_minus_b_mod_n_limbs',
    bigIntToLimbs(scalarSub(scalarReduce(scalarInput(c, 'a')), scalarReduce(scalarInput(c, 'b')))),
  );

const scalarNibblesCase: CaseCheck = (c) => {
  const expected = field(c, 'nibbles_le');
  if (!Array.isArray(expected)) throw new Mismatch('nibbles_le: expected a list');
  expectEqual('nibbles_le', scalarNibbles(scalarInput(c, 'scalar')).join(','), expected.join(','));
};

const scalarSerdes: CaseCheck = (c) => {
  const v = limbsToBigInt(u64List(c, 'scalar_limbs'));
  expectHex(c, 'le_hex', scalarToBytesLE(v));
  expectU64List(c, 'scalar_limbs', bigIntToLimbs(scalarFromBytesLE(hexField(c, 'le_hex', 40))));
};

const scalarMontyMul: CaseCheck = (c) =>
  expectU64List(
    c,
    'result_limbs',
    bigIntToLimbs(
      scalarMontgomeryMul(limbsToBigInt(u64List(c, 'a_limbs')), limbsToBigInt(u64List(c, 'b_limbs'))),
    ),
  );

// ---------------------------------------------------------------------------------------------
// Keys and Schnorr

const keyCase: CaseCheck = (c) => {
  const sk = scalarFromBytesLE(hexField(c, 'private_key_hex', 40));
  if ('scalar_canonical_le_hex' in c) expectHex(c, 'scalar_canonical_le_hex', scalarToBytesLE(sk), true);
  if ('scalar_limbs' in c) expectU64List(c, 'scalar_limbs', bigIntToLimbs(sk), true);
  const pk = publicKeyFromScalar(sk);
  expectHex(c, 'public_key_hex', fp5ToBytesLE(pk));
  if ('public_key_limbs' in c) expectFp5(c, 'public_key_limbs', pk);
};

const seedKeyCase: CaseCheck = (c) => {
  const sk = scalarFromSeed(hexField(c, 'seed_hex'));
  expectHex(c, 'private_key_hex', scalarToBytesLE(sk), true);
  expectHex(c, 'public_key_hex', fp5ToBytesLE(publicKeyFromScalar(sk)));
};

function fp5Input(c: Json, key: string): Fp5 {
  if (key in c) return fp5Field(c, key);
  if (`${key}_le_hex` in c) return fp5FromBytesLE(hexField(c, `${key}_le_hex`, 40));
  throw new Mismatch(`missing field ${key} or ${key}_le_hex`);
}

const schnorrDeterministic: CaseCheck = (c) => {
  const sk = scalarReduce(scalarInput(c, 'sk'));
  const k = scalarInput(c, 'k');
  const hm = fp5Input(c, 'hashed_msg');
  if ('message_elements' in c)
    expectFp5(c, 'hashed_msg', hashToQuinticExtension(u64List(c, 'message_elements')));
  if ('hashed_msg' in c && 'hashed_msg_le_hex' in c) expectHex(c, 'hashed_msg_le_hex', fp5ToBytesLE(hm));
  const pk = publicKeyFromScalar(sk);
  if ('pk' in c) expectFp5(c, 'pk', pk);
  if ('pk_le_hex' in c) expectHex(c, 'pk_le_hex', fp5ToBytesLE(pk));
  const r = pointEncode(mulGenerator(k));
  if ('r_encoded' in c) expectFp5(c, 'r_encoded', r);
  if ('e_preimage' in c) expectU64List(c, 'e_preimage', [...r, ...hm]);
  if ('e_hash_fp5' in c) expectFp5(c, 'e_hash_fp5', hashToQuinticExtension([...r, ...hm]));
  const sig = schnorrSign(hm, sk, k);
  expectEqual('challenge', String(sig.e), String(schnorrChallenge(r, hm)));
  if ('s_limbs' in c) expectU64List(c, 's_limbs', bigIntToLimbs(sig.s));
  if ('e_limbs' in c) expectU64List(c, 'e_limbs', bigIntToLimbs(sig.e));
  if ('s_le_hex' in c) expectHex(c, 's_le_hex', scalarToBytesLE(sig.s));
  if ('e_le_hex' in c) expectHex(c, 'e_le_hex', scalarToBytesLE(sig.e));
  const bytes = signatureToBytes(sig);
  if ('sig_hex' in c) expectHex(c, 'sig_hex', bytes);
  const valid = schnorrVerify(pk, hm, sig);
  if ('valid' in c) expectBool(c, 'valid', valid);
  else if (!valid) throw new Mismatch('own signature does not verify');
};

const schnorrVerifyCase: CaseCheck = (c) => {
  const key = 'valid_official' in c ? 'valid_official' : 'valid';
  const verdict = schnorrVerifyBytes(
    hexField(c, 'pk_le_hex'),
    hexField(c, 'hashed_msg_le_hex'),
    hexField(c, 'sig_hex'),
  );
  expectBool(c, key, verdict);
};

// ---------------------------------------------------------------------------------------------
// Transactions and auth token

/** Vector input names -> our transaction field names (where they differ). */
const TX_INPUT_RENAMES: Readonly<Record<string, string>> = { type: 'orderType' };
/** Inputs that are not transaction fields. */
const TX_INPUT_EXTRAS = new Set(['chainId', 'skipNonce']);

function txFromInputs(txType: number, inputs: Json): LighterTx {
  if (!Object.values(LIGHTER_TX_TYPE).includes(txType as never))
    throw new Mismatch(`unsupported tx type ${txType}`);
  const tx: Record<string, unknown> = { txType };
  for (const [key, value] of Object.entries(inputs)) {
    if (TX_INPUT_EXTRAS.has(key)) continue;
    const name = TX_INPUT_RENAMES[key] ?? key;
    if (typeof value === 'string' && /^-?[0-9]+$/.test(value)) tx[name] = BigInt(value);
    else if (typeof value === 'number') tx[name] = value;
    else throw new Mismatch(`inputs.${key}: expected an integer`);
  }
  return tx as unknown as LighterTx;
}

/** `attributes` if given, else the skipNonce input, else (neither given) the sample wire JSON's. */
function attributesOf(c: Json, inputs: Json): LighterTxAttributes | undefined {
  if (isObject(c.attributes)) return attributesFromJson(c.attributes, 'attributes');
  if ('skipNonce' in inputs) return inputs.skipNonce === true ? { 4: 1 } : undefined;
  if (typeof c.sample_tx_info_json === 'string') {
    const info = JSON.parse(c.sample_tx_info_json) as Json;
    if (isObject(info.L2TxAttributes)) return attributesFromJson(info.L2TxAttributes, 'L2TxAttributes');
  }
  return undefined;
}

function attributesFromJson(raw: Json, what: string): LighterTxAttributes {
  const out: Record<number, number> = {};
  for (const [type, value] of Object.entries(raw)) {
    if (!/^[0-9]+$/.test(type) || typeof value !== 'number')
      throw new Mismatch(`${what}.${type}: expected a number`);
    out[Number(type)] = value;
  }
  return out;
}

const txCase: CaseCheck = (c) => {
  const inputs = obj(c, 'inputs');
  const tx = txFromInputs(num(c, 'tx_type'), inputs);
  const chainId = num(inputs, 'chainId');
  const attributes = attributesOf(c, inputs);
  const elements = lighterTxHashElements(tx, chainId);
  if ('hash_elements_u64' in c) expectU64List(c, 'hash_elements_u64', elements);
  if ('tx_hash_without_attributes_le_hex' in c) {
    expectHex(c, 'tx_hash_without_attributes_le_hex', fp5ToBytesLE(lighterTxHash(tx, chainId)));
  }
  if ('attributes_hash' in c) {
    const h = lighterAttributesHash(attributes);
    if (!h) throw new Mismatch('attributes_hash: no attribute counts');
    expectFp5(c, 'attributes_hash', h);
  }
  const hash = lighterTxHash(tx, chainId, attributes);
  expectHex(c, 'tx_hash_le_hex', fp5ToBytesLE(hash));

  const sk = scalarFromBytesLE(hexField(c, 'private_key_hex', 40));
  const pk = publicKeyFromScalar(sk);
  if ('public_key_hex' in c) expectHex(c, 'public_key_hex', fp5ToBytesLE(pk));
  if ('deterministic_signature' in c) {
    const det = obj(c, 'deterministic_signature');
    const sig = schnorrSign(hash, sk, bytesToBigIntLE(hexField(det, 'k_le_hex')));
    expectHex(det, 'sig_hex', signatureToBytes(sig));
    if (!schnorrVerify(pk, hash, sig)) throw new Mismatch('deterministic_signature: does not verify');
  }
  if ('sample_official_signature_hex' in c) {
    const sig = hexField(c, 'sample_official_signature_hex', 80);
    if (!schnorrVerify(pk, hash, signatureFromBytes(sig))) {
      throw new Mismatch('sample_official_signature_hex: does not verify against the tx hash');
    }
  }
  if ('sample_tx_info_json' in c) {
    const sample = str(c, 'sample_tx_info_json');
    const sigMatch = /"Sig":"([A-Za-z0-9+/=]*)"/.exec(sample);
    if (!sigMatch) throw new Mismatch('sample_tx_info_json: no Sig');
    const sampleSig = new Uint8Array(Buffer.from(sigMatch[1]!, 'base64'));
    if ('sample_official_signature_hex' in c) expectHex(c, 'sample_official_signature_hex', sampleSig);
    expectEqual('sample_tx_info_json', lighterTxInfoJson(tx, sampleSig, attributes), sample);
  }
};

const attributesHashCase: CaseCheck = (c) => {
  const h = lighterAttributesHash(attributesFromJson(obj(c, 'attributes'), 'attributes'));
  if (!h) throw new Mismatch('attributes_hash: no attribute counts');
  expectFp5(c, 'attributes_hash', h);
};

const authTokenCase: CaseCheck = (c) => {
  const message = lighterAuthMessage({
    deadlineUnixSeconds: u64(c, 'deadline_unix_seconds'),
    accountIndex: u64(c, 'accountIndex'),
    apiKeyIndex: u64(c, 'apiKeyIndex'),
  });
  if ('message' in c) expectEqual('message', message, str(c, 'message'));
  if ('message_bytes_hex' in c) expectHex(c, 'message_bytes_hex', new TextEncoder().encode(message));
  if ('message_elements_u64' in c)
    expectU64List(c, 'message_elements_u64', lighterAuthMessageElements(message));
  const hash = lighterAuthMessageHash(message);
  if ('message_hash' in c) expectFp5(c, 'message_hash', hash);
  if ('message_hash_le_hex' in c) expectHex(c, 'message_hash_le_hex', fp5ToBytesLE(hash));
  const sk = scalarFromBytesLE(hexField(c, 'private_key_hex', 40));
  const pk = publicKeyFromScalar(sk);
  if ('public_key_hex' in c) expectHex(c, 'public_key_hex', fp5ToBytesLE(pk));
  if ('deterministic_token' in c) {
    const sig = schnorrSign(hash, sk, bytesToBigIntLE(hexField(c, 'deterministic_k_le_hex')));
    expectEqual(
      'deterministic_token',
      `${message}:${bytesToHex(signatureToBytes(sig))}`,
      str(c, 'deterministic_token'),
    );
  }
  for (const key of ['sample_official_token', 'deterministic_token']) {
    if (!(key in c)) continue;
    const parsed = parseLighterAuthToken(str(c, key));
    expectEqual(`${key} message`, parsed.message, message);
    if (!schnorrVerify(pk, hash, signatureFromBytes(parsed.signature)))
      throw new Mismatch(`${key}: does not verify`);
  }
};

// ---------------------------------------------------------------------------------------------
// Constants

function constantsSection(node: Json, section: string): VectorCaseResult[] {
  const results: VectorCaseResult[] = [];
  if ('p' in node) results.push(runCase(section, 'p', () => expectEqual('p', String(P), str(node, 'p'))));
  if ('n_decimal' in node) {
    results.push(
      runCase(section, 'n_decimal', () => expectEqual('n_decimal', String(N), str(node, 'n_decimal'))),
    );
  }
  if ('n_le_hex' in node)
    results.push(runCase(section, 'n_le_hex', () => expectHex(node, 'n_le_hex', bigIntToBytesLE(N, 40))));
  if ('gfp5_modulus' in node) {
    results.push(
      runCase(section, 'gfp5_modulus', () => {
        expectEqual('gfp5_modulus', str(node, 'gfp5_modulus').replace(/\s/g, ''), 'z^5-3');
        // z^5 = 3 in our multiplication.
        const z: Fp5 = [0n, 1n, 0n, 0n, 0n];
        const z5 = fp5Mul(fp5Mul(fp5Square(z), fp5Square(z)), z);
        expectEqual('z^5', fp5Text(z5), fp5Text([3n, 0n, 0n, 0n, 0n]));
      }),
    );
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// The layout of the format

/** Keys that describe rather than test (strings, provenance). */
const DESCRIPTIVE_KEYS = new Set([
  'description',
  'provenance',
  'encoding',
  'not_available',
  'source',
  'note',
  'notes',
  'semantics',
  'scheme',
  'format',
  'hash_construction',
  'official_test_data',
  'no_verify_failure_vectors',
  'relations',
  'checks',
  'expected',
  'meaning',
  'construction',
]);

type SectionRunner = (node: unknown, section: string, ctx: Ctx) => VectorCaseResult[];

/** A section whose node is a list of cases, or an object with `cases`. */
function cases(check: CaseCheck): SectionRunner {
  return (node, section, ctx) => {
    const list = Array.isArray(node)
      ? node
      : isObject(node) && Array.isArray(node.cases)
        ? node.cases
        : undefined;
    if (!list) return [failed(section, '-', 'expected a list of cases')];
    return list.map((c, i) => {
      const name =
        isObject(c) && typeof c.name === 'string'
          ? c.name
          : isObject(c) && typeof c.label === 'string'
            ? c.label
            : String(i);
      return runCase(section, name, () => {
        if (!isObject(c)) throw new Mismatch('case is not an object');
        check(c, ctx);
      });
    });
  };
}

/** A section that is a single object checked as a whole. */
function whole(run: (node: Json, section: string) => VectorCaseResult[]): SectionRunner {
  return (node, section) =>
    isObject(node) ? run(node, section) : [failed(section, '-', 'expected an object')];
}

/** Sections by path; objects on a path not listed here are walked into as containers. */
const SECTIONS: Readonly<Record<string, SectionRunner>> = {
  constants: whole(constantsSection),
  'goldilocks/official_test_inputs': whole(glOfficialInputs),
  'goldilocks/official_fixed_checks': cases(glFixedCheck),
  'goldilocks/binary': cases(glBinary),
  'goldilocks/unary': cases(glUnary),
  'gfp5/official/add_sub_mul_square': cases(fp5Ops),
  'gfp5/official/add_sub_mul_div_pornin': cases(fp5Ops),
  'gfp5/official/frobenius': cases(fp5Ops),
  'gfp5/official/inverse': cases(fp5Ops),
  'gfp5/official/sgn0': cases(fp5Ops),
  'gfp5/official/sqrt': cases(fp5Ops),
  'gfp5/official/sqrt_nonexistent': cases(fp5Ops),
  'gfp5/generated': cases(fp5Ops),
  'poseidon2/official/permute': cases(p2Permute),
  'poseidon2/official/hash_n_to_m_no_pad': cases(p2NToM),
  'poseidon2/official/hash_n_to_hash_no_pad': cases(p2NToHash),
  'poseidon2/official/hash_two_to_one': cases(p2TwoToOne),
  'poseidon2/official/hash_n_to_one': cases(p2NToOne),
  'poseidon2/official/hash_to_quintic_extension': cases(p2ToQuintic),
  'poseidon2/official/digest_bytes_interface': cases(p2DigestBytes),
  'poseidon2/generated/hash': cases(p2Hash),
  'poseidon2/generated/hash_n_to_m_no_pad': cases(p2NToM),
  'poseidon2/generated/permute': cases(p2Permute),
  'ecgfp5/generator': whole(generatorSection),
  'ecgfp5/official/group_vectors': whole(groupVectorsSection),
  'ecgfp5/official/invalid_encodings': whole(invalidEncodingsSection),
  'ecgfp5/official/decode_as_weierstrass': cases(decodeAsWeierstrass),
  'ecgfp5/official/weierstrass_precompute_window': cases(weierstrassWindow),
  'ecgfp5/official/weierstrass_double': cases(weierstrassDouble),
  'ecgfp5/official/weierstrass_add': cases(weierstrassAdd),
  'ecgfp5/official/weierstrass_muladd2': cases(weierstrassMulAdd2),
  'ecgfp5/official/scalar_mul': cases(scalarMulEncoded),
  'ecgfp5/official/projective/encode': cases(projectiveEncode),
  'ecgfp5/official/projective/add': cases(projectiveAdd),
  'ecgfp5/official/projective/double': cases(projectiveDouble),
  'ecgfp5/official/projective/mdouble': cases(projectiveMDouble),
  'ecgfp5/official/projective/scalar_mul': cases(projectiveScalarMul),
  'ecgfp5/scalar_field/official/pornin_scalar_codec': whole(porninScalarCodec),
  'ecgfp5/scalar_field/official/from_gfp5': cases(fromGfp5),
  'ecgfp5/scalar_field/official/sub': cases(scalarSubCase),
  'ecgfp5/scalar_field/official/nibbles': cases(scalarNibblesCase),
  'ecgfp5/scalar_field/official/serdes': cases(scalarSerdes),
  'ecgfp5/scalar_field/official/montymul': cases(scalarMontyMul),
  'ecgfp5/generated/mulgen': cases(mulGen),
  'ecgfp5/generated/point_ops': cases(pointOps),
  'keys/cases': cases(keyCase),
  'keys/from_seed': cases(seedKeyCase),
  'schnorr/official/deterministic_k': cases(schnorrDeterministic),
  'schnorr/generated/deterministic_k': cases(schnorrDeterministic),
  'schnorr/generated/random_k_official_signer': cases(schnorrVerifyCase),
  'schnorr/generated/verify_cases': cases(schnorrVerifyCase),
  'transactions/create_order': cases(txCase),
  'transactions/other_tx_types': cases(txCase),
  'transactions/attributes_hash': cases(attributesHashCase),
  'auth_token/cases': cases(authTokenCase),
};

function lookup(root: Json, path: readonly string[]): unknown {
  let node: unknown = root;
  for (const key of path) node = isObject(node) ? node[key] : undefined;
  return node;
}

function failed(section: string, name: string, detail: string): VectorCaseResult {
  return { section, name, ok: false, detail };
}

function runCase(section: string, name: string, check: () => void): VectorCaseResult {
  try {
    check();
    return { section, name, ok: true };
  } catch (err) {
    // Our messages never carry key material; long hex runs are still cut from anything else.
    const detail =
      err instanceof Mismatch ? err.message : err instanceof Error ? redact(err.message) : 'failed';
    return { section, name, ok: false, detail };
  }
}

/** Hex runs as long as a private key are removed from a foreign error message. */
function redact(message: string): string {
  return message.replace(/(0x)?[0-9a-fA-F]{64,}/g, '[redacted]');
}

function walk(node: unknown, path: string[], ctx: Ctx, out: VectorCaseResult[]): void {
  const section = path.join('/');
  const runner = SECTIONS[section];
  if (runner) {
    out.push(...runner(node, section, ctx));
    return;
  }
  if (!isObject(node)) {
    out.push(failed(section, '-', `unknown section ${section}`));
    return;
  }
  for (const [key, child] of Object.entries(node)) {
    if (DESCRIPTIVE_KEYS.has(key)) continue;
    walk(child, [...path, key], ctx, out);
  }
}

/** Runs every section and case of a Lighter vectors file; unknown sections come back failed. */
export function runLighterVectors(file: unknown): VectorCaseResult[] {
  if (!isObject(file)) return [failed('file', '-', 'expected a JSON object')];
  const out: VectorCaseResult[] = [];
  walk(file, [], { root: file }, out);
  if (out.length === 0) out.push(failed('file', '-', 'no test sections found'));
  return out;
}
