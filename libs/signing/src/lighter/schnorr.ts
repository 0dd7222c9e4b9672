/**
 * Schnorr signatures over ECgFp5 with Poseidon2, as Lighter uses them:
 *   r = encode(k G), e = FromGfp5(HashToQuinticExtension(r || hm)), s = k - e sk (mod n),
 *   signature = s (40 bytes LE) || e (40 bytes LE).
 * Verification recomputes r' = encode(s G + e pk) and accepts iff the challenge of r' equals e.
 */
import { createHmac } from 'node:crypto';
import {
  type EcPoint,
  FixedBaseTable,
  isNeutral,
  mulAddGenerator,
  mulGenerator,
  pointDecode,
  pointEncode,
} from './ecgfp5.js';
import { type Fp5, fp5FromBytesLE, fp5ToBytesLE } from './gfp5.js';
import { hashToQuinticExtension } from './poseidon2.js';
import {
  bytesToBigIntLE,
  SCALAR_BYTES,
  scalarFromFp5,
  scalarMul,
  scalarReduce,
  scalarSub,
  scalarToBytesLE,
} from './scalar.js';

export const SIGNATURE_BYTES = 2 * SCALAR_BYTES;

export interface SchnorrSignature {
  readonly s: bigint;
  readonly e: bigint;
}

/** The challenge e for a nonce commitment r (encoded) and a hashed message. */
export function schnorrChallenge(r: Fp5, hashedMessage: Fp5): bigint {
  return scalarFromFp5(hashToQuinticExtension([...r, ...hashedMessage]));
}

/**
 * The nonce k. The official signer draws k at random; we derive it deterministically from the
 * key and the message (HMAC-SHA-512, in the spirit of RFC 6979), so no signature depends on the
 * quality of a random source and a repeated (key, message) gives the same signature. Any k in
 * [1, n) gives a signature the official verifier accepts.
 */
export function deterministicNonce(secretKey: bigint, hashedMessage: Fp5): bigint {
  for (let counter = 0; ; counter++) {
    const mac = createHmac('sha512', scalarToBytesLE(secretKey))
      .update(fp5ToBytesLE(hashedMessage))
      .update(Uint8Array.of(counter))
      .digest();
    const k = scalarReduce(bytesToBigIntLE(mac));
    if (k !== 0n) return k;
  }
}

/** Signs a hashed message (a GF(p^5) element) with secret scalar sk; k is for known-answer tests. */
export function schnorrSign(hashedMessage: Fp5, secretKey: bigint, k?: bigint): SchnorrSignature {
  const nonce = k === undefined ? deterministicNonce(secretKey, hashedMessage) : scalarReduce(k);
  const r = pointEncode(mulGenerator(nonce));
  const e = schnorrChallenge(r, hashedMessage);
  return { s: scalarSub(nonce, scalarMul(e, secretKey)), e };
}

export function signatureToBytes(sig: SchnorrSignature): Uint8Array {
  const out = new Uint8Array(SIGNATURE_BYTES);
  out.set(scalarToBytesLE(sig.s), 0);
  out.set(scalarToBytesLE(sig.e), SCALAR_BYTES);
  return out;
}

/** Parses 80 bytes; s and e are reduced mod n (as the official v0.0.15 parser does). */
export function signatureFromBytes(bytes: Uint8Array): SchnorrSignature {
  if (bytes.length !== SIGNATURE_BYTES) {
    throw new Error(`Schnorr signature needs ${SIGNATURE_BYTES} bytes, got ${bytes.length}`);
  }
  return {
    s: scalarReduce(bytesToBigIntLE(bytes.subarray(0, SCALAR_BYTES))),
    e: scalarReduce(bytesToBigIntLE(bytes.subarray(SCALAR_BYTES))),
  };
}

// Public keys that verify repeatedly (an emulator checking one account's orders) get a
// fixed-base table from their second verification on; the oldest entries are dropped.
const KEY_CACHE_LIMIT = 64;
const keyCache = new Map<string, { point: EcPoint; table?: FixedBaseTable }>();

function decodedPublicKey(publicKey: Fp5): { point: EcPoint; table?: FixedBaseTable } | undefined {
  const id = publicKey.join(',');
  const hit = keyCache.get(id);
  if (hit) {
    hit.table ??= new FixedBaseTable(hit.point);
    return hit;
  }
  const point = pointDecode(publicKey);
  if (point === undefined) return undefined;
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value!);
  const entry = { point };
  keyCache.set(id, entry);
  return entry;
}

export function schnorrVerify(publicKey: Fp5, hashedMessage: Fp5, sig: SchnorrSignature): boolean {
  const pk = decodedPublicKey(publicKey);
  // The neutral element is no key (anyone could sign for it); the official verifier does not
  // single it out, we reject it.
  if (pk === undefined || isNeutral(pk.point)) return false;
  const r = pointEncode(mulAddGenerator(sig.s, pk.point, sig.e, pk.table));
  return schnorrChallenge(r, hashedMessage) === sig.e;
}

/**
 * The byte-level verification of the official `Validate(pubKey, hashedMsg, sig)`: 40-byte public
 * key and hashed message (limbs reduced mod p, no range check) and an 80-byte signature.
 * Returns false, never throws, for malformed input.
 */
export function schnorrVerifyBytes(
  publicKey: Uint8Array,
  hashedMessage: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (publicKey.length !== 40 || hashedMessage.length !== 40 || signature.length !== SIGNATURE_BYTES)
    return false;
  return schnorrVerify(
    fp5FromBytesLE(publicKey),
    fp5FromBytesLE(hashedMessage),
    signatureFromBytes(signature),
  );
}
