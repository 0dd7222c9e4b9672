import { plannedVenueKind } from '../factories.js';
import { OKX_KIND, okxVenueConfigSchema } from './config.js';

/** Config only: the ccxt adapter comes with issue #11. */
export const okxVenueKind = plannedVenueKind(OKX_KIND, okxVenueConfigSchema, 'issue #11');
