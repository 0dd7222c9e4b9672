/**
 * market-data as its own process (distributed mode): NATS JetStream for md.* events, the
 * paper-venue service (RemoteVenue over gRPC) for paper venues, MarketDataService on gRPC
 * (port 50053) with health and reflection, and /healthz /readyz /metrics over HTTP (9103).
 * Market data keeps no state in Redis: books are rebuilt from the venue on every start.
 *
 * Start: `node services/market-data/dist/main.js [--config path] [--set a.b=value]`.
 * Components start in order (http, event-log, venues, feed, grpc) and stop in reverse on
 * SIGTERM/SIGINT.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect as natsConnect } from '@nats-io/transport-node';
import { NatsEventLog } from '@perpmesh/bus';
import { Subjects, streamSpecs } from '@perpmesh/contracts';
import { ValidationError } from '@perpmesh/core';
import { buildMarketDataService, type MarketDataService } from '@perpmesh/market-data';
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
  startGrpcServer,
  startHttpServer,
} from '@perpmesh/runtime';
import { RemoteVenue, StaticVenueDirectory, type VenuePort } from '@perpmesh/venues';
import { MARKET_DATA_SERVICE, type MarketDataServiceConfigFile, marketDataConfigSchema } from './config.js';

/** The repo's proto/ dir: three levels above this file, whether it runs from src/ or dist/. */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto', import.meta.url));
export const MARKET_DATA_PROTO = 'perpmesh/v1/market_data.proto';

export interface MarketDataProcessDeps {
  readonly config: MarketDataServiceConfigFile;
  readonly logger: Logger;
  readonly lifecycle?: Pick<ServiceLifecycleOptions, 'signals' | 'exit' | 'stopTimeoutMs'>;
}

/** The venue each paper venue's market data is read through: its first configured account. */
export function marketAccounts(
  config: MarketDataServiceConfigFile,
): { venue: string; account: string; apiKeyId: string }[] {
  return Object.entries(config.venues).map(([venue, v]) => {
    const first = Object.entries(v.accounts)[0];
    if (!first) {
      throw new ValidationError(
        `venues.${venue}.accounts`,
        'needs at least one account: market data of a paper venue is read through one of its accounts',
      );
    }
    return { venue, account: first[0], apiKeyId: first[1].apiKeyId };
  });
}

export function buildProcess(deps: MarketDataProcessDeps): {
  lifecycle: ServiceLifecycle;
  health: HealthRegistry;
  service: () => MarketDataService | undefined;
} {
  const { config, logger } = deps;
  const section = config.marketData;
  const health = new HealthRegistry();
  const metrics = createMetrics(MARKET_DATA_SERVICE);
  const instance = section.instance ?? String(section.shard.index);
  const accounts = marketAccounts(config);
  let log: NatsEventLog | undefined;
  let ports: VenuePort[] = [];
  let service: MarketDataService | undefined;
  let http: RunningHttpServer | undefined;
  let grpc: RunningGrpcServer | undefined;

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
      name: 'event-log',
      start: async () => {
        const { user, password, token } = config.nats;
        const connection =
          user !== undefined || password !== undefined || token !== undefined
            ? await natsConnect({
                servers: config.nats.url,
                name: `${MARKET_DATA_SERVICE}/${instance}`,
                noAsyncTraces: true,
                maxReconnectAttempts: -1,
                ...(user === undefined ? {} : { user }),
                ...(password === undefined ? {} : { pass: password.reveal() }),
                ...(token === undefined ? {} : { token: token.reveal() }),
              })
            : undefined;
        log = await NatsEventLog.connect(
          connection
            ? { connection }
            : { servers: config.nats.url, name: `${MARKET_DATA_SERVICE}/${instance}` },
        );
        await log.ensureStreams(streamSpecs());
      },
      stop: () => log?.close(),
    },
    {
      name: 'venues',
      start: async () => {
        for (const { venue, account, apiKeyId } of accounts) {
          ports.push(
            await RemoteVenue.connect({
              address: config.paper.address,
              venue,
              account,
              apiKeyId,
              callTimeoutMs: section.venueCallTimeout,
              ...(config.auth.token === undefined ? {} : { authToken: config.auth.token }),
            }),
          );
        }
      },
      stop: async () => {
        await Promise.all(ports.map((p) => p.close()));
        ports = [];
      },
    },
    {
      name: 'feed',
      start: async () => {
        if (!log) throw new Error('event log not started');
        service = buildMarketDataService({
          log,
          venues: new StaticVenueDirectory(ports),
          subjects: new Subjects(),
          health,
          logger,
          nowMs: Date.now,
          source: `${MARKET_DATA_SERVICE}/${instance}`,
          metrics,
          config: {
            venues: config.venues,
            shard: section.shard,
            tuning: {
              bookDepth: section.bookDepth,
              bookPublishIntervalMs: section.bookPublishInterval,
              bookStaleAfterMs: section.bookStaleAfter,
              fundingStaleAfterMs: section.fundingStaleAfter,
              fundingPollIntervalMs: section.fundingPollInterval,
              resyncDepth: section.resyncDepth,
            },
          },
        });
        await service.start();
      },
      stop: () => service?.stop(),
    },
    {
      name: 'grpc',
      start: async () => {
        if (!service) throw new Error('feed not started');
        grpc = await startGrpcServer({
          host: section.grpcHost,
          port: section.grpcPort,
          services: [service.grpc],
          protoFiles: [MARKET_DATA_PROTO],
          includeDirs: [PROTO_DIR],
          ...(config.auth.token === undefined ? {} : { authToken: config.auth.token }),
          logger,
          health,
        });
      },
      stop: () => grpc?.close(),
    },
  ];

  const lifecycle = new ServiceLifecycle({
    name: MARKET_DATA_SERVICE,
    logger,
    health,
    components,
    ...deps.lifecycle,
  });
  return { lifecycle, health, service: () => service };
}

/** The process: config from file, env and argv; runs until SIGTERM/SIGINT. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  let loaded: ReturnType<typeof loadConfig<typeof marketDataConfigSchema>>;
  try {
    const args = configArgsFromArgv(argv);
    loaded = loadConfig(marketDataConfigSchema, {
      ...(args.path === undefined ? {} : { path: args.path }),
      argvOverrides: args.argvOverrides,
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${MARKET_DATA_SERVICE}: ${err.message}\n`);
    return 2;
  }
  const { config } = loaded;
  const logger = createLogger({
    service: MARKET_DATA_SERVICE,
    level: config.log.level,
    pretty: config.log.pretty,
  });
  for (const warning of loaded.warnings) logger.warn(warning);
  if (loaded.overrides.length > 0) logger.info({ overrides: loaded.overrides }, 'config overrides applied');
  let built: ReturnType<typeof buildProcess>;
  try {
    built = buildProcess({ config, logger });
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    logger.fatal({ field: err.field }, `invalid market-data config: ${err.message}`);
    return 2;
  }
  return built.lifecycle.run();
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(
        `${MARKET_DATA_SERVICE}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
