export {
  isPaperVenueSection,
  PAPER_KIND,
  type PaperVenueSection,
  paperVenueConfigSchema,
} from './config.js';
export { errorFromReject, REJECT_REASONS } from './errors.js';
export {
  type PaperHubFromConfigOptions,
  type PaperVenueRules,
  paperHubOptionsFromConfig,
} from './from-config.js';
export {
  PaperHubClosedError,
  type PaperHubStep,
  PaperVenueHub,
  type PaperVenueHubOptions,
  type PaperVenueHubState,
  type PaperVenueHubStatus,
} from './hub.js';
export { paperVenueKind } from './kind.js';
export { PAPER_MAX_BATCH_ORDERS } from './parse.js';
export { SimulatedVenue } from './port.js';
export {
  DEFAULT_API_KEY_ID,
  DEFAULT_FILL_HISTORY_LIMIT,
  DEFAULT_PAPER_VENUE_IDS,
  DEFAULT_TICK_INTERVAL_MS,
  type PaperAccountSetup,
  type PaperClock,
  type PaperVenueOverrides,
  type PaperVenueSetup,
  parsePaperAccountId,
  parsePaperVenueId,
  resolvePaperVenueConfig,
} from './setup.js';
