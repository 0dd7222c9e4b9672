export * from './binanceusdm/config.js';
export { ccxtVenueKind } from './ccxt/kind.js';
export type { CcxtVenuePort, CcxtVenuePortOptions } from './ccxt/port.js';
export type { CcxtVenueProfile } from './ccxt/profile.js';
export * from './config.js';
export * from './credentials.js';
export * from './directory.js';
export * from './emulated-venues.js';
export * from './errors.js';
export * from './extended/config.js';
export { extendedEndpoints, extendedVenueKind } from './extended/kind.js';
export {
  EXTENDED_CAPABILITIES,
  type ExtendedAccountKeys,
  ExtendedVenuePort,
  type ExtendedVenuePortOptions,
} from './extended/port.js';
export * from './factories.js';
export * from './hyperliquid/config.js';

import './kinds.js';

export * from './lighter/config.js';
export { LIGHTER_URLS, lighterEndpoints, openLighterVenuePort } from './lighter/kind.js';
export type {
  LighterCredentials,
  LighterSelfTestResult,
  LighterVenuePort,
  LighterVenuePortOptions,
} from './lighter/port.js';
export * from './okx/config.js';
export * from './open.js';
export * from './paper/index.js';
export {
  PAPER_VENUE_CLIENT_DEFAULTS,
  PaperVenueClient,
  type PaperVenueClientOptions,
  type RevealableSecret,
} from './paper-service/client.js';
export {
  DeferredVenuePort,
  type DeferredVenuePortOptions,
  isTransientConnectError,
  openOrDefer,
} from './paper-service/deferred-port.js';
export {
  DEFAULT_MAX_QUEUED_STREAM_MESSAGES,
  PAPER_STREAM_FLUSH_ENV,
  type PaperVenueGrpcServiceOptions,
  paperVenueGrpcService,
  type VenueResolver,
} from './paper-service/server.js';
export { FIELD_METADATA, VENUE_ERROR_METADATA, VENUE_ERROR_STATUS } from './paper-service/status.js';
export * from './port.js';
export * from './readiness.js';
export * from './shared/client-order-id.js';
export * from './shared/reconnecting-stream.js';
export * from './shared/venue-clock.js';
