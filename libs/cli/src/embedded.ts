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
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  ACCOUNT_SERVICE,
  ACCOUNT_VENUE_ACCESS,
  type AccountService,
  accountSectionFields,
  accountServiceComponents,
  DEFAULT_ACCOUNT_HTTP_PORT,
} from '@perpmesh/account';
import {
  eventLogComponent,
  httpComponent,
  namespacing,
  openVenueDirectory,
  Slot,
  stateStoreComponent,
} from '@perpmesh/app';
import type { EventLog } from '@perpmesh/bus';
import { ValidationError } from '@perpmesh/core';
import {
  DEFAULT_EXECUTION_HTTP_PORT,
  EXECUTION_SERVICE,
  EXECUTION_VENUE_ACCESS,
  type ExecutionService,
  executionSectionFields,
  executionServiceComponents,
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
  DEFAULT_MARKET_DATA_HTTP_PORT,
  MARKET_DATA_SERVICE,
  MARKET_DATA_VENUE_ACCESS,
  type MarketDataService,
  marketDataSectionFields,
  marketDataServiceComponents,
} from '@perpmesh/market-data';
import { explainSource } from '@perpmesh/replay';
import {
  createMetrics,
  HealthRegistry,
  httpSectionSchema,
  type Logger,
  type RunningGrpcServer,
  type Secret,
  type ServiceComponent,
  serviceConfigSchema,
} from '@perpmesh/runtime';
import type { StateStore } from '@perpmesh/state';
import {
  DEFAULT_STRATEGY_HTTP_PORT,
  STRATEGY_SERVICE,
  STRATEGY_VENUE_ACCESS,
  type StrategyService,
  strategySectionFields,
  strategyServiceComponents,
} from '@perpmesh/strategy/runtime';
import {
  configuredAccounts,
  PaperVenueHub,
  paperHubOptionsFromConfig,
  type StaticVenueDirectory,
  type VenueAccess,
  venueConfigShape,
} from '@perpmesh/venues';
import { z } from 'zod';
import { emulatedVenueIds, emulatorPorts } from './emulated-venues.js';
import { emulatorsComponent, emulatorsSectionSchema } from './emulators.js';

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
    // The local venue emulators run in this process (config/emulated.yaml; see ./emulators.ts).
    emulators: emulatorsSectionSchema,
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
  /** The venues whose base URL points at an emulator this process starts (emulated-venues.ts). */
  readonly emulatedVenues: () => readonly string[];
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The newest earlier session when it did not stop cleanly: its event log or store lock
 * still names a process that is gone (kill -9, a crash, a power cut).
 */
export function uncleanPreviousSession(
  dataDir: string,
  isAlive: (pid: number) => boolean = processAlive,
): { dir: string; pid: number } | undefined {
  const root = join(resolve(dataDir), 'sessions');
  if (!existsSync(root)) return undefined;
  const newest = readdirSync(root).sort().at(-1);
  if (newest === undefined) return undefined;
  for (const part of ['events', 'state']) {
    let pid: number;
    try {
      pid = Number.parseInt(readFileSync(join(root, newest, part, 'LOCK'), 'utf8'), 10);
    } catch {
      continue;
    }
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid)) {
      return { dir: join(root, newest), pid };
    }
  }
  return undefined;
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
  if (config.emulators.start && config.mode !== 'embedded') {
    throw new ValidationError(
      'emulators.start',
      'runs the emulators only in embedded mode: run libs/emulators/dist/main.js beside a distributed system',
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
  // Two directories over the same venues, as the separate deployables have them: trading
  // ports (credentials) for execution and account, public market ports (none) for
  // market-data and the strategies, so those never hold a key even in one process.
  const venuesByAccess: Record<VenueAccess, Slot<StaticVenueDirectory>> = {
    trading: new Slot<StaticVenueDirectory>('venues (trading)'),
    public: new Slot<StaticVenueDirectory>('venues (public)'),
  };
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
      strategy: () => grpcAddresses[STRATEGY_SERVICE] ?? config.gateway.strategyAddress,
    },
    authToken: config.auth.token,
    tls: config.tls,
    localActionToken: () => localActionToken,
    // The dashboard's kill switch goes to this process's strategy service.
    tradingState: {
      setTradingState: async (change) => {
        const service = strategy.service.peek();
        if (!service) throw new Error('the strategy service is not running');
        return { state: (await service.setTradingState(change)).state };
      },
    },
    // The dashboard's explain timeline: the CLI's explain over this process's log.
    explain: explainSource({ reader: () => log.get(), subjects: ns.subjects, streamPrefix: ns.streamPrefix }),
    logger: logger.child({ component: 'gateway' }),
  });

  // Each service exactly as its own deployable composes it (the lib's components builder);
  // the gRPC servers record where they bound, for the gateway and the strategies' clients.
  const contextOf = (name: string, access: VenueAccess) => ({
    log: () => log.get(),
    state: () => state.get(),
    venues: () => venuesByAccess[access].get(),
    subjects: ns.subjects,
    streamPrefix: ns.streamPrefix,
    source: `${name}/embedded`,
    health,
    logger: logger.child({ component: name }),
    grpc: {
      config,
      onStarted: (server: RunningGrpcServer) => {
        grpcAddresses[name] = server.address;
      },
    },
  });
  const emulatedVenues = emulatedVenueIds(config.venues, emulatorPorts(config.emulators));
  const marketData = marketDataServiceComponents({
    ...contextOf(MARKET_DATA_SERVICE, MARKET_DATA_VENUE_ACCESS),
    section: config.marketData,
    venuesConfig: config.venues,
    metrics,
    emulatedVenues,
  });
  const execution = executionServiceComponents({
    ...contextOf(EXECUTION_SERVICE, EXECUTION_VENUE_ACCESS),
    section: config.execution,
    metrics,
  });
  // One process holds the log: no lease to share.
  const account = accountServiceComponents({
    ...contextOf(ACCOUNT_SERVICE, ACCOUNT_VENUE_ACCESS),
    section: config.account,
    venuesConfig: config.venues,
    metrics,
  });
  // The strategies reach the venues only through this process's execution gRPC API.
  const strategy = strategyServiceComponents({
    ...contextOf(STRATEGY_SERVICE, STRATEGY_VENUE_ACCESS),
    section: config.strategy,
    executionAddress: () => loopback(grpcAddresses[EXECUTION_SERVICE]!),
    accountAddress: () => loopback(grpcAddresses[ACCOUNT_SERVICE]!),
    authToken: config.auth.token,
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
        const unclean = uncleanPreviousSession(config.dataDir);
        if (unclean) {
          logger.warn(
            { previousSession: unclean.dir, pid: unclean.pid },
            `the previous session did not stop cleanly (process ${unclean.pid} is gone, its lock is left): ` +
              'its open orders were not cancelled and any open position or arb in it was left as it was; ' +
              'its paper exchange does not survive a restart, so this start opens a new session ' +
              `(the old log stays in ${unclean.dir} for replay)`,
          );
        }
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
    eventLogComponent(
      infraConfig,
      `${EMBEDDED_SERVICE}/embedded`,
      log,
      logger.child({ component: 'event-log' }),
    ),
    stateStoreComponent(infraConfig, state),
    // Before the venues: they connect to the emulators and read their credentials at open.
    ...(config.emulators.start
      ? [emulatorsComponent(config.emulators, config.venues, logger.child({ component: 'emulators' }))]
      : []),
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
        }
        const where = embedded ? { hub: hub.get() } : { callTimeoutMs: config.execution.venueCallTimeout };
        for (const access of ['trading', 'public'] as const) {
          venuesByAccess[access].set(await openVenueDirectory(config, { ...where, access }));
        }
      },
      stop: async () => {
        for (const slot of Object.values(venuesByAccess)) {
          await slot.peek()?.close();
          slot.set(undefined);
        }
        hub.peek()?.close();
      },
    },
    ...marketData.components,
    ...execution.components,
    ...account.components,
    // After the execution and account gRPC servers, so the strategies' clients know their
    // addresses; stopped before them, so SIGTERM's cancels still get through.
    ...strategy.components,
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
      marketData: () => marketData.service.peek(),
      execution: () => execution.service.peek(),
      account: () => account.service.peek(),
      strategy: () => strategy.service.peek(),
      httpPort: () => httpPort,
      grpcAddresses: () => ({ ...grpcAddresses }),
      actionTokenFile: () => actionTokenFile,
      emulatedVenues: () => emulatedVenues,
    },
  };
}

/** A server bound to 0.0.0.0 / [::] is reached on loopback. */
function loopback(address: string): string {
  return address.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '127.0.0.1:');
}
