/**
 * `venues.<id>` of `kind: extended` (Extended, on Starknet): per account, the API key
 * (`X-Api-Key` header), the Stark private key that signs order settlements, its public key
 * (`starkKey` in the order body) and the account's vault (`l2Vault`, the settlement
 * `position_id`); VENUES.md.
 *
 * `chainId` is the signing domain's chain (`SN_MAIN` or `SN_SEPOLIA`). It is always set
 * explicitly for the signer (ccxt would guess it from the REST URL): by default
 * `SN_SEPOLIA` with `testnet`, else `SN_MAIN`, also behind a local emulator's `baseUrl`.
 */
import { z } from 'zod';
import { venueEndpointShape, venueKindSchema } from '../config.js';
import { credentialSchema } from '../credentials.js';

export const EXTENDED_KIND = 'extended';
export const EXTENDED_CHAIN_IDS = ['SN_MAIN', 'SN_SEPOLIA'] as const;

/** A non-negative whole number as text (YAML may give it as a number). */
const vaultSchema = z
  .union([z.int().min(0), z.string().regex(/^\d{1,20}$/, { error: 'expected a whole number' })])
  .transform((v) => String(v));

export const extendedVenueConfigSchema = venueKindSchema(EXTENDED_KIND, {
  venue: {
    ...venueEndpointShape,
    chainId: z.enum(EXTENDED_CHAIN_IDS).optional(),
  },
  account: {
    apiKey: credentialSchema,
    starkPrivateKey: credentialSchema,
    /** The Stark public key of the account (`l2Key`): 0x and up to 64 hex digits. */
    starkPublicKey: z
      .string()
      .regex(/^0x[0-9a-fA-F]{1,64}$/, { error: 'expected a Stark key: 0x and up to 64 hex digits' }),
    /** The account's vault (`l2Vault`), the settlement's position id. */
    vault: vaultSchema,
  },
}).transform((venue) => ({
  ...venue,
  chainId: venue.chainId ?? (venue.testnet ? 'SN_SEPOLIA' : 'SN_MAIN'),
}));
export type ExtendedVenueConfig = z.output<typeof extendedVenueConfigSchema>;
