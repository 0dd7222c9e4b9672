/**
 * Lighter's auth token for private reads: "{deadline}:{account}:{apiKeyIndex}:{hex signature}",
 * the deadline in Unix seconds (the venue accepts at most 8 hours ahead). The signed hash is
 * HashToQuinticExtension of the message's ASCII bytes in 8-byte little-endian words, the last one
 * zero-padded.
 */
import type { Fp5 } from './gfp5.js';
import { bytesToHex, type LighterPrivateKey } from './keys.js';
import { bytesToU64WordsLE, hashToQuinticExtension } from './poseidon2.js';
import { type SchnorrSignature, schnorrVerify, signatureFromBytes, signatureToBytes } from './schnorr.js';

export interface LighterAuthTokenParams {
  readonly deadlineUnixSeconds: bigint | number;
  readonly accountIndex: bigint | number;
  readonly apiKeyIndex: bigint | number;
}

function asInteger(value: bigint | number, name: string): bigint {
  if (typeof value === 'bigint') return value;
  if (Number.isSafeInteger(value)) return BigInt(value);
  throw new Error(`Lighter auth token ${name}: must be an integer`);
}

export function lighterAuthMessage(params: LighterAuthTokenParams): string {
  const deadline = asInteger(params.deadlineUnixSeconds, 'deadlineUnixSeconds');
  const account = asInteger(params.accountIndex, 'accountIndex');
  const apiKey = asInteger(params.apiKeyIndex, 'apiKeyIndex');
  return `${deadline}:${account}:${apiKey}`;
}

export function lighterAuthMessageElements(message: string): bigint[] {
  return bytesToU64WordsLE(new TextEncoder().encode(message), true);
}

export function lighterAuthMessageHash(message: string): Fp5 {
  return hashToQuinticExtension(lighterAuthMessageElements(message));
}

/** `k` only for known-answer tests. */
export function createLighterAuthToken(
  key: LighterPrivateKey,
  params: LighterAuthTokenParams,
  k?: bigint,
): string {
  const message = lighterAuthMessage(params);
  const sig: SchnorrSignature = key.sign(lighterAuthMessageHash(message), k);
  return `${message}:${bytesToHex(signatureToBytes(sig))}`;
}

export interface ParsedLighterAuthToken {
  readonly deadlineUnixSeconds: bigint;
  readonly accountIndex: bigint;
  readonly apiKeyIndex: bigint;
  readonly message: string;
  readonly signature: Uint8Array;
}

export function parseLighterAuthToken(token: string): ParsedLighterAuthToken {
  const m = /^(\d+):(\d+):(\d+):([0-9a-f]{160})$/.exec(token);
  if (!m)
    throw new Error('Lighter auth token: expected "{deadline}:{account}:{apiKeyIndex}:{160 hex chars}"');
  return {
    deadlineUnixSeconds: BigInt(m[1]!),
    accountIndex: BigInt(m[2]!),
    apiKeyIndex: BigInt(m[3]!),
    message: `${m[1]}:${m[2]}:${m[3]}`,
    signature: new Uint8Array(Buffer.from(m[4]!, 'hex')),
  };
}

/** Checks the token's signature against a public key (deadline and account checks are the caller's). */
export function verifyLighterAuthToken(token: string, publicKey: Fp5): boolean {
  let parsed: ParsedLighterAuthToken;
  try {
    parsed = parseLighterAuthToken(token);
  } catch {
    return false;
  }
  return schnorrVerify(
    publicKey,
    lighterAuthMessageHash(parsed.message),
    signatureFromBytes(parsed.signature),
  );
}
