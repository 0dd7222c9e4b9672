import { ccxtVenueKind } from '../ccxt/kind.js';
import { OKX_KIND, okxVenueConfigSchema } from './config.js';
import { okxProfile } from './profile.js';

/** OKX swaps through the ccxt adapter. */
export const okxVenueKind = ccxtVenueKind(OKX_KIND, okxVenueConfigSchema, okxProfile);
