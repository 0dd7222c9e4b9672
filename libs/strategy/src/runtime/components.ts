/**
 * The strategy service as lifecycle components: the one wiring that services/strategy
 * and the embedded `perpmesh start` both run.
 */
import {
  composeService,
  type ServiceComposition,
  type ServiceContext,
  type VenueAccess,
} from '@perpmesh/app';
import type { Secret } from '@perpmesh/runtime';
import type { StateStore } from '@perpmesh/state';
import {
  parseStrategyInstances,
  runtimeSettingsOf,
  STRATEGY_SERVICE,
  type StrategySection,
} from './config.js';
import { GrpcAccountReader, GrpcOrderGateway, marketsFromVenues } from './gateway.js';
import { buildStrategyService, type StrategyService } from './service.js';

export const STRATEGY_PROTO = 'perpmesh/v1/strategy.proto';
/**
 * Strategies read the venues' public market lists; orders go through the execution
 * service, so they hold no trading keys.
 */
export const STRATEGY_VENUE_ACCESS: VenueAccess = 'public';

export interface StrategyComponentsOptions extends ServiceContext {
  readonly section: StrategySection;
  readonly state: () => StateStore;
  /** The venue directory, for the markets' public lists (tick, lot, min size). */
  readonly venues: () => Parameters<typeof marketsFromVenues>[0];
  /** The execution and account services' gRPC addresses, read at start. */
  readonly executionAddress: () => string;
  readonly accountAddress: () => string;
  /** `auth.token`, sent to the execution and account services. */
  readonly authToken: Secret | undefined;
}

export function strategyServiceComponents(
  options: StrategyComponentsOptions,
): ServiceComposition<StrategyService> {
  const { section, health, logger } = options;
  // Validated before anything starts: a bad field names itself (strategy.instances[0]...).
  const instances = parseStrategyInstances(section.instances);
  const settings = runtimeSettingsOf(section);
  const client = {
    callTimeoutMs: section.callTimeout,
    ...(options.authToken === undefined ? {} : { authToken: options.authToken }),
  };
  return composeService({
    name: STRATEGY_SERVICE,
    venueAccess: STRATEGY_VENUE_ACCESS,
    protoFile: STRATEGY_PROTO,
    context: options,
    section,
    build: () =>
      buildStrategyService({
        log: options.log(),
        state: options.state(),
        subjects: options.subjects,
        streamPrefix: options.streamPrefix,
        orders: new GrpcOrderGateway({ address: options.executionAddress(), ...client }),
        account: new GrpcAccountReader({ address: options.accountAddress(), ...client }),
        markets: marketsFromVenues(options.venues()),
        health,
        logger,
        nowMs: options.nowMs ?? Date.now,
        source: options.source,
        instances,
        settings,
      }),
  });
}
