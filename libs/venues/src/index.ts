export * from './config.js';
export * from './directory.js';
export * from './errors.js';
export * from './paper/index.js';
export * from './port.js';
export {
  REMOTE_VENUE_DEFAULTS,
  RemoteVenue,
  type RemoteVenueOptions,
  type RevealableSecret,
} from './remote/client.js';
export {
  DEFAULT_MAX_QUEUED_STREAM_MESSAGES,
  type PaperVenueServiceOptions,
  paperVenueServiceImpl,
  type VenueResolver,
} from './remote/server.js';
export { FIELD_METADATA, VENUE_ERROR_METADATA, VENUE_ERROR_STATUS } from './remote/status.js';
