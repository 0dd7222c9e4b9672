/**
 * `venues.<id>` of `kind: lighter`: per account, the venue's account index, the index of
 * the API key we sign with, and that key's private key (40 bytes, ECgFp5; VENUES.md).
 *
 * - `apiKeyIndex` is 4-254: 0-3 belong to the venue's own apps (web, mobile), 255 means
 *   "all keys" and signs nothing. Each (account, API key) has its own nonce sequence, so
 *   `apiKeyId` (our nonce counter key) IS the API key index: it defaults to it, and a
 *   different value is refused.
 * - `testnet` uses Lighter's testnet (chain id 300; mainnet 304); `baseUrl` / `wsUrl`
 *   point at a local emulator (`urls.api.public|private` / `ws`).
 */
import { z } from 'zod';
import { venueEndpointShape, venueKindSchema } from '../config.js';
import { credentialSchema } from '../credentials.js';

export const LIGHTER_KIND = 'lighter';
export const LIGHTER_MIN_API_KEY_INDEX = 4;
export const LIGHTER_MAX_API_KEY_INDEX = 254;
export const LIGHTER_CHAIN_ID = { mainnet: 304, testnet: 300 } as const;

const apiKeyIndexSchema = z
  .int()
  .min(LIGHTER_MIN_API_KEY_INDEX, {
    error: `expected ${LIGHTER_MIN_API_KEY_INDEX}-${LIGHTER_MAX_API_KEY_INDEX}: 0-3 belong to the venue's own apps`,
  })
  .max(LIGHTER_MAX_API_KEY_INDEX, {
    error: `expected ${LIGHTER_MIN_API_KEY_INDEX}-${LIGHTER_MAX_API_KEY_INDEX}: 255 means all keys and signs nothing`,
  });

export const lighterVenueConfigSchema = venueKindSchema(LIGHTER_KIND, {
  venue: { ...venueEndpointShape },
  account: {
    /** The venue's index of the account (`/api/v1/account?by=l1_address`). */
    accountIndex: z.int().min(0),
    apiKeyIndex: apiKeyIndexSchema,
    apiPrivateKey: credentialSchema,
  },
})
  .superRefine((venue, ctx) => {
    for (const [name, account] of Object.entries(venue.accounts)) {
      if (account.apiKeyId !== 'default' && account.apiKeyId !== String(account.apiKeyIndex)) {
        ctx.addIssue({
          code: 'custom',
          path: ['accounts', name, 'apiKeyId'],
          message: `must be the API key index (${account.apiKeyIndex}) or left out: Lighter counts nonces per API key`,
        });
      }
    }
  })
  .transform((venue) => ({
    ...venue,
    accounts: Object.fromEntries(
      Object.entries(venue.accounts).map(([name, a]) => [name, { ...a, apiKeyId: String(a.apiKeyIndex) }]),
    ),
  }));
