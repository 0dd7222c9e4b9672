import { ccxtVenueKind } from '../ccxt/kind.js';
import { HYPERLIQUID_KIND, hyperliquidVenueConfigSchema } from './config.js';
import { hyperliquidProfile } from './profile.js';

/** Hyperliquid perps through the ccxt adapter. */
export const hyperliquidVenueKind = ccxtVenueKind(
  HYPERLIQUID_KIND,
  hyperliquidVenueConfigSchema,
  hyperliquidProfile,
);
