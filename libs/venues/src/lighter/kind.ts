import { plannedVenueKind } from '../factories.js';
import { LIGHTER_KIND, lighterVenueConfigSchema } from './config.js';

/** Config only: the Lighter adapter (its own signer) comes with issue #12. */
export const lighterVenueKind = plannedVenueKind(LIGHTER_KIND, lighterVenueConfigSchema, 'issue #12');
