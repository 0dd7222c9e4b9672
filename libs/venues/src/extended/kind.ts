import { plannedVenueKind } from '../factories.js';
import { EXTENDED_KIND, extendedVenueConfigSchema } from './config.js';

/** Config only: the Extended adapter (its own Stark signer) comes with issue #12. */
export const extendedVenueKind = plannedVenueKind(EXTENDED_KIND, extendedVenueConfigSchema, 'issue #12');
