/**
 * Lighter API keys: the private key is 40 bytes read little-endian as a scalar mod n (values
 * >= n are reduced, as the official library does); the public key is the encoding of sk * G,
 * 40 bytes. The private key value never appears in errors, logs or JSON.
 */
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { mulGenerator, pointEncode } from './ecgfp5.js';
import { type Fp5, fp5ToBytesLE } from './gfp5.js';
import { bytesToBigIntBE, SCALAR_BYTES, scalarFromBytesLE, scalarReduce, scalarToBytesLE } from './scalar.js';
import { type SchnorrSignature, schnorrSign } from './schnorr.js';

export function publicKeyFromScalar(secretKey: bigint): Fp5 {
  return pointEncode(mulGenerator(secretKey));
}

/** Hex without 0x (an optional 0x prefix is accepted on input). */
export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function hexToBytes(hex: string, what: string, expectedLength?: number): Uint8Array {
  const clean = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) throw new Error(`${what}: not a hex string`);
  const bytes = new Uint8Array(Buffer.from(clean, 'hex'));
  if (expectedLength !== undefined && bytes.length !== expectedLength) {
    throw new Error(`${what}: expected ${expectedLength} bytes, got ${bytes.length}`);
  }
  return bytes;
}

/**
 * The official seed derivation (NewSeedKeyManager): SHA-256(0x01 || seed) || SHA-256(0x02 ||
 * seed)[0..8], read big-endian as a 320-bit integer, reduced mod n.
 */
export function scalarFromSeed(seed: Uint8Array): bigint {
  const h1 = createHash('sha256').update(Uint8Array.of(1)).update(seed).digest();
  const h2 = createHash('sha256').update(Uint8Array.of(2)).update(seed).digest();
  return scalarReduce(bytesToBigIntBE(Buffer.concat([h1, h2.subarray(0, 8)])));
}

const REDACTED = '[redacted Lighter private key]';

/** A Lighter API private key. Holds the scalar privately; prints and serializes as redacted. */
export class LighterPrivateKey {
  readonly #scalar: bigint;
  /** The public key as a GF(p^5) element. */
  readonly publicKey: Fp5;

  private constructor(scalar: bigint) {
    this.#scalar = scalar;
    this.publicKey = publicKeyFromScalar(scalar);
  }

  /** From the 40-byte key as hex (with or without 0x), as the venue's key generator prints it. */
  static fromHex(hex: string): LighterPrivateKey {
    const clean = hex.trim();
    const body = clean.startsWith('0x') ? clean.slice(2) : clean;
    if (body.length !== 2 * SCALAR_BYTES || !/^[0-9a-fA-F]+$/.test(body)) {
      throw new Error(`Lighter private key: expected ${SCALAR_BYTES} bytes as hex`);
    }
    return LighterPrivateKey.fromBytes(new Uint8Array(Buffer.from(body, 'hex')));
  }

  static fromBytes(bytes: Uint8Array): LighterPrivateKey {
    if (bytes.length !== SCALAR_BYTES) throw new Error(`Lighter private key: expected ${SCALAR_BYTES} bytes`);
    const scalar = scalarFromBytesLE(bytes);
    if (scalar === 0n) throw new Error('Lighter private key: is zero mod the group order, not a usable key');
    return new LighterPrivateKey(scalar);
  }

  static fromSeed(seed: Uint8Array): LighterPrivateKey {
    const scalar = scalarFromSeed(seed);
    if (scalar === 0n) throw new Error('Lighter private key: seed gives zero, not a usable key');
    return new LighterPrivateKey(scalar);
  }

  /** 40 bytes, the form the venue registers (hex without 0x on the HTTP API). */
  get publicKeyBytes(): Uint8Array {
    return fp5ToBytesLE(this.publicKey);
  }

  get publicKeyHex(): string {
    return bytesToHex(this.publicKeyBytes);
  }

  /** Schnorr signature over a hashed message; `k` only for known-answer tests. */
  sign(hashedMessage: Fp5, k?: bigint): SchnorrSignature {
    return schnorrSign(hashedMessage, this.#scalar, k);
  }

  /** The canonical 40-byte private key (for storing it back where it came from; never log). */
  exportBytes(): Uint8Array {
    return scalarToBytesLE(this.#scalar);
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
