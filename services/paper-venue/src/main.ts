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
import { PROTO_DIR, runIfEntryPoint } from '@perpmesh/app';
import { PaperVenueServiceService } from '@perpmesh/contracts';
import { type AccountId, ValidationError, type VenueId } from '@perpmesh/core';
import {
  ConfigError,
  configArgsFromArgv,
  createLogger,
  createMetrics,
  HealthRegistry,
  type Logger,
  loadConfig,
  type RunningGrpcServer,
  type RunningHttpServer,
  type ServiceComponent,
  ServiceLifecycle,
  type ServiceLifecycleOptions,
  type ServiceMetrics,
  type StopReport,
  startGrpcServer,
  startHttpServer,
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
  const simTime = metrics.gauge('paper_venue_sim_time_ms', 'The simulated market clock, ms since epoch');
  hub.onStep((step) => {
    steps.inc();
    events.inc(step.eventCount);
    stepSeconds.observe(step.durationMs / 1000);
    simTime.set(step.nowMs);
    refreshHealth();
  });

  // ---- components ----------------------------------------------------------------------------
  let http: RunningHttpServer | undefined;
  let grpc: RunningGrpcServer | undefined;
  // Aborting ends open streams with UNAVAILABLE so clients re-subscribe elsewhere.
  const streams = new AbortController();

  const components: ServiceComponent[] = [
    {
      name: 'http',
      start: async () => {
        http = await startHttpServer({
          port: section.http.port,
          host: section.http.host,
          health,
          metrics: metrics.registry,
          logger,
        });
      },
      stop: () => http?.close(),
    },
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
      name: 'grpc',
      start: async () => {
        grpc = await startGrpcServer({
          host: section.grpcHost,
          port: section.grpcPort,
          services: [
            {
              definition: PaperVenueServiceService,
              implementation: paperVenueGrpcService(portOf, {
                signal: streams.signal,
                onInternalError: (err, info) =>
                  logger.error({ err, ...info }, 'PaperVenueService call failed'),
              }),
            },
          ],
          protoFiles: [PAPER_VENUE_PROTO],
          includeDirs: [deps.protoDir ?? PROTO_DIR],
          ...(config.auth.token === undefined ? {} : { authToken: config.auth.token }),
          logger,
          health,
        });
        health.ready(GRPC_HEALTH_COMPONENT, { address: grpc.address, ports: ports.size });
      },
      stop: async () => {
        health.notReady(GRPC_HEALTH_COMPONENT, 'grpc: stopping');
        streams.abort();
        await grpc?.close();
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
    port: portOf,
    start: () => lifecycle.start(),
    stop: (reason) => lifecycle.stop(reason),
    grpcAddress: () => grpc?.address,
    httpUrl: () => http?.url,
  };
}

/** The process: config from file, env and argv; real clock; runs until SIGTERM/SIGINT. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  let loaded: ReturnType<typeof loadConfig<typeof paperVenueConfigSchema>>;
  try {
    const args = configArgsFromArgv(argv);
    loaded = loadConfig(paperVenueConfigSchema, {
      ...(args.path === undefined ? {} : { path: args.path }),
      argvOverrides: args.argvOverrides,
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${PAPER_VENUE_SERVICE}: ${err.message}\n`);
    return 2;
  }
  const { config } = loaded;
  const logger = createLogger({
    service: PAPER_VENUE_SERVICE,
    level: config.log.level,
    pretty: config.log.pretty,
  });
  for (const warning of loaded.warnings) logger.warn(warning);
  if (loaded.overrides.length > 0) logger.info({ overrides: loaded.overrides }, 'config overrides applied');
  if (!Object.values(config.venues).some(isPaperVenueSection)) {
    logger.warn(
      'no paper venues under `venues`: serving the three presets with no accounts (market data only)',
    );
  }
  let service: PaperVenueService;
  try {
    service = buildService({ config, logger, metrics: createMetrics(PAPER_VENUE_SERVICE) });
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    logger.fatal({ field: err.field }, `invalid paper venue config: ${err.message}`);
    return 2;
  }
  return service.lifecycle.run();
}

runIfEntryPoint(import.meta.url, PAPER_VENUE_SERVICE, () => main());
