/**
 * SNIP-12 revision 1 typed data, the parts an Extended order needs: the type selector,
 * the StarknetDomain hash and the final message hash, all with Poseidon
 * (`poseidonHashMany`, Starknet's sponge over felts).
 */
import { ValidationError } from '@perpmesh/core';
import { keccak, poseidonHashMany } from '@scure/starknet';
import { parseInteger, shortString } from './felt.js';

/** The revision-1 domain type: every member is a short string (revision 1 is the felt 1). */
export const STARKNET_DOMAIN_TYPE =
  '"StarknetDomain"("name":"shortstring","version":"shortstring","chainId":"shortstring","revision":"shortstring")';

/** The prefix every SNIP-12 message hash starts with. */
export const STARKNET_MESSAGE_PREFIX = 'StarkNet Message';

export interface StarknetDomain {
  readonly name: string;
  readonly version: string;
  /** 'SN_MAIN' or 'SN_SEPOLIA' (any short string hashes). */
  readonly chainId: string;
  readonly revision: number | bigint;
}

/** The chains Extended signs for, with the domain its settlement signatures use. */
export type ExtendedChainId = 'SN_MAIN' | 'SN_SEPOLIA';

export function extendedDomain(chainId: ExtendedChainId): StarknetDomain {
  return { name: 'Perpetuals', version: 'v0', chainId, revision: 1 };
}

/** The selector of an encoded type string: Starknet keccak (keccak-256, low 250 bits). */
export function snip12TypeSelector(encodedType: string): bigint {
  return keccak(new TextEncoder().encode(encodedType));
}

export function starknetDomainHash(domain: StarknetDomain): bigint {
  const revision = parseInteger(domain.revision, 'domain.revision');
  if (revision !== 1n)
    throw new ValidationError('domain.revision', `only revision 1 is supported, got ${revision}`);
  return poseidonHashMany([
    snip12TypeSelector(STARKNET_DOMAIN_TYPE),
    shortString(domain.name, 'domain.name'),
    shortString(domain.version, 'domain.version'),
    shortString(domain.chainId, 'domain.chainId'),
    revision,
  ]);
}

/** poseidon('StarkNet Message', domain hash, account, struct hash). */
export function snip12MessageHash(domain: StarknetDomain, account: bigint, structHash: bigint): bigint {
  return poseidonHashMany([
    shortString(STARKNET_MESSAGE_PREFIX),
    starknetDomainHash(domain),
    account,
    structHash,
  ]);
}
