/**
 * The built-in venue kinds: one line per adapter folder. Importing `@perpmesh/venues`
 * registers them; adding a kind is its folder plus one line here.
 */
import { binanceusdmVenueKind } from './binanceusdm/kind.js';
import { extendedVenueKind } from './extended/kind.js';
import { registerVenueKind } from './factories.js';
import { hyperliquidVenueKind } from './hyperliquid/kind.js';
import { lighterVenueKind } from './lighter/kind.js';
import { okxVenueKind } from './okx/kind.js';
import { paperVenueKind } from './paper/kind.js';

registerVenueKind(paperVenueKind);
registerVenueKind(binanceusdmVenueKind);
registerVenueKind(okxVenueKind);
registerVenueKind(hyperliquidVenueKind);
registerVenueKind(lighterVenueKind);
registerVenueKind(extendedVenueKind);
