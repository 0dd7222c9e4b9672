/**
 * The distributed system under chaos: its OWN nats-server (JetStream, store under a temp
 * dir) and redis-server (append-only, fsync always) on free ports, never the shared ones;
 * the paper-venue service (the truth, never killed) behind a recording proxy that sees every
 * CreateOrder's nonce; market-data, two execution replicas, account, and the strategy
 * service running the funding arb on the paper venues. Service processes are the e2e
 * harness's `ServiceProcess`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { credentials } from '@grpc/grpc-js';
import { AccountServiceClient, ExecutionServiceClient } from '@perpmesh/contracts';
import {
  EMULATED_LOAD_ACCOUNT,
  EMULATOR_CREDENTIALS,
  EMULATOR_LOAD_CREDENTIALS,
  hyperliquidAddressOf,
  type RunningRehearsalEmulators,
  startRehearsalEmulators,
} from '@perpmesh/emulators';
import { bearerAuthInterceptor, Secret } from '@perpmesh/runtime';
import { freePort } from '@perpmesh/testing';
import {
  openConfiguredVenues,
  PaperVenueClient,
  type StaticVenueDirectory,
  type VenuePort,
  venuesSectionSchema,
} from '@perpmesh/venues';
import { REPO_ROOT, type ServiceName, ServiceProcess, waitUntil } from '../e2e/harness.js';
import { type EmulatorRoutes, emulatorFaultAction, type VenueFault } from '../e2e/venue-faults.js';
import { RecordingVenueProxy } from '../e2e/venue-proxy.js';
import type { FaultTarget } from './invariants.js';

export const CHAOS_TOKEN_ENV = 'PERPMESH_CHAOS_TOKEN';
export const BTC = 'BTC-USDC-PERP';
/** The strategy's account on both venues. */
export const ARB_ACCOUNT = 'main';
/** The load clients' account on both venues. */
export const LOAD_ACCOUNT = 'load';
export const VENUES = ['paper', 'paper-lighter', 'paper-extended'] as const;
/** The load clients trade these (one without nonces, one with strict nonces). */
export const LOAD_VENUES = ['paper', 'paper-lighter'] as const;
/**
 * The arb's legs: Binance-like (8 h of interest in each settlement) against Lighter-like
 * (one hour of it per settlement): with both settling as often (`compressedFunding`), a
 * carry the seeded market pays at every settlement, whatever its premium does.
 */
export const ARB_VENUES = ['paper', 'paper-lighter'] as const;
/**
 * The chaos run's compressed time: the arb's venues settle funding this often (the presets:
 * 8 h and 1 h). The sim's smallest interval; fees are per trade and cannot be compressed.
 */
export const ARB_FUNDING_INTERVAL = '1s';
/**
 * How long the chaos arb holds, and prices its carry over: with a settlement every second on
 * both legs (0.01 % x 60,000 on the short, 0.00125 % on the long, per BTC) 20 settlements
 * clear both legs' taker fees in and out (0.05 % on `paper`, 0 on `paper-lighter`) and the
 * walked slippage (docs/reliability.md), so the arb enters, holds and exits about every 23 s.
 */
export const ARB_HOLD = '20s';
export const ACCOUNTS = [ARB_ACCOUNT, LOAD_ACCOUNT] as const;
const API_KEYS: Record<string, string> = { [ARB_ACCOUNT]: '4', [LOAD_ACCOUNT]: '5' };
export const IMBALANCE_BUDGET = '50000';

/** What a chaos run trades on: the paper venues (default) or the venue emulators. */
export const CHAOS_VENUE_KINDS = ['paper', 'emulated'] as const;
export type ChaosVenueKind = (typeof CHAOS_VENUE_KINDS)[number];

/** The venues of a run: whose truth is read, who trades where, what the faults hit. */
export interface ChaosVenueSet {
  kind: ChaosVenueKind;
  /** Every venue the truth is read from, for each of `accounts`. */
  venues: readonly string[];
  accounts: readonly string[];
  /** Where the load clients trade (account `LOAD_ACCOUNT`); none = no load clients. */
  loadVenues: readonly string[];
  /** The arb's leg venues (account `ARB_ACCOUNT`). */
  arbVenues: readonly string[];
  /** The venues the venue faults hit. */
  faultVenues: readonly string[];
  /** The instrument traded on each venue. */
  instruments: Readonly<Record<string, string>>;
}

export const PAPER_VENUE_SET: ChaosVenueSet = {
  kind: 'paper',
  venues: VENUES,
  accounts: ACCOUNTS,
  loadVenues: LOAD_VENUES,
  arbVenues: ARB_VENUES,
  faultVenues: LOAD_VENUES,
  instruments: Object.fromEntries(VENUES.map((v) => [v, BTC])),
};

/**
 * The emulators of config/emulated.yaml (libs/emulators, the real ccxt code path): Binance
 * USD-M (USDT, 8 h funding) and Hyperliquid (USDC, 1 h funding, our nonces), two funded
 * accounts each: the arb's (`main`) and the load clients' (`load`).
 */
export const EMULATED_VENUE_SET: ChaosVenueSet = {
  kind: 'emulated',
  venues: ['binanceusdm', 'hyperliquid'],
  accounts: [ARB_ACCOUNT, LOAD_ACCOUNT],
  loadVenues: ['binanceusdm', 'hyperliquid'],
  arbVenues: ['hyperliquid', 'binanceusdm'],
  faultVenues: ['binanceusdm', 'hyperliquid'],
  instruments: { binanceusdm: 'BTC-USDT-PERP', hyperliquid: BTC },
};

/** Each emulator's order write (a lost answer hits the next one) and book symbol. */
const EMULATOR_ROUTES: Readonly<Record<string, EmulatorRoutes>> = {
  binanceusdm: { orders: { method: 'POST', path: '/fapi/v1/order' }, bookSymbol: 'BTCUSDT' },
  // Hyperliquid's books are snapshots (l2Book): no deltas, no sequence gap to make.
  hyperliquid: { orders: { method: 'POST', path: '/exchange' } },
};

/**
 * The arb on the emulators, as config/emulated.yaml has it: USDC (Hyperliquid) against USDT
 * (Binance) through an exposure, priced over 48 h (the emulators keep their 1 h / 8 h
 * funding: no compressed time), so it enters once and holds through the faults.
 */
const EMULATED_ARB: Record<string, unknown> = {
  instruments: undefined,
  exposures: {
    'BTC-USD': {
      legs: EMULATED_VENUE_SET.instruments,
      settleConversion: { USDT: { USDC: '1' } },
      marketConversion: { price: 'index', maxConversionDeviationBps: '25' },
    },
  },
  venues: EMULATED_VENUE_SET.arbVenues.map((venue) => ({ venue, account: ARB_ACCOUNT })),
  holdingHorizonMs: '48h',
  maxHoldingMs: '48h',
  entryThresholdBps: '1',
  exitSpreadBpsPerHour: '-0.5',
  reentryCooldownMs: '1m',
  settlementGuardMs: '2m',
  maxSlippageBps: '20',
};

/** Every emulator test credential the venues' `{ env }` references read (both accounts). */
const EMULATED_CREDENTIALS = { ...EMULATOR_CREDENTIALS, ...EMULATOR_LOAD_CREDENTIALS };

const serverChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of serverChildren) child.kill('SIGKILL');
});

/** A nats-server or redis-server child of our own, restartable on the same port and dir. */
export class ServerProcess {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #output = '';

  constructor(
    readonly label: 'nats-server' | 'redis-server',
    readonly port: number,
    private readonly args: string[],
  ) {}

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async start(): Promise<void> {
    const child = spawn(this.label, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#output = '';
    serverChildren.add(child);
    const keep = (b: Buffer) => {
      this.#output = (this.#output + b.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.#exited = new Promise((resolve) => {
      child.on('exit', () => {
        serverChildren.delete(child);
        resolve();
      });
    });
    await waitUntil(
      `${this.label} on port ${this.port}`,
      async () => ((await portOpen(this.port)) ? true : undefined),
      {
        timeoutMs: 20_000,
        explain: () => this.#output,
      },
    );
  }

  async kill9(): Promise<void> {
    if (this.running) this.#child?.kill('SIGKILL');
    await this.#exited;
  }

  async stop(): Promise<void> {
    if (this.running) this.#child?.kill('SIGTERM');
    await this.#exited;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface ChaosSystemOptions {
  seed: number;
  /** Run the execution replicas from this entry (the failure switch), with its env. */
  executionEntry?: { entry: string; env: Record<string, string> };
  /** Start the strategy service (default true). */
  strategy?: boolean;
  /** Run on this NATS (e.g. a cluster, streams at `replicas`) instead of a nats-server of its own. */
  externalNats?: { url: string; replicas: number };
  /** Fields of the arb's strategy instance to replace (e.g. a horizon it holds for). */
  arb?: Record<string, unknown>;
  /**
   * The chaos run's market (runChaos sets it): the arb's venues settle funding every
   * `ARB_FUNDING_INTERVAL`, so its short holds earn carry and it trades. Off (default), each
   * paper venue keeps its preset's interval and the 20 s arb never clears its costs: a
   * caller then overrides the horizon (`arb`).
   */
  compressedFunding?: boolean;
  /** Per venue id: its clock's skew, ms, applied by the venue proxy from the start. */
  venueClockSkewMs?: Record<string, number>;
  /** The emulators' clock skew, ms (one world, one clock for both emulated venues). */
  emulatorClockSkewMs?: number;
  /** Trade on the paper venues (default) or on the venue emulators (no proxy, no skew). */
  venues?: ChaosVenueKind;
}

type Pair = { grpc: number; http: number };

/** `auto` (default): the services run compiled when the build is current; `source`: always tsx. */
export const CHAOS_START_ENV = 'PERPMESH_CHAOS_START';

/**
 * Whether the chaos services run from the compiled output: the build is current (nothing
 * `tsc -b` reads changed since its last success, scripts/build-stamp.mjs: `make test` and
 * `make chaos` build first), unless `PERPMESH_CHAOS_START=source`. Each service then starts
 * as plain node on dist/ instead of transpiling its sources (ccxt and the venue adapters
 * among them) at every start and restart; an edited, unbuilt checkout still runs what it has.
 */
export async function servicesCompiled(): Promise<boolean> {
  const how = process.env[CHAOS_START_ENV] ?? 'auto';
  if (how !== 'auto' && how !== 'source')
    throw new Error(`${CHAOS_START_ENV} must be auto or source, got ${JSON.stringify(how)}`);
  if (how === 'source') return false;
  const stampModule = pathToFileURL(join(REPO_ROOT, 'scripts', 'build-stamp.mjs')).href;
  const { buildIsCurrent } = (await import(stampModule)) as { buildIsCurrent: () => boolean };
  return buildIsCurrent();
}

export class ChaosSystem {
  readonly token = `chaos-${process.pid}-${Date.now().toString(36)}`;
  readonly dir: string;
  readonly nats: ServerProcess;
  readonly redis: ServerProcess;
  readonly paperVenue: ServiceProcess;
  readonly marketData: ServiceProcess;
  readonly account: ServiceProcess;
  readonly executions: ServiceProcess[];
  readonly strategy: ServiceProcess | undefined;
  proxy: RecordingVenueProxy | undefined;
  readonly venueSet: ChaosVenueSet;
  /** The running emulators (`venues: 'emulated'`), in this process: the truth, never killed. */
  emulators: RunningRehearsalEmulators | undefined;
  /** Emulator faults armed, by `<kind> <venue>` (with the emulators; the proxy counts its own). */
  readonly emulatorFaultHits = new Map<string, number>();
  #truth: StaticVenueDirectory | undefined;
  #closers: Array<() => Promise<void> | void> = [];

  private constructor(
    readonly options: ChaosSystemOptions,
    readonly ports: {
      nats: number;
      redis: number;
      proxy: number;
      paperVenue: Pair;
      marketData: Pair;
      account: Pair;
      strategy: Pair;
      execution: Pair[];
      emulators: { binanceusdm: number; hyperliquid: number };
    },
    /** The services run from the compiled output (`servicesCompiled`), else from the sources. */
    readonly compiled = false,
  ) {
    this.venueSet = options.venues === 'emulated' ? EMULATED_VENUE_SET : PAPER_VENUE_SET;
    this.dir = mkdtempSync(join(tmpdir(), 'perpmesh-chaos-'));
    mkdirSync(join(this.dir, 'nats'));
    mkdirSync(join(this.dir, 'redis'));
    this.nats = new ServerProcess('nats-server', ports.nats, [
      '-js',
      '-a',
      '127.0.0.1',
      '-p',
      String(ports.nats),
      '-sd',
      join(this.dir, 'nats'),
    ]);
    this.redis = new ServerProcess('redis-server', ports.redis, [
      '--port',
      String(ports.redis),
      '--bind',
      '127.0.0.1',
      '--dir',
      join(this.dir, 'redis'),
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
    ]);
    const configPath = join(this.dir, 'perpmesh.yaml');
    writeFileSync(configPath, JSON.stringify(this.#config(), null, 2));
    const env = {
      [CHAOS_TOKEN_ENV]: this.token,
      NATS_URL: this.natsUrl,
      REDIS_URL: this.redisUrl,
      // The emulators' own test credentials (public on purpose): the venues read them from env.
      ...(this.venueSet.kind === 'emulated' ? EMULATED_CREDENTIALS : {}),
    };
    const proc = (
      service: ServiceName,
      http: number,
      extra: Record<string, string> = {},
      label?: string,
      entry?: string,
    ) =>
      new ServiceProcess({
        service,
        configPath,
        httpPort: http,
        env: { ...env, ...extra },
        ...(label ? { label } : {}),
        ...(entry ? { entry } : {}),
        compiled,
      });
    this.paperVenue = proc('paper-venue', ports.paperVenue.http);
    this.marketData = proc('market-data', ports.marketData.http);
    this.account = proc('account', ports.account.http);
    this.executions = ports.execution.map((p, i) =>
      proc(
        'execution',
        p.http,
        {
          PERPMESH__EXECUTION__GRPC_PORT: String(p.grpc),
          PERPMESH__EXECUTION__HTTP__PORT: String(p.http),
          PERPMESH__EXECUTION__INSTANCE: `chaos-${i}`,
          ...(options.executionEntry
            ? {
                ...options.executionEntry.env,
                PERPMESH_TEST_CHAOS_VENUE_ADDRESS: `127.0.0.1:${ports.paperVenue.grpc}`,
              }
            : {}),
        },
        `execution-${i}`,
        options.executionEntry?.entry,
      ),
    );
    // ServiceProcess resolves services/<service>/src/<entry>: the strategy is one more service.
    this.strategy =
      options.strategy === false ? undefined : proc('strategy' as ServiceName, ports.strategy.http);
  }

  static async create(options: ChaosSystemOptions): Promise<ChaosSystem> {
    const pair = async () => ({ grpc: await freePort(), http: await freePort() });
    return new ChaosSystem(
      options,
      {
        nats: await freePort(),
        redis: await freePort(),
        proxy: await freePort(),
        paperVenue: await pair(),
        marketData: await pair(),
        account: await pair(),
        strategy: await pair(),
        execution: [await pair(), await pair()],
        emulators: { binanceusdm: await freePort(), hyperliquid: await freePort() },
      },
      await servicesCompiled(),
    );
  }

  get natsUrl(): string {
    if (this.options.externalNats) return this.options.externalNats.url;
    return `nats://127.0.0.1:${this.ports.nats}`;
  }

  get redisUrl(): string {
    return `redis://127.0.0.1:${this.ports.redis}`;
  }

  /** Where the paper-venue service really is (the proxy forwards to it). */
  get paperAddress(): string {
    return `127.0.0.1:${this.ports.paperVenue.grpc}`;
  }

  /** Every service process the faults may hit, by target name. */
  services(): Array<{ target: FaultTarget; process: ServiceProcess }> {
    return [
      { target: 'market-data' as const, process: this.marketData },
      ...this.executions.map((process) => ({ target: 'execution' as const, process })),
      { target: 'account' as const, process: this.account },
      ...(this.strategy ? [{ target: 'strategy' as const, process: this.strategy }] : []),
    ];
  }

  #config(): Record<string, unknown> {
    const local = (p: Pair) => ({
      grpcHost: '127.0.0.1',
      grpcPort: p.grpc,
      http: { host: '127.0.0.1', port: p.http },
    });
    const accounts = Object.fromEntries(ACCOUNTS.map((a) => [a, { paperDeposit: '100000' }]));
    const lighterAccounts = Object.fromEntries(
      ACCOUNTS.map((a) => [a, { apiKeyId: API_KEYS[a], paperDeposit: '100000' }]),
    );
    const first = this.ports.execution[0] as Pair;
    // A balance ages on our clock from when it was polled (core `readingAgeMs`), so the
    // emulated venues' skewed clocks no longer add to it. Its age still starts at the poll's
    // request: an emulator answers through ccxt and the real venue API, which on a loaded
    // machine (the full suite beside it) takes seconds per poll, so emulated venues get more.
    const balanceStaleAfter = this.venueSet.kind === 'emulated' ? '10s' : '3s';
    const funding = (venue: string) =>
      this.options.compressedFunding && (ARB_VENUES as readonly string[]).includes(venue)
        ? { fundingInterval: ARB_FUNDING_INTERVAL }
        : {};
    return {
      mode: 'distributed',
      namespace: 'chaos',
      log: { level: 'info' },
      nats: { url: this.natsUrl, replicas: this.options.externalNats?.replicas ?? 1 },
      redis: { url: this.redisUrl },
      auth: { token: { env: CHAOS_TOKEN_ENV } },
      paper: { seed: this.options.seed, stepInterval: '100ms', address: `127.0.0.1:${this.ports.proxy}` },
      venues:
        this.venueSet.kind === 'emulated'
          ? this.#emulatedVenues()
          : {
              paper: { kind: 'paper', instruments: [BTC], accounts, ...funding('paper') },
              'paper-lighter': {
                kind: 'paper',
                instruments: [BTC],
                accounts: lighterAccounts,
                ...funding('paper-lighter'),
              },
              'paper-extended': { kind: 'paper', instruments: [BTC], accounts, ...funding('paper-extended') },
            },
      paperVenue: local(this.ports.paperVenue),
      marketData: local(this.ports.marketData),
      account: {
        ...local(this.ports.account),
        pollInterval: '300ms',
        balanceStaleAfter: balanceStaleAfter,
        housekeepingInterval: '200ms',
        // An emulator answers through the real venue API, and slower than the paper venue.
        venueCallTimeout: this.venueSet.kind === 'emulated' ? '10s' : '2s',
        leaseTtl: '3s',
        leaseRenewInterval: '1s',
      },
      execution: {
        ...local(first),
        instance: 'chaos-0',
        venueCallTimeout: '5s',
        // A killed replica's strict-nonce keys (paper-lighter) move within about 3 s, as accounts do.
        nonceKeys: { leaseTtl: '3s', leaseRenewInterval: '1s' },
      },
      strategy: {
        ...local(this.ports.strategy),
        executionAddress: `127.0.0.1:${first.grpc}`,
        accountAddress: `127.0.0.1:${this.ports.account.grpc}`,
        tickInterval: '500ms',
        balancePollInterval: '1s',
        balanceStaleAfter: balanceStaleAfter,
        leaseTtl: '3s',
        leaseRenewInterval: '1s',
        retryInterval: '1s',
        callTimeout: '5s',
        stopCancelTimeout: '5s',
        instances: [
          {
            id: 'arb1',
            kind: 'funding_arb',
            mode: 'live',
            instruments: [BTC],
            venues: ARB_VENUES.map((venue) => ({ venue, account: ARB_ACCOUNT })),
            targetNotionalPerLeg: '2000',
            // Priced over the hold (carry counts the settlements inside min(horizon, max hold)):
            // enter on any positive net carry, hold ARB_HOLD, so the arb opens and closes its
            // legs several times per run. The decider never enters at a net loss, whatever the
            // threshold: the carry must truly be there (`compressedFunding`).
            holdingHorizonMs: ARB_HOLD,
            entryThresholdBps: '0',
            persistenceMs: '1s',
            exitSpreadBpsPerHour: '-10000',
            maxHoldingMs: ARB_HOLD,
            reentryCooldownMs: '2s',
            // Shorter than a settlement interval: else every settlement is "due first" and a
            // max-holding exit waits for the next one forever.
            settlementGuardMs: '250ms',
            // A skip (and why) on the STRAT stream every 5 s, not once a minute.
            skipReportIntervalMs: '5s',
            legImbalanceBudgetNotionalSeconds: IMBALANCE_BUDGET,
            orderType: 'limit_ioc',
            maxSlippageBps: '50',
            risk: {
              leverage: '3',
              maxLeverage: '5',
              maxNotionalPerInstrument: '20000',
              maxNotionalPerVenue: '50000',
              orderRateCapacity: 10,
              orderRatePerSecond: 5,
              availableBalanceUsage: '0.5',
            },
            ...(this.venueSet.kind === 'emulated' ? EMULATED_ARB : {}),
            ...this.options.arb,
          },
        ],
      },
    };
  }

  /** The emulated venues as config/emulated.yaml has them, on this run's ports, flagged emulated. */
  #emulatedVenues(): Record<string, unknown> {
    const url = (port: number) => ({
      baseUrl: `http://127.0.0.1:${port}`,
      wsUrl: `ws://127.0.0.1:${port}/ws`,
      emulated: true,
    });
    return {
      binanceusdm: {
        kind: 'binanceusdm',
        instruments: [EMULATED_VENUE_SET.instruments.binanceusdm],
        ...url(this.ports.emulators.binanceusdm),
        accounts: {
          [ARB_ACCOUNT]: {
            apiKey: { env: 'BINANCE_EMULATOR_API_KEY' },
            secret: { env: 'BINANCE_EMULATOR_SECRET' },
          },
          [EMULATED_LOAD_ACCOUNT]: {
            apiKey: { env: 'BINANCE_EMULATOR_LOAD_API_KEY' },
            secret: { env: 'BINANCE_EMULATOR_LOAD_SECRET' },
          },
        },
      },
      hyperliquid: {
        kind: 'hyperliquid',
        instruments: [EMULATED_VENUE_SET.instruments.hyperliquid],
        ...url(this.ports.emulators.hyperliquid),
        accounts: {
          [ARB_ACCOUNT]: {
            walletAddress: hyperliquidAddressOf(
              EMULATOR_CREDENTIALS.HYPERLIQUID_EMULATOR_PRIVATE_KEY.slice(2),
            ),
            privateKey: { env: 'HYPERLIQUID_EMULATOR_PRIVATE_KEY' },
          },
          [EMULATED_LOAD_ACCOUNT]: {
            walletAddress: hyperliquidAddressOf(
              EMULATOR_LOAD_CREDENTIALS.HYPERLIQUID_EMULATOR_LOAD_PRIVATE_KEY.slice(2),
            ),
            privateKey: { env: 'HYPERLIQUID_EMULATOR_LOAD_PRIVATE_KEY' },
          },
        },
      },
    };
  }

  /**
   * Puts a venue fault in force until the returned function is called: through the proxy
   * on the paper venues; on the emulators, their own fault injection (a rate limit or 5xx on
   * the next requests, a lost answer on the next order write, dropped websockets, a skipped
   * book delta), armed at the window's start.
   */
  injectVenueFault(fault: VenueFault): () => void {
    if (this.proxy) return this.proxy.inject(fault);
    const server = this.emulators?.servers.get(fault.venue);
    const route = EMULATOR_ROUTES[fault.venue];
    if (!server || !route) throw new Error(`no emulator for venue fault on ${fault.venue}`);
    const action = emulatorFaultAction(fault.kind, route);
    if (action?.do === 'http') server.faults.inject(action.rule);
    if (action?.do === 'drop_websockets') server.dropWebSockets();
    if (action?.do === 'skip_book_delta') server.faults.skipBookDeltas(action.symbol, 1);
    if (action) {
      const key = `${fault.kind} ${fault.venue}`;
      this.emulatorFaultHits.set(key, (this.emulatorFaultHits.get(key) ?? 0) + 1);
    }
    return () => undefined;
  }

  /** Calls answered by venue faults (proxy) or emulator faults armed, by `<kind> <venue>`. */
  venueFaultHits(): Map<string, number> {
    return new Map(this.proxy?.faultHits ?? this.emulatorFaultHits);
  }

  onClose(fn: () => Promise<void> | void): void {
    this.#closers.push(fn);
  }

  /** Servers, the venue and its proxy, then the services; each ready before the next. */
  async start(): Promise<void> {
    await Promise.all([this.options.externalNats ? undefined : this.nats.start(), this.redis.start()]);
    if (this.venueSet.kind === 'emulated') {
      const emulators = await startRehearsalEmulators({
        seed: this.options.seed,
        binanceusdmPort: this.ports.emulators.binanceusdm,
        hyperliquidPort: this.ports.emulators.hyperliquid,
        loadAccount: true,
        ...(this.options.emulatorClockSkewMs === undefined
          ? {}
          : { clockSkewMs: this.options.emulatorClockSkewMs }),
      });
      this.emulators = emulators;
      this.onClose(() => emulators.close());
    } else {
      this.paperVenue.start();
      await this.paperVenue.waitReady({ timeoutMs: 60_000 });
      this.proxy = await RecordingVenueProxy.start(this.paperAddress, this.ports.proxy, {
        ...(this.options.venueClockSkewMs ? { clockSkewMs: this.options.venueClockSkewMs } : {}),
      });
      const proxy = this.proxy;
      this.onClose(() => proxy.close());
    }
    for (const { process } of this.services()) process.start();
    // The venue adapters of the emulated venues (ccxt among them) take longer to load.
    await this.waitAllReady(this.venueSet.kind === 'emulated' ? 240_000 : 90_000);
  }

  /** Every service process answers /readyz 200 (at the start: none may exit meanwhile). */
  async waitAllReady(timeoutMs: number): Promise<void> {
    await Promise.all(
      this.services().map(({ process }) => process.waitReady({ timeoutMs, intervalMs: 100 })),
    );
  }

  /**
   * Every service process running and answering /readyz 200 at once, within `timeoutMs`.
   * Unlike `waitAllReady` a process that exits meanwhile does not end the wait: the run's
   * supervisor restarts it, as a real one would, and the clock keeps running.
   */
  async waitRecovered(timeoutMs: number): Promise<{ slowest: string }> {
    const all = () => this.services().map((s) => s.process);
    const started = Date.now();
    /** When each process was last seen not ready: the latest of them is the slowest. */
    const lastNotReady = new Map<string, number>();
    await waitUntil(
      'every service ready again',
      async () => {
        const states = await Promise.all(
          all().map(async (p) => {
            const ok = p.running && (await p.readyz())?.status === 200;
            if (!ok) lastNotReady.set(p.label, Date.now());
            return ok;
          }),
        );
        return states.every(Boolean) ? true : undefined;
      },
      {
        timeoutMs,
        intervalMs: 100,
        explain: () =>
          all()
            .filter((p) => !p.running)
            .map((p) => p.describe(5))
            .join('\n') || 'every process runs; some /readyz is not 200',
      },
    );
    let slowest = '';
    let at = started - 1;
    for (const [label, ms] of lastNotReady) {
      if (ms > at) {
        slowest = label;
        at = ms;
      }
    }
    return { slowest };
  }

  /**
   * A venue port straight to the truth: the paper-venue service (not through the proxy), or
   * the emulator itself through the venue's own adapter.
   */
  async venue(venue: string, account: string): Promise<VenuePort> {
    if (this.venueSet.kind === 'emulated') {
      if (!this.#truth) {
        // The adapters read the emulators' credentials from env, as the services do.
        Object.assign(process.env, EMULATED_CREDENTIALS);
        const section = venuesSectionSchema.parse(this.#emulatedVenues());
        const truth = await openConfiguredVenues(section, {
          access: 'trading',
          host: { paperAddress: '127.0.0.1:1', callTimeoutMs: 10_000 },
        });
        this.#truth = truth;
        this.onClose(() => Promise.allSettled(truth.all().map((p) => p.close())).then(() => undefined));
      }
      const port = this.#truth.all().find((p) => p.venue === venue && p.account === account);
      if (!port) throw new Error(`no emulated venue port for ${venue}/${account}`);
      return port;
    }
    const port = await PaperVenueClient.connect({
      address: this.paperAddress,
      venue,
      account,
      apiKeyId: venue === 'paper-lighter' ? (API_KEYS[account] ?? 'default') : 'default',
      callTimeoutMs: 10_000,
      readinessPollMs: 0,
      authToken: new Secret(this.token),
    });
    this.onClose(() => port.close());
    return port;
  }

  #interceptors() {
    return { interceptors: [bearerAuthInterceptor(new Secret(this.token))] };
  }

  executionClient(replica: number): InstanceType<typeof ExecutionServiceClient> {
    const c = new ExecutionServiceClient(
      `127.0.0.1:${this.ports.execution[replica]?.grpc}`,
      credentials.createInsecure(),
      this.#interceptors(),
    );
    this.onClose(() => c.close());
    return c;
  }

  accountClient(): InstanceType<typeof AccountServiceClient> {
    const c = new AccountServiceClient(
      `127.0.0.1:${this.ports.account.grpc}`,
      credentials.createInsecure(),
      this.#interceptors(),
    );
    this.onClose(() => c.close());
    return c;
  }

  /** Kills everything, closes clients, removes the temp dir. Never throws. */
  async close(): Promise<void> {
    for (const close of this.#closers.splice(0).reverse())
      await Promise.resolve(close()).catch(() => undefined);
    await Promise.all([this.paperVenue, ...this.services().map((s) => s.process)].map((p) => p.kill9()));
    await Promise.all([this.nats.kill9(), this.redis.kill9()]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export { REPO_ROOT };
