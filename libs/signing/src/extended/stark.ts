/**
 * Stark-curve ECDSA for Extended: keys, signing with RFC 6979 deterministic k (so a
 * signature is reproducible and matches the venue's own signers) and verification against
 * the x-only Stark public key the venue registers. All through @scure/starknet.
 *
 * A private key lives only inside a `StarkSigner`: it is never returned, printed or put in
 * an error message.
 */
import { ValidationError } from '@perpmesh/core';
import { getStarkKey, sign, utils, verify } from '@scure/starknet';
import { FELT_PRIME, feltHex, hex64, parseInteger } from './felt.js';

export interface StarkSignature {
  readonly r: bigint;
  readonly s: bigint;
}

/** Reads a private key without ever echoing it: the error says what is wrong, not the value. */
function parsePrivateKey(privateKey: unknown): bigint {
  let key: bigint;
  try {
    key = parseInteger(privateKey, 'starkPrivateKey');
  } catch {
    throw new ValidationError('starkPrivateKey', 'not an integer (decimal or 0x-hex)');
  }
  if (!utils.isValidPrivateKey(key)) {
    throw new ValidationError('starkPrivateKey', 'out of the Stark curve scalar range [1, n)');
  }
  return key;
}

/** The x-only Stark public key (the `starkKey` / `l2Key` the venue knows) of a private key. */
export function starkPublicKey(privateKey: bigint | string): bigint {
  return BigInt(getStarkKey(hex64(parsePrivateKey(privateKey))));
}

function checkHash(hash: bigint, field: string): void {
  if (hash < 0n || hash >= FELT_PRIME) throw new ValidationError(field, 'out of the felt range [0, P)');
}

/**
 * Verifies (r, s) over a message hash under an x-only public key. The key's point is
 * (x, y) or (x, -y); the Stark ECDSA convention accepts either. Never throws: a malformed
 * signature or key is simply not valid.
 */
export function verifyStarkSignature(hash: bigint, signature: StarkSignature, publicKey: bigint): boolean {
  try {
    checkHash(hash, 'hash');
    const x = hex64(publicKey);
    const compact = hex64(signature.r) + hex64(signature.s);
    if (compact.length !== 128) return false;
    return ['02', '03'].some((prefix) => {
      try {
        return verify(compact, hex64(hash), prefix + x, { format: 'compact' });
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** Holds one Stark private key and signs with it; the key cannot be read back. */
export class StarkSigner {
  readonly #privateKey: bigint;
  readonly publicKey: bigint;

  constructor(privateKey: bigint | string) {
    this.#privateKey = parsePrivateKey(privateKey);
    this.publicKey = BigInt(getStarkKey(hex64(this.#privateKey)));
  }

  /** ECDSA over a felt-sized message hash with RFC 6979 deterministic k (no extra entropy). */
  signHash(hash: bigint): StarkSignature {
    checkHash(hash, 'hash');
    const signature = sign(hex64(hash), hex64(this.#privateKey));
    return { r: signature.r, s: signature.s };
  }

  toJSON(): { publicKey: string } {
    return { publicKey: feltHex(this.publicKey) };
  }

  toString(): string {
    return `StarkSigner(publicKey=${feltHex(this.publicKey)})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
