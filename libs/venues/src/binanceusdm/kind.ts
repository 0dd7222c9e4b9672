import { ccxtVenueKind } from '../ccxt/kind.js';
import { BINANCEUSDM_KIND, binanceusdmVenueConfigSchema } from './config.js';
import { binanceusdmProfile } from './profile.js';

/** Binance USD-M futures through the ccxt adapter. */
export const binanceusdmVenueKind = ccxtVenueKind(
  BINANCEUSDM_KIND,
  binanceusdmVenueConfigSchema,
  binanceusdmProfile,
);
