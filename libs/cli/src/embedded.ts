/**
 * The embedded system (`perpmesh start`, `make run`): every service in ONE process, on
 * the embedded event log and state store under `dataDir`, with the paper venues in
 * process — the same libs the separate deployables run, wired the same way.
 *
 * The simulated exchange lives in memory and cannot be restored, so each start is a new
 * paper-trading session with its own log and store under `dataDir/sessions/<id>/`; earlier
 * sessions stay on disk for replay. (`mode: distributed` runs the same composition
 * against NATS/Redis and the paper-venue service instead.)
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type AccountService,
  accountSectionFields,
  accountSettingsOf,
  buildAccountService,
  DEFAULT_ACCOUNT_HTTP_PORT,
} from '@perpmesh/account';
import {
  eventLogComponent,
  grpcComponent,
  httpComponent,
  namespacing,
  openVenueDirectory,
  Slot,
  stateStoreComponent,
} from '@perpmesh/app';
import type { EventLog } from '@perpmesh/bus';
import { ValidationError } from '@perpmesh/core';
import {
  buildExecutionService,
  DEFAULT_EXECUTION_HTTP_PORT,
  type ExecutionService,
  executionOptionsOf,
  executionSectionFields,
} from '@perpmesh/execution';
import {
  buildGateway,
  DEFAULT_GATEWAY_HTTP_PORT,
  gatewayFeedComponent,
  gatewaySectionFields,
  LOCAL_TOKEN_FILE,
  loadOrCreateTokenFile,
  mountGateway,
} from '@perpmesh/gateway';
import {
  buildMarketDataService,
  DEFAULT_MARKET_DATA_HTTP_PORT,
  type MarketDataService,
  marketDataSectionFields,
  marketDataTuningOf,
} from '@perpmesh/market-data';
import {
  createMetrics,
  HealthRegistry,
  httpSectionSchema,
  type Logger,
  type Secret,
  type ServiceComponent,
  serviceConfigSchema,
} from '@perpmesh/runtime';
import type { StateStore } from '@perpmesh/state';
import {
  buildStrategyService,
  DEFAULT_STRATEGY_HTTP_PORT,
  GrpcAccountReader,
  GrpcOrderGateway,
  marketsFromVenues,
  parseStrategyInstances,
  runtimeSettingsOf,
  type StrategyService,
  strategySectionFields,
} from '@perpmesh/strategy/runtime';
import {
  configuredAccounts,
  PaperVenueHub,
  paperHubOptionsFromConfig,
  type StaticVenueDirectory,
  venueConfigShape,
} from '@perpmesh/venues';
import { z } from 'zod';

export const EMBEDDED_SERVICE = 'perpmesh';
export { DEFAULT_GATEWAY_HTTP_PORT };

function section<F extends z.ZodRawShape>(fields: F, defaultHttpPort: number) {
  const s = z.strictObject({ http: httpSectionSchema(defaultHttpPort), ...fields });
  return s.prefault({} as z.input<typeof s>);
}

/**
 * The whole perpmesh.yaml as the embedded process reads it: the common sections, venues,
 * the gateway (dashboard, API and health/metrics on one HTTP listener) and every service's
 * own section (the same fields the separate deployables read).
 */
export const embeddedConfigSchema = serviceConfigSchema('gateway', gatewaySectionFields, {
  defaultHttpPort: DEFAULT_GATEWAY_HTTP_PORT,
})
  .extend(venueConfigShape)
  .extend({
    marketData: section(marketDataSectionFields, DEFAULT_MARKET_DATA_HTTP_PORT),
    execution: section(executionSectionFields, DEFAULT_EXECUTION_HTTP_PORT),
    account: section(accountSectionFields, DEFAULT_ACCOUNT_HTTP_PORT),
    strategy: section(strategySectionFields, DEFAULT_STRATEGY_HTTP_PORT),
  });
export type EmbeddedConfig = z.output<typeof embeddedConfigSchema>;

export interface EmbeddedHandles {
  readonly health: HealthRegistry;
  readonly sessionDir: () => string | undefined;
  readonly hub: () => PaperVenueHub | undefined;
  readonly marketData: () => MarketDataService | undefined;
  readonly execution: () => ExecutionService | undefined;
  readonly account: () => AccountService | undefined;
  readonly strategy: () => StrategyService | undefined;
  readonly httpPort: () => number | undefined;
  readonly grpcAddresses: () => Record<string, string>;
  /**
   * The file holding the gateway's generated action token (cancel-all, trading state),
   * when no `auth.token` is configured; undefined when a token is configured or actions
   * are open (`gateway.allowUnauthenticatedActions`).
   */
  readonly actionTokenFile: () => string | undefined;
}

/** A new session directory `dataDir/sessions/<utc time>`; the newest `keep` sessions are kept. */
export function newSessionDir(dataDir: string, nowMs: number, keep = 20): string {
  const root = join(resolve(dataDir), 'sessions');
  mkdirSync(root, { recursive: true });
  const id = new Date(nowMs).toISOString().replace(/[-:]/g, '');
  const dir = join(root, id);
  mkdirSync(dir, { recursive: true });
  const sessions = readdirSync(root).sort();
  for (const old of sessions.slice(0, Math.max(0, sessions.length - keep))) {
    rmSync(join(root, old), { recursive: true, force: true });
  }
  return dir;
}

export function buildEmbeddedComponents(
  config: EmbeddedConfig,
  logger: Logger,
  health = new HealthRegistry(),
): { components: ServiceComponent[]; handles: EmbeddedHandles } {
  if (configuredAccounts(config.venues).length === 0) {
    throw new ValidationError(
      'venues',
      'configures no account: add venues.<id>.accounts (see config/perpmesh.yaml)',
    );
  }
  const metrics = createMetrics(EMBEDDED_SERVICE);
  const ns = namespacing(config);
  const embedded = config.mode === 'embedded';
  let sessionDir: string | undefined;
  // The adapters read `dataDir` when they start: the session component points it at the session.
  const infraConfig = { ...config };
  const log = new Slot<EventLog>('event log');
  const state = new Slot<StateStore>('state store');
  const hub = new Slot<PaperVenueHub>('paper venues');
  const venues = new Slot<StaticVenueDirectory>('venues');
  const md = new Slot<MarketDataService>('market-data');
  const exec = new Slot<ExecutionService>('execution');
  const acct = new Slot<AccountService>('account');
  const strat = new Slot<StrategyService>('strategy');
  // Validated before anything starts: a bad field names itself (strategy.instances[0]...).
  const strategyInstances = parseStrategyInstances(config.strategy.instances);
  let httpPort: number | undefined;
  const grpcAddresses: Record<string, string> = {};
  // Actions from the dashboard need a token. Without `auth.token` the process makes one at
  // start and keeps it in dataDir (owner-only), so the operator reads it from that file.
  const actionTokenFile =
    config.auth.token === undefined && !config.gateway.allowUnauthenticatedActions
      ? join(resolve(config.dataDir), LOCAL_TOKEN_FILE)
      : undefined;
  let localActionToken: Secret | undefined;
  const { gateway, backends: gatewayBackends } = buildGateway({
    section: config.gateway,
    // The gateway calls the gRPC servers of this process, wherever they were bound.
    addresses: {
      execution: () => grpcAddresses.execution ?? config.gateway.executionAddress,
      account: () => grpcAddresses.account ?? config.gateway.accountAddress,
      marketData: () => grpcAddresses['market-data'] ?? config.gateway.marketDataAddress,
    },
    authToken: config.auth.token,
    localActionToken: () => localActionToken,
    // The dashboard's kill switch goes to this process's strategy service.
    tradingState: {
      setTradingState: async (change) => {
        const service = strat.peek();
        if (!service) throw new Error('the strategy service is not running');
        return { state: (await service.setTradingState(change)).state };
      },
    },
    logger: logger.child({ component: 'gateway' }),
  });

  const components: ServiceComponent[] = [
    {
      name: 'session',
      start: () => {
        if (actionTokenFile) {
          localActionToken = loadOrCreateTokenFile(actionTokenFile);
          logger.info(
            { actionTokenFile },
            'dashboard actions (cancel-all, trading state) need the token in this file',
          );
        }
        if (!embedded) return;
        sessionDir = newSessionDir(config.dataDir, Date.now());
        infraConfig.dataDir = sessionDir;
        logger.info({ sessionDir }, 'paper-trading session');
      },
      stop: () => undefined,
    },
    httpComponent({
      http: config.gateway.http,
      health,
      metrics: metrics.registry,
      logger,
      onStarted: (s) => {
        httpPort = s.port;
        mountGateway(s.server, gateway, logger);
      },
    }),
    eventLogComponent(infraConfig, `${EMBEDDED_SERVICE}/embedded`, log),
    stateStoreComponent(infraConfig, state),
    {
      name: 'venues',
      start: async () => {
        if (embedded) {
          const h = new PaperVenueHub(
            paperHubOptionsFromConfig({
              venues: config.venues,
              paper: config.paper,
              onError: (err, where) => logger.error({ err, where }, 'paper hub error'),
            }),
          );
          h.start();
          hub.set(h);
          venues.set(await openVenueDirectory(config, { hub: h }));
        } else {
          venues.set(await openVenueDirectory(config, { callTimeoutMs: config.execution.venueCallTimeout }));
        }
      },
      stop: async () => {
        await venues.peek()?.close();
        hub.peek()?.close();
      },
    },
    {
      name: 'market-data',
      start: async () => {
        const s = buildMarketDataService({
          log: log.get(),
          venues: venues.get(),
          subjects: ns.subjects,
          health,
          logger: logger.child({ component: 'market-data' }),
          nowMs: Date.now,
          source: 'market-data/embedded',
          metrics,
          config: {
            venues: config.venues,
            shard: config.marketData.shard,
            tuning: marketDataTuningOf(config.marketData),
          },
        });
        await s.start();
        md.set(s);
      },
      stop: () => md.peek()?.stop(),
    },
    {
      name: 'execution',
      start: async () => {
        const s = buildExecutionService({
          log: log.get(),
          state: state.get(),
          venues: venues.get(),
          subjects: ns.subjects,
          health,
          logger: logger.child({ component: 'execution' }),
          nowMs: Date.now,
          source: 'execution/embedded',
          metrics,
          config: executionOptionsOf(config.execution, ns.streamPrefix),
        });
        await s.start();
        exec.set(s);
      },
      stop: () => exec.peek()?.stop(),
    },
    {
      name: 'account',
      start: async () => {
        const s = buildAccountService({
          log: log.get(),
          state: state.get(),
          venues: venues.get(),
          subjects: ns.subjects,
          streamPrefix: ns.streamPrefix,
          health,
          logger: logger.child({ component: 'account' }),
          nowMs: Date.now,
          source: 'account/embedded',
          metrics,
          config: accountSettingsOf(config.account),
        });
        await s.start();
        acct.set(s);
      },
      stop: () => acct.peek()?.stop(),
    },
    ...(
      [
        ['market-data', config.marketData, () => md.get().grpc, 'perpmesh/v1/market_data.proto'],
        ['execution', config.execution, () => exec.get().grpc, 'perpmesh/v1/execution.proto'],
        ['account', config.account, () => acct.get().grpc, 'perpmesh/v1/account.proto'],
      ] as const
    ).map(([name, s, grpc, proto]) => ({
      ...grpcComponent({
        host: s.grpcHost,
        port: s.grpcPort,
        services: () => [grpc()],
        protoFiles: [proto],
        config,
        health,
        logger,
        onStarted: (server) => {
          grpcAddresses[name] = server.address;
        },
      }),
      name: `grpc ${name}`,
    })),
    // The strategies reach the venues only through the execution service's gRPC API (live,
    // on the paper venues) or a dry-run recorder; after the gRPC servers, so their
    // addresses are known; stopped before them, so SIGTERM's cancels still get through.
    {
      name: 'strategy',
      start: async () => {
        const client = {
          callTimeoutMs: config.strategy.callTimeout,
          ...(config.auth.token === undefined ? {} : { authToken: config.auth.token }),
        };
        const s = buildStrategyService({
          log: log.get(),
          state: state.get(),
          subjects: ns.subjects,
          streamPrefix: ns.streamPrefix,
          orders: new GrpcOrderGateway({ address: loopback(grpcAddresses.execution!), ...client }),
          account: new GrpcAccountReader({ address: loopback(grpcAddresses.account!), ...client }),
          markets: marketsFromVenues(venues.get()),
          health,
          logger: logger.child({ component: 'strategy' }),
          nowMs: Date.now,
          source: 'strategy/embedded',
          instances: strategyInstances,
          settings: runtimeSettingsOf(config.strategy),
        });
        await s.start();
        strat.set(s);
      },
      stop: () => strat.peek()?.stop(),
    },
    {
      ...grpcComponent({
        host: config.strategy.grpcHost,
        port: config.strategy.grpcPort,
        services: () => [strat.get().grpc],
        protoFiles: ['perpmesh/v1/strategy.proto'],
        config,
        health,
        logger,
        onStarted: (server) => {
          grpcAddresses.strategy = server.address;
        },
      }),
      name: 'grpc strategy',
    },
    gatewayFeedComponent({
      gateway,
      backends: gatewayBackends,
      log: () => log.get(),
      subjects: ns.subjects,
      streamPrefix: ns.streamPrefix,
      recentDecisions: config.gateway.recentDecisions,
      health,
      logger: logger.child({ component: 'gateway' }),
    }),
  ];
  return {
    components,
    handles: {
      health,
      sessionDir: () => sessionDir,
      hub: () => hub.peek(),
      marketData: () => md.peek(),
      execution: () => exec.peek(),
      account: () => acct.peek(),
      strategy: () => strat.peek(),
      httpPort: () => httpPort,
      grpcAddresses: () => ({ ...grpcAddresses }),
      actionTokenFile: () => actionTokenFile,
    },
  };
}

/** A server bound to 0.0.0.0 / [::] is reached on loopback. */
function loopback(address: string): string {
  return address.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '127.0.0.1:');
}
