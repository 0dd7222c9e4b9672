/**
 * The strategy service as lifecycle components: the one wiring that services/strategy
 * and the embedded `perpmesh start` both run.
 */
import {
  commonServiceDeps,
  composeService,
  type ServiceComponentsOptions,
  type ServiceComposition,
  type VenueAccess,
} from '@perpmesh/app';
import { grpcChannelCredentials, type Secret, type ServiceMetrics } from '@perpmesh/runtime';
import { DEFAULT_STOP_STORE_WAIT_MS } from '@perpmesh/state';
import { alarmWebhookOptions } from './alarm-webhook.js';
import {
  parseStrategyInstances,
  runtimeSettingsOf,
  STRATEGY_DEFAULTS,
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

export interface StrategyComponentsOptions
  extends ServiceComponentsOptions<StrategySection, 'state' | 'venues'> {
  /** The execution and account services' gRPC addresses, read at start. */
  readonly executionAddress: () => string;
  readonly accountAddress: () => string;
  /** `auth.token`, sent to the execution and account services. */
  readonly authToken: Secret | undefined;
  /** The stage histograms' registry (/metrics); none: not measured. */
  readonly metrics?: ServiceMetrics;
}

export function strategyServiceComponents(
  options: StrategyComponentsOptions,
): ServiceComposition<StrategyService> {
  const { section } = options;
  // Validated before anything starts: a bad field names itself (strategy.instances[0]...).
  const instances = parseStrategyInstances(section.instances);
  const settings = runtimeSettingsOf(section);
  const webhook = section.alarms.webhook;
  const alarmWebhook = webhook
    ? alarmWebhookOptions(webhook, options.logger.child({ component: 'alarm-webhook' }))
    : undefined;
  const client = {
    callTimeoutMs: section.callTimeout,
    ...(options.authToken === undefined ? {} : { authToken: options.authToken }),
    channelCredentials: grpcChannelCredentials(options.grpc.config.tls),
  };
  return composeService({
    name: STRATEGY_SERVICE,
    // A stop cancels and confirms (within stopCancelTimeout; one call's time as margin) and
    // waits for the state store or the event log at most DEFAULT_STOP_STORE_WAIT_MS per step
    // (cancel step, lease pass, step in flight, journal flush, final save, lease release; 0.5 s
    // each once the cancel step did not finish): a stop is clean even during an outage.
    stopTimeoutMs:
      (settings.stopCancelTimeoutMs ?? STRATEGY_DEFAULTS.stopCancelTimeoutMs) +
      section.callTimeout +
      3 * DEFAULT_STOP_STORE_WAIT_MS,
    venueAccess: STRATEGY_VENUE_ACCESS,
    protoFile: STRATEGY_PROTO,
    context: options,
    section,
    build: () =>
      buildStrategyService({
        ...commonServiceDeps(options),
        state: options.state(),
        streamPrefix: options.streamPrefix,
        orders: new GrpcOrderGateway({ address: options.executionAddress(), ...client }),
        account: new GrpcAccountReader({ address: options.accountAddress(), ...client }),
        markets: marketsFromVenues(options.venues()),
        instances,
        settings,
        ...(options.metrics ? { metrics: options.metrics } : {}),
        ...(alarmWebhook ? { alarmWebhook } : {}),
      }),
  });
}
