/**
 * `venues.<id>` of `kind: hyperliquid` (through ccxt): per account, the address of the
 * account that holds the funds (`walletAddress`, public) and the private key that signs
 * for it (the account's own key or an approved API wallet's). `testnet` uses Hyperliquid's
 * testnet; `baseUrl` / `wsUrl` point ccxt at a local emulator (`urls.api.public` /
 * `private` / `ws.public`, VENUES.md).
 */
import { z } from 'zod';
import { venueEndpointShape, venueKindSchema } from '../config.js';
import { credentialSchema } from '../credentials.js';

export const HYPERLIQUID_KIND = 'hyperliquid';

export const evmAddressSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, { error: 'expected an address: 0x and 40 hex digits' });

export const hyperliquidVenueConfigSchema = venueKindSchema(HYPERLIQUID_KIND, {
  venue: { ...venueEndpointShape },
  account: {
    /** The account trading (its funds and positions); public, so not a secret. */
    walletAddress: evmAddressSchema,
    /** Signs the account's actions: the account's own key or an approved API wallet's. */
    privateKey: credentialSchema,
  },
});
