/**
 * account as its own process (distributed mode): NATS JetStream for the event log
 * (exec.fill in, acct.* out), Redis for the projections and their applied sequences, the
 * paper-venue service (RemoteVenue over gRPC) for paper venues, AccountService on gRPC
 * (port 50052) with health and reflection, and /healthz /readyz /metrics over HTTP (9102).
 *
 * Start: `node services/account/dist/main.js [--config path] [--set a.b=value]`.
 * Components start in order (http, event-log, state, venues, account, grpc) and stop in
 * reverse on SIGTERM/SIGINT.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect as natsConnect } from '@nats-io/transport-node';
import { type AccountService, buildAccountService } from '@perpmesh/account';
import { NatsEventLog } from '@perpmesh/bus';
import { Subjects, streamSpecs } from '@perpmesh/contracts';
import { ValidationError } from '@perpmesh/core';
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
import { RedisStateStore } from '@perpmesh/state';
import { configuredAccounts, RemoteVenue, StaticVenueDirectory, type VenuePort } from '@perpmesh/venues';
import { Redis } from 'ioredis';
import {
  ACCOUNT_SERVICE,
  type AccountServiceConfigFile,
  accountConfigSchema,
  accountSettingsOf,
} from './config.js';

/** The repo's proto/ dir: three levels above this file, whether it runs from src/ or dist/. */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto', import.meta.url));
export const ACCOUNT_PROTO = 'perpmesh/v1/account.proto';

export interface AccountProcessDeps {
  readonly config: AccountServiceConfigFile;
  readonly logger: Logger;
  readonly lifecycle?: Pick<ServiceLifecycleOptions, 'signals' | 'exit' | 'stopTimeoutMs'>;
}

async function connectState(config: AccountServiceConfigFile): Promise<RedisStateStore> {
  const { url, username, password, db, keyPrefix } = config.redis;
  if (username === undefined && password === undefined) {
    return RedisStateStore.connect(url, { keyPrefix, ...(db === undefined ? {} : { db }) });
  }
  // Credentials never go into the URL (config forbids it): pass them as client options.
  const client = new Redis(url, {
    lazyConnect: true,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password: password.reveal() }),
    ...(db === undefined ? {} : { db }),
  });
  client.on('error', () => undefined);
  await client.connect();
  return new RedisStateStore(client, { keyPrefix, ownsClient: true });
}

export function buildProcess(deps: AccountProcessDeps): {
  lifecycle: ServiceLifecycle;
  health: HealthRegistry;
  service: () => AccountService | undefined;
} {
  const { config, logger } = deps;
  const section = config.account;
  const settings = accountSettingsOf(config);
  const accounts = configuredAccounts(config.venues);
  if (accounts.length === 0) {
    throw new ValidationError(
      'venues',
      'configures no account: the account service tracks venues.<id>.accounts',
    );
  }
  const source = `${ACCOUNT_SERVICE}/${section.instance}`;
  const health = new HealthRegistry();
  const metrics = createMetrics(ACCOUNT_SERVICE);
  let log: NatsEventLog | undefined;
  let state: RedisStateStore | undefined;
  let ports: VenuePort[] = [];
  let service: AccountService | undefined;
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
                name: source,
                noAsyncTraces: true,
                maxReconnectAttempts: -1,
                ...(user === undefined ? {} : { user }),
                ...(password === undefined ? {} : { pass: password.reveal() }),
                ...(token === undefined ? {} : { token: token.reveal() }),
              })
            : undefined;
        log = await NatsEventLog.connect(
          connection ? { connection } : { servers: config.nats.url, name: source },
        );
        await log.ensureStreams(streamSpecs());
      },
      stop: () => log?.close(),
    },
    {
      name: 'state',
      start: async () => {
        state = await connectState(config);
      },
      stop: () => state?.close(),
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
      name: 'account',
      start: async () => {
        if (!log || !state) throw new Error('event log or state store not started');
        service = buildAccountService({
          log,
          state,
          venues: new StaticVenueDirectory(ports),
          subjects: new Subjects(),
          health,
          logger,
          nowMs: Date.now,
          source,
          metrics,
          config: settings,
        });
        await service.start();
      },
      stop: () => service?.stop(),
    },
    {
      name: 'grpc',
      start: async () => {
        if (!service) throw new Error('account service not started');
        grpc = await startGrpcServer({
          host: section.grpcHost,
          port: section.grpcPort,
          services: [service.grpc],
          protoFiles: [ACCOUNT_PROTO],
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
    name: ACCOUNT_SERVICE,
    logger,
    health,
    components,
    ...deps.lifecycle,
  });
  return { lifecycle, health, service: () => service };
}

/** The process: config from file, env and argv; runs until SIGTERM/SIGINT. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  let loaded: ReturnType<typeof loadConfig<typeof accountConfigSchema>>;
  try {
    const args = configArgsFromArgv(argv);
    loaded = loadConfig(accountConfigSchema, {
      ...(args.path === undefined ? {} : { path: args.path }),
      argvOverrides: args.argvOverrides,
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${ACCOUNT_SERVICE}: ${err.message}\n`);
    return 2;
  }
  const { config } = loaded;
  const logger = createLogger({
    service: ACCOUNT_SERVICE,
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
    logger.fatal({ field: err.field }, `invalid account config: ${err.message}`);
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
        `${ACCOUNT_SERVICE}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
