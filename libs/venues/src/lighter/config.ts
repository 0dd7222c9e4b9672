/**
 * `venues.<id>` of `kind: lighter`: per account, the venue's account index, the index of
 * the API key we sign with, and that key's private key (40 bytes, ECgFp5; VENUES.md).
 *
 * - `apiKeyIndex` is 4-254: 0-3 belong to the venue's own apps (web, mobile), 255 means
 *   "all keys" and signs nothing. Each (account, API key) has its own nonce sequence, so
 *   `apiKeyId` (our nonce counter key) IS that pair, `<accountIndex>:<apiKeyIndex>`: it
 *   defaults to it, a different value is refused, and two accounts of one venue may not
 *   name the same pair (their nonces would clash).
 * - `accountTier` sets the request budget (standard 60 requests a minute, premium 24,000
 *   weighted); `requestsPerMinute` overrides it (an emulator, a tier we have not listed).
 * - `testnet` uses Lighter's testnet (chain id 300; mainnet 304); `baseUrl` / `wsUrl`
 *   point at a local emulator (`urls.api.public|private` / `ws`).
 * - `scheduledCancelAllMin` is the shortest dead-man switch (scheduled cancel-all) the venue
 *   takes; execution arms at least that long (`execution.deadManSwitch`). Default the venue's
 *   5 min; shorter only for an emulator (`baseUrl`) or the testnet, which may take less.
 */
import { durationMs } from '@perpmesh/runtime';
import { z } from 'zod';
import { venueEndpointShape, venueKindSchema } from '../config.js';
import { credentialSchema } from '../credentials.js';

export const LIGHTER_KIND = 'lighter';
export const LIGHTER_MIN_API_KEY_INDEX = 4;
export const LIGHTER_MAX_API_KEY_INDEX = 254;
export const LIGHTER_CHAIN_ID = { mainnet: 304, testnet: 300 } as const;
/** The shortest scheduled cancel-all Lighter's mainnet accepts. */
export const LIGHTER_SCHEDULED_CANCEL_ALL_MIN_MS = 5 * 60_000;

const apiKeyIndexSchema = z
  .int()
  .min(LIGHTER_MIN_API_KEY_INDEX, {
    error: `expected ${LIGHTER_MIN_API_KEY_INDEX}-${LIGHTER_MAX_API_KEY_INDEX}: 0-3 belong to the venue's own apps`,
  })
  .max(LIGHTER_MAX_API_KEY_INDEX, {
    error: `expected ${LIGHTER_MIN_API_KEY_INDEX}-${LIGHTER_MAX_API_KEY_INDEX}: 255 means all keys and signs nothing`,
  });

/** Requests a minute per account tier (VENUES.md). */
export const LIGHTER_TIER_REQUESTS_PER_MINUTE = { standard: 60, premium: 24_000 } as const;
export type LighterAccountTier = keyof typeof LIGHTER_TIER_REQUESTS_PER_MINUTE;

/** Our nonce counter key of a Lighter API key: the (account index, API key index) pair. */
export function lighterApiKeyId(accountIndex: number, apiKeyIndex: number): string {
  return `${accountIndex}:${apiKeyIndex}`;
}

export const lighterVenueConfigSchema = venueKindSchema(LIGHTER_KIND, {
  venue: {
    ...venueEndpointShape,
    accountTier: z.enum(['standard', 'premium']).default('standard'),
    requestsPerMinute: z.int().min(1).optional(),
    scheduledCancelAllMin: durationMs.pipe(z.int().min(1)).default(LIGHTER_SCHEDULED_CANCEL_ALL_MIN_MS),
  },
  account: {
    /** The venue's index of the account (`/api/v1/account?by=l1_address`). */
    accountIndex: z.int().min(0),
    apiKeyIndex: apiKeyIndexSchema,
    apiPrivateKey: credentialSchema,
  },
})
  .superRefine((venue, ctx) => {
    if (
      venue.scheduledCancelAllMin < LIGHTER_SCHEDULED_CANCEL_ALL_MIN_MS &&
      venue.baseUrl === undefined &&
      !venue.testnet
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['scheduledCancelAllMin'],
        message: `Lighter's mainnet takes ${LIGHTER_SCHEDULED_CANCEL_ALL_MIN_MS / 60_000} min at least; a shorter minimum is for an emulator (baseUrl) or the testnet`,
      });
    }
    const pairs = new Map<string, string>();
    for (const [name, account] of Object.entries(venue.accounts)) {
      const id = lighterApiKeyId(account.accountIndex, account.apiKeyIndex);
      if (account.apiKeyId !== 'default' && account.apiKeyId !== id) {
        ctx.addIssue({
          code: 'custom',
          path: ['accounts', name, 'apiKeyId'],
          message: `must be "${id}" (account index:API key index) or left out: Lighter counts nonces per API key`,
        });
      }
      const other = pairs.get(id);
      if (other !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['accounts', name, 'apiKeyIndex'],
          message: `API key ${account.apiKeyIndex} of account ${account.accountIndex} is already used by account "${other}": one nonce sequence cannot serve two`,
        });
      }
      pairs.set(id, name);
    }
  })
  .transform((venue) => ({
    ...venue,
    accounts: Object.fromEntries(
      Object.entries(venue.accounts).map(([name, a]) => [
        name,
        { ...a, apiKeyId: lighterApiKeyId(a.accountIndex, a.apiKeyIndex) },
      ]),
    ),
  }));
export type LighterVenueConfig = z.output<typeof lighterVenueConfigSchema>;
