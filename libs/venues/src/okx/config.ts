/**
 * `venues.<id>` of `kind: okx` (OKX swaps, through ccxt): API key, secret and passphrase
 * per account. `testnet` is OKX demo trading; `baseUrl` / `wsUrl` point ccxt at a local
 * emulator (`urls.api.rest` / `urls.api.ws`, VENUES.md).
 */
import { venueEndpointShape, venueKindSchema } from '../config.js';
import { credentialSchema } from '../credentials.js';

export const OKX_KIND = 'okx';

export const okxVenueConfigSchema = venueKindSchema(OKX_KIND, {
  venue: { ...venueEndpointShape },
  account: {
    apiKey: credentialSchema,
    secret: credentialSchema,
    /** The passphrase chosen when the API key was created; OKX signs nothing without it. */
    passphrase: credentialSchema,
  },
});
