import { plannedVenueKind } from '../factories.js';
import { BINANCEUSDM_KIND, binanceusdmVenueConfigSchema } from './config.js';

/** Config only: the ccxt adapter comes with issue #11. */
export const binanceusdmVenueKind = plannedVenueKind(
  BINANCEUSDM_KIND,
  binanceusdmVenueConfigSchema,
  'issue #11',
);
