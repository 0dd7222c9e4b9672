/**
 * The gateway deployable: `node services/gateway/dist/main.js [--config f] [--set k=v]`.
 * Serves the dashboard, the HTTP/JSON API and server-sent events on `gateway.http` (8080),
 * next to /healthz /readyz /metrics on the same listener. It reads the bus (ephemeral
 * tails) and calls the services' gRPC at `gateway.*Address`; it holds no state of its own.
 */
import {
  eventLogComponent,
  httpComponent,
  namespacing,
  runIfEntryPoint,
  runServiceMain,
  Slot,
} from '@perpmesh/app';
import type { EventLog } from '@perpmesh/bus';
import {
  buildGateway,
  GATEWAY_SERVICE,
  type GatewayConfigFile,
  gatewayConfigSchema,
  gatewayFeedComponent,
  mountGateway,
} from '@perpmesh/gateway';
import { explainSource } from '@perpmesh/replay';
import { createMetrics, HealthRegistry, type Logger, type ServiceComponent } from '@perpmesh/runtime';

export function buildComponents(
  config: GatewayConfigFile,
  logger: Logger,
  health = new HealthRegistry(),
): ServiceComponent[] {
  const section = config.gateway;
  const metrics = createMetrics(GATEWAY_SERVICE);
  const ns = namespacing(config);
  const log = new Slot<EventLog>('event log');
  const { gateway, backends } = buildGateway({
    section,
    authToken: config.auth.token,
    tls: config.tls,
    // The dashboard's explain timeline: @perpmesh/replay's explain (as `perpmesh explain`) over this process's log.
    explain: explainSource({ reader: () => log.get(), subjects: ns.subjects, streamPrefix: ns.streamPrefix }),
    logger,
  });
  if (config.auth.token === undefined && !section.allowUnauthenticatedActions) {
    logger.warn('gateway: no auth.token configured; cancel-all and trading-state are refused');
  }
  return [
    httpComponent({
      http: section.http,
      health,
      metrics: metrics.registry,
      logger,
      onStarted: (server) => mountGateway(server.server, gateway, logger),
    }),
    eventLogComponent(config, `${GATEWAY_SERVICE}/0`, log, logger),
    gatewayFeedComponent({
      gateway,
      backends,
      log: () => log.get(),
      subjects: ns.subjects,
      streamPrefix: ns.streamPrefix,
      recentDecisions: section.recentDecisions,
      health,
      logger,
    }),
  ];
}

export function main(argv?: readonly string[]): Promise<number> {
  return runServiceMain({ name: GATEWAY_SERVICE, schema: gatewayConfigSchema, argv, build: buildComponents });
}

runIfEntryPoint(import.meta.url, GATEWAY_SERVICE, () => main());
