/**
 * `venues.<id>` of `kind: binanceusdm` (Binance USD-M futures, through ccxt): an HMAC API
 * key and secret per account. `testnet` uses Binance's futures testnet; `baseUrl` / `wsUrl`
 * point ccxt at a local emulator (its `fapi*` REST keys and `ws.future`, VENUES.md).
 */
import { venueEndpointShape, venueKindSchema } from '../config.js';
import { credentialSchema } from '../credentials.js';

export const BINANCEUSDM_KIND = 'binanceusdm';

export const binanceusdmVenueConfigSchema = venueKindSchema(BINANCEUSDM_KIND, {
  venue: { ...venueEndpointShape },
  account: {
    apiKey: credentialSchema,
    secret: credentialSchema,
  },
});
