import { plannedVenueKind } from '../factories.js';
import { HYPERLIQUID_KIND, hyperliquidVenueConfigSchema } from './config.js';

/** Config only: the ccxt adapter comes with issue #11. */
export const hyperliquidVenueKind = plannedVenueKind(
  HYPERLIQUID_KIND,
  hyperliquidVenueConfigSchema,
  'issue #11',
);
