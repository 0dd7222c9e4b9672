/**
 * paper-venue: the simulated exchange as its own process (distributed mode). One
 * PaperVenueHub holds the paper venues of perpmesh.yaml over one seeded synthetic
 * market and serves each configured (venue, account) as the venue port over gRPC
 * (`perpmesh.v1.PaperVenueService`, port 50054), with gRPC health and reflection, and
 * `/healthz` `/readyz` `/metrics` over HTTP (port 9094).
 *
 * Start: `node services/paper-venue/dist/main.js [--config path] [--set a.b=value]`.
 * Components start in order (http, hub, grpc) and stop in reverse on SIGTERM/SIGINT.
 */
import { grpcComponent, httpComponent, PROTO_DIR, runIfEntryPoint, runServiceMain } from '@perpmesh/app';
import { PaperVenueServiceService } from '@perpmesh/contracts';
import type { AccountId, VenueId } from '@perpmesh/core';
import {
  createMetrics,
  HealthRegistry,
  type Logger,
  type RunningGrpcServer,
  type RunningHttpServer,
  type ServiceComponent,
  ServiceLifecycle,
  type ServiceLifecycleOptions,
  type ServiceMetrics,
  type StopReport,
} from '@perpmesh/runtime';
import {
  isPaperVenueSection,
  type PaperClock,
  PaperVenueHub,
  PUBLIC_ACCOUNT,
  paperHubOptionsFromConfig,
  paperVenueGrpcService,
  type SimulatedVenue,
} from '@perpmesh/venues';
import { PAPER_VENUE_SERVICE, type PaperVenueServiceConfig, paperVenueConfigSchema } from './config.js';

/** The repo's proto/ dir (libs/app), for reflection. */
export { PROTO_DIR };
export const PAPER_VENUE_PROTO = 'perpmesh/v1/paper_venue.proto';
export const HUB_HEALTH_COMPONENT = 'paper hub';
export const GRPC_HEALTH_COMPONENT = 'grpc';

export interface PaperVenueServiceDeps {
  readonly config: PaperVenueServiceConfig;
  readonly logger: Logger;
  readonly health?: HealthRegistry;
  readonly metrics?: ServiceMetrics;
  /** Default: realtime, ticking every `paper.stepInterval`. Tests pass a manual clock. */
  readonly clock?: PaperClock;
  readonly startMs?: number;
  /** Where `perpmesh/v1/paper_venue.proto` lives (for reflection). Default: the repo's proto/. */
  readonly protoDir?: string;
  /** Passed to the lifecycle (tests inject signals and exit). */
  readonly lifecycle?: Pick<ServiceLifecycleOptions, 'signals' | 'exit' | 'stopTimeoutMs'>;
}

export interface PaperVenueService {
  readonly hub: PaperVenueHub;
  readonly health: HealthRegistry;
  readonly lifecycle: ServiceLifecycle;
  /** http, paper-hub, grpc: what `lifecycle` (or `main`) starts in order. */
  readonly components: readonly ServiceComponent[];
  /** The port serving (venue, account), as the gRPC server resolves it. */
  port(venue: VenueId, account: AccountId): SimulatedVenue | undefined;
  start(): Promise<void>;
  stop(reason?: string): Promise<StopReport>;
  /** `host:port` of the gRPC server once started. */
  grpcAddress(): string | undefined;
  /** `http://host:port` of /healthz /readyz /metrics once started. */
  httpUrl(): string | undefined;
}

/** Wires the hub, the gRPC and HTTP servers and their health into one lifecycle; nothing runs until start(). */
export function buildService(deps: PaperVenueServiceDeps): PaperVenueService {
  const { config, logger } = deps;
  const section = config.paperVenue;
  const health = deps.health ?? new HealthRegistry();
  const metrics = deps.metrics ?? createMetrics(PAPER_VENUE_SERVICE, { defaultMetrics: false });
  const hubLogger = logger.child({ component: 'paper-hub' });

  const hub = new PaperVenueHub(
    paperHubOptionsFromConfig({
      venues: config.venues,
      paper: config.paper,
      rules: section.venueRules,
      fillHistoryLimit: section.fillHistoryLimit,
      ...(deps.clock === undefined ? {} : { clock: deps.clock }),
      ...(deps.startMs === undefined ? {} : { startMs: deps.startMs }),
      onError: (err, where) => hubLogger.error({ err, where }, 'paper hub error'),
    }),
  );
  const ports = new Map<string, SimulatedVenue>();
  for (const { venueId, accountId } of hub.accounts()) {
    const apiKeyId = config.venues[venueId]?.accounts[accountId]?.apiKeyId;
    ports.set(`${venueId}\u0000${accountId}`, hub.venue(venueId, accountId, apiKeyId));
  }
  // PUBLIC_ACCOUNT asks for a venue's public port (market data only): what market-data and
  // strategy open, holding no account.
  const marketPorts = new Map<VenueId, SimulatedVenue>();
  const portOf = (venue: VenueId, account: AccountId): SimulatedVenue | undefined => {
    if (account !== PUBLIC_ACCOUNT) return ports.get(`${venue}\u0000${account}`);
    if (!hub.venueIds().includes(venue) || hub.state === 'closed') return undefined;
    let port = marketPorts.get(venue);
    if (port === undefined) {
      port = hub.marketVenue(venue);
      marketPorts.set(venue, port);
    }
    return port;
  };

  // ---- health and metrics -------------------------------------------------------------------
  health.register(HUB_HEALTH_COMPONENT, 'paper hub: the simulated market is not started yet');
  health.register(GRPC_HEALTH_COMPONENT, 'grpc: PaperVenueService is not listening yet');
  const portHealthName = (p: SimulatedVenue) => `venue ${p.venue}/${p.account}`;
  for (const p of ports.values()) health.register(portHealthName(p), `${p.account}@${p.venue}: starting`);
  const refreshHealth = () => {
    const status = hub.status();
    if (status.state !== 'running') {
      health.notReady(
        HUB_HEALTH_COMPONENT,
        `paper hub: ${status.state === 'closed' ? 'closed' : 'not started'}`,
      );
    } else if (status.lastStepError !== undefined) {
      health.notReady(
        HUB_HEALTH_COMPONENT,
        `paper hub: the last simulation step failed: ${status.lastStepError}`,
      );
    } else {
      health.ready(HUB_HEALTH_COMPONENT, {
        venues: hub.venueIds(),
        simTimeMs: status.nowMs,
        steps: status.steps,
      });
    }
    for (const p of ports.values()) {
      const notReady = p.readiness().filter((c) => !c.ready);
      if (notReady.length === 0) health.ready(portHealthName(p));
      else health.notReady(portHealthName(p), notReady.map((c) => `${c.component}: ${c.reason}`).join('; '));
    }
  };
  const steps = metrics.counter('paper_venue_steps_total', 'Steps of the simulated market');
  const events = metrics.counter('paper_venue_events_total', 'Events the simulated market produced');
  const stepSeconds = metrics.histogram(
    'paper_venue_step_duration_seconds',
    'Wall time of one simulation step',
    [],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
  );
  // Seconds, as Prometheus names want (promtool refuses `_ms`).
  const simTime = metrics.gauge(
    'paper_venue_sim_time_seconds',
    'The simulated market clock, seconds since epoch',
  );
  hub.onStep((step) => {
    steps.inc();
    events.inc(step.eventCount);
    stepSeconds.observe(step.durationMs / 1000);
    simTime.set(step.nowMs / 1000);
    refreshHealth();
  });

  // ---- components ----------------------------------------------------------------------------
  let http: RunningHttpServer | undefined;
  let grpc: RunningGrpcServer | undefined;
  // Aborting ends open streams with UNAVAILABLE so clients re-subscribe elsewhere.
  const streams = new AbortController();

  const grpcServer = grpcComponent({
    host: section.grpcHost,
    port: section.grpcPort,
    services: () => [
      {
        definition: PaperVenueServiceService,
        implementation: paperVenueGrpcService(portOf, {
          signal: streams.signal,
          onInternalError: (err, info) => logger.error({ err, ...info }, 'PaperVenueService call failed'),
        }),
      },
    ],
    protoFiles: [PAPER_VENUE_PROTO],
    ...(deps.protoDir === undefined ? {} : { protoDir: deps.protoDir }),
    config,
    health,
    logger,
    onStarted: (server) => {
      grpc = server;
      health.ready(GRPC_HEALTH_COMPONENT, { address: server.address, ports: ports.size });
    },
  });
  const components: ServiceComponent[] = [
    httpComponent({
      http: section.http,
      health,
      metrics: metrics.registry,
      logger,
      onStarted: (server) => {
        http = server;
      },
    }),
    {
      name: 'paper-hub',
      start: () => {
        hub.start();
        refreshHealth();
        hubLogger.info(
          {
            venues: hub.venueIds(),
            accounts: hub.accounts().map((a) => `${a.accountId}@${a.venueId}`),
            seed: config.paper.seed,
            clock: hub.clock.kind,
            simTimeMs: hub.nowMs,
          },
          'paper hub running',
        );
      },
      stop: () => {
        hub.close();
        refreshHealth();
      },
    },
    {
      ...grpcServer,
      stop: async () => {
        health.notReady(GRPC_HEALTH_COMPONENT, 'grpc: stopping');
        streams.abort();
        await grpcServer.stop();
      },
    },
  ];

  const lifecycle = new ServiceLifecycle({
    name: PAPER_VENUE_SERVICE,
    logger,
    health,
    components,
    ...deps.lifecycle,
  });

  return {
    hub,
    health,
    lifecycle,
    components,
    port: portOf,
    start: () => lifecycle.start(),
    stop: (reason) => lifecycle.stop(reason),
    grpcAddress: () => grpc?.address,
    httpUrl: () => http?.url,
  };
}

/** The process: config from file, env and argv; real clock; runs until SIGTERM/SIGINT. */
export function main(argv?: readonly string[]): Promise<number> {
  return runServiceMain({
    name: PAPER_VENUE_SERVICE,
    schema: paperVenueConfigSchema,
    argv,
    build: (config, logger, health) => {
      if (!Object.values(config.venues).some(isPaperVenueSection)) {
        logger.warn(
          'no paper venues under `venues`: serving the three presets with no accounts (market data only)',
        );
      }
      return buildService({ config, logger, health, metrics: createMetrics(PAPER_VENUE_SERVICE) }).components;
    },
  });
}

runIfEntryPoint(import.meta.url, PAPER_VENUE_SERVICE, () => main());
