/**
 * Poseidon2 over Goldilocks, the plonky2-compatible variant Lighter uses: width 12, rate 8,
 * 4 + 4 full rounds around 22 partial rounds, S-box x^7. The sponge has no padding and absorbs by
 * overwriting the rate part of the state (not by adding), as the official library does.
 */
import type { Fp5 } from './gfp5.js';
import { gl, P } from './goldilocks.js';
import {
  EXTERNAL_ROUND_CONSTANTS,
  INTERNAL_MATRIX_DIAGONAL,
  INTERNAL_ROUND_CONSTANTS,
} from './poseidon2-constants.js';

export const POSEIDON2_WIDTH = 12;
export const POSEIDON2_RATE = 8;
const HALF_FULL_ROUNDS = 4;
const PARTIAL_ROUNDS = 22;

function sbox(x: bigint): bigint {
  const x2 = (x * x) % P;
  const x3 = (x2 * x) % P;
  const x6 = (x3 * x3) % P;
  return (x6 * x) % P;
}

/**
 * The external matrix: each block of 4 words goes through the 4x4 matrix with rows
 * (2 3 1 1), (1 2 3 1), (1 1 2 3), (3 1 1 2); then every word gets the sum of the words in the
 * same position of all three blocks added (the block-circulant (2M, M, M) layout).
 */
function externalLinearLayer(s: bigint[]): void {
  for (let i = 0; i < POSEIDON2_WIDTH; i += 4) {
    const x0 = s[i]!;
    const x1 = s[i + 1]!;
    const x2 = s[i + 2]!;
    const x3 = s[i + 3]!;
    const all = x0 + x1 + x2 + x3;
    s[i] = all + x0 + 2n * x1;
    s[i + 1] = all + x1 + 2n * x2;
    s[i + 2] = all + x2 + 2n * x3;
    s[i + 3] = all + x3 + 2n * x0;
  }
  for (let j = 0; j < 4; j++) {
    const sum = s[j]! + s[j + 4]! + s[j + 8]!;
    s[j] = (s[j]! + sum) % P;
    s[j + 4] = (s[j + 4]! + sum) % P;
    s[j + 8] = (s[j + 8]! + sum) % P;
  }
}

function internalLinearLayer(s: bigint[]): void {
  let sum = 0n;
  for (let i = 0; i < POSEIDON2_WIDTH; i++) sum += s[i]!;
  sum %= P;
  for (let i = 0; i < POSEIDON2_WIDTH; i++) s[i] = (sum + s[i]! * INTERNAL_MATRIX_DIAGONAL[i]!) % P;
}

function fullRound(s: bigint[], round: number): void {
  for (let i = 0; i < POSEIDON2_WIDTH; i++) {
    s[i] = sbox((s[i]! + EXTERNAL_ROUND_CONSTANTS[round * POSEIDON2_WIDTH + i]!) % P);
  }
  externalLinearLayer(s);
}

/** The Poseidon2 permutation, in place on 12 canonical words. */
export function poseidon2PermuteInPlace(s: bigint[]): void {
  externalLinearLayer(s);
  for (let r = 0; r < HALF_FULL_ROUNDS; r++) fullRound(s, r);
  for (let r = 0; r < PARTIAL_ROUNDS; r++) {
    s[0] = sbox((s[0]! + INTERNAL_ROUND_CONSTANTS[r]!) % P);
    internalLinearLayer(s);
  }
  for (let r = HALF_FULL_ROUNDS; r < 2 * HALF_FULL_ROUNDS; r++) fullRound(s, r);
}

/** The permutation of 12 words (inputs are reduced mod p first). */
export function poseidon2Permute(input: readonly bigint[]): bigint[] {
  if (input.length !== POSEIDON2_WIDTH) {
    throw new Error(`Poseidon2 permutation needs ${POSEIDON2_WIDTH} words, got ${input.length}`);
  }
  const s = input.map(gl);
  poseidon2PermuteInPlace(s);
  return s;
}

/** Sponge without padding: absorb by overwriting 8 words per block, squeeze `numOutputs` words. */
export function hashNToMNoPad(input: readonly bigint[], numOutputs: number): bigint[] {
  const s: bigint[] = new Array<bigint>(POSEIDON2_WIDTH).fill(0n);
  for (let i = 0; i < input.length; i += POSEIDON2_RATE) {
    for (let j = 0; j < POSEIDON2_RATE && i + j < input.length; j++) s[j] = gl(input[i + j]!);
    poseidon2PermuteInPlace(s);
  }
  const out: bigint[] = [];
  for (;;) {
    for (let i = 0; i < POSEIDON2_RATE; i++) {
      if (out.length === numOutputs) return out;
      out.push(s[i]!);
    }
    if (out.length === numOutputs) return out;
    poseidon2PermuteInPlace(s);
  }
}

/** A 4-word hash. */
export type HashOut = readonly [bigint, bigint, bigint, bigint];

export function hashNToHashNoPad(input: readonly bigint[]): HashOut {
  const [a, b, c, d] = hashNToMNoPad(input, 4);
  return [a!, b!, c!, d!];
}

export function hashTwoToOne(left: HashOut, right: HashOut): HashOut {
  return hashNToHashNoPad([...left, ...right]);
}

/** Fold-left of hashTwoToOne; a single hash is returned as is. */
export function hashNToOne(hashes: readonly HashOut[]): HashOut {
  if (hashes.length === 0) throw new Error('hashNToOne needs at least one hash');
  let acc = hashes[0]!;
  for (let i = 1; i < hashes.length; i++) acc = hashTwoToOne(acc, hashes[i]!);
  return acc;
}

/** The hash Lighter signs: 5 output words read as a GF(p^5) element. */
export function hashToQuinticExtension(input: readonly bigint[]): Fp5 {
  const [a, b, c, d, e] = hashNToMNoPad(input, 5);
  return [a!, b!, c!, d!, e!];
}

/** Bytes (a multiple of 8) read as little-endian u64 words, then hashed to 4 words. */
export function poseidon2DigestBytes(bytes: Uint8Array): HashOut {
  return hashNToHashNoPad(bytesToU64WordsLE(bytes, false));
}

/**
 * Splits bytes into 8-byte little-endian words. With `padLastChunk` the last partial chunk is
 * zero-padded (the auth token's rule); without it the length must be a multiple of 8.
 */
export function bytesToU64WordsLE(bytes: Uint8Array, padLastChunk: boolean): bigint[] {
  if (!padLastChunk && bytes.length % 8 !== 0) {
    throw new Error(`byte input length must be a multiple of 8, got ${bytes.length}`);
  }
  const words: bigint[] = [];
  for (let i = 0; i < bytes.length; i += 8) {
    let v = 0n;
    for (let j = Math.min(7, bytes.length - 1 - i); j >= 0; j--) v = (v << 8n) | BigInt(bytes[i + j]!);
    words.push(gl(v));
  }
  return words;
}
