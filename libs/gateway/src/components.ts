/**
 * The gateway as lifecycle components, for services/gateway and the embedded process:
 * `buildGateway` makes the HTTP surface (mount it on the service's HTTP listener), and
 * `gatewayFeedComponent` starts its event feed once the event log is open.
 */
import type { EventLog } from '@perpmesh/bus';
import type { Subjects } from '@perpmesh/contracts';
import type { HealthRegistry, Logger, Secret, ServiceComponent, TlsSection } from '@perpmesh/runtime';
import type { ActionPolicy } from './auth.js';
import { type GrpcBackendAddresses, GrpcBackends } from './backends.js';
import type { GatewaySection } from './config.js';
import type { ExplainSource } from './explain.js';
import { EventFeed } from './feed.js';
import { Gateway } from './gateway.js';
import type { TradingStateService } from './trading-state.js';

export const GATEWAY_FEED_COMPONENT = 'gateway/event-feed';

export interface BuildGatewayOptions {
  section: GatewaySection;
  /** Defaults to the section's addresses; the embedded process passes its bound ones. */
  addresses?: Partial<GrpcBackendAddresses>;
  /** `auth.token`: sent to the services and demanded for actions. */
  authToken: Secret | undefined;
  /** The `tls` section: the gateway's gRPC clients use TLS when it has a caFile or certFile. */
  tls?: Partial<TlsSection> | undefined;
  /** The action token when `auth.token` is absent (the embedded process's generated one). */
  localActionToken?: () => Secret | undefined;
  tradingState?: TradingStateService;
  /** GET /api/explain/<id>: the CLI's explain over this process's log (`explainSource`). */
  explain?: ExplainSource;
  logger: Logger;
}

export function buildGateway(options: BuildGatewayOptions): { gateway: Gateway; backends: GrpcBackends } {
  const { section } = options;
  const backends = new GrpcBackends({
    addresses: {
      execution: options.addresses?.execution ?? (() => section.executionAddress),
      account: options.addresses?.account ?? (() => section.accountAddress),
      marketData: options.addresses?.marketData ?? (() => section.marketDataAddress),
      strategy: options.addresses?.strategy ?? (() => section.strategyAddress),
    },
    authToken: options.authToken,
    tls: options.tls,
    callTimeoutMs: section.callTimeout,
  });
  const actions: ActionPolicy = {
    token: () => options.authToken ?? options.localActionToken?.(),
    allowUnauthenticated: section.allowUnauthenticatedActions,
  };
  const gateway = new Gateway({
    backends,
    actions,
    // In process (embedded) the caller passes the strategy service; otherwise it is reached over gRPC.
    tradingState: options.tradingState ?? backends.tradingStateService(),
    allowedHosts: section.allowedHosts,
    explain: options.explain,
    logger: options.logger,
  });
  return { gateway, backends };
}

export function gatewayFeedComponent(options: {
  gateway: Gateway;
  backends: { close(): void };
  log: () => EventLog;
  subjects: Subjects;
  streamPrefix: string;
  recentDecisions: number;
  health: HealthRegistry;
  logger: Logger;
}): ServiceComponent {
  let feed: EventFeed | undefined;
  options.health.register(GATEWAY_FEED_COMPONENT, 'gateway: event feed not started yet');
  return {
    name: 'gateway',
    start: async () => {
      feed = new EventFeed({
        log: options.log(),
        subjects: options.subjects,
        streamPrefix: options.streamPrefix,
        recentDecisions: options.recentDecisions,
        logger: options.logger,
      });
      await feed.start();
      options.gateway.attachFeed(feed);
      options.health.ready(GATEWAY_FEED_COMPONENT);
    },
    stop: async () => {
      options.health.notReady(GATEWAY_FEED_COMPONENT, 'gateway: stopped');
      options.gateway.attachFeed(undefined);
      options.gateway.closeStreams();
      await feed?.stop();
      options.backends.close();
    },
  };
}
