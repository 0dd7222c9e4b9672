/**
 * Test-only: the whole trading path in one process for the strategy runtime's integration
 * tests — a paper exchange (PaperVenueHub, MANUAL clock) with the venues and funded accounts
 * a test asks for, market-data, execution and account services on the embedded log and
 * store, execution and account served over real gRPC on 127.0.0.1 port 0, and the strategy
 * service reaching them only through those gRPC APIs (as in the embedded system).
 *
 * Time is the hub's clock for every service: `step(ms)` moves the world, lets the events
 * flow through market-data / execution / account to the strategy, re-reads balances and
 * ticks the strategy. The strategy's own timers are set to an hour, so nothing happens
 * behind the test's back. Venue ports are wrapped in a spy that counts order calls.
 */
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { type AccountService, buildAccountService } from '@perpmesh/account';
import type { EventLog } from '@perpmesh/bus';
import {
  decodeEnvelope,
  type Envelope,
  type StrategyDecision,
  StrategyServiceClient,
  type Subjects,
} from '@perpmesh/contracts';
import { type Decimal, ZERO } from '@perpmesh/core';
import { buildExecutionService, type ExecutionService } from '@perpmesh/execution';
import { buildMarketDataService, type MarketDataService } from '@perpmesh/market-data';
import {
  createLogger,
  HealthRegistry,
  type Logger,
  type RunningGrpcServer,
  startGrpcServer,
} from '@perpmesh/runtime';
import type { StateStore } from '@perpmesh/state';
import { eventually, openTestBackend, type TestBackend } from '@perpmesh/testing';
import {
  type PaperAccountSetup,
  PaperVenueHub,
  type PaperVenueSetup,
  StaticVenueDirectory,
  type VenuePort,
} from '@perpmesh/venues';
import { parseStrategyInstances, type StrategyRuntimeSettings } from './config.js';
import { GrpcAccountReader, GrpcOrderGateway, marketsFromVenues, type OrderGateway } from './gateway.js';
import { buildStrategyService, type StrategyService } from './service.js';

export const BTC = 'BTC-USDC-PERP';
export const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
export const HOUR_MS = 3_600_000;
const PROTO_ROOT = new URL('../../../../proto/', import.meta.url).pathname;

/** Counts the order calls that reach a venue port; everything else passes through. */
export interface PortSpy {
  readonly created: Array<{ clientOrderId: string; side: string; size: string; reduceOnly: boolean }>;
  readonly canceled: string[];
}

function spyOn(port: VenuePort, spy: PortSpy): VenuePort {
  return new Proxy(port, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === 'createOrder') {
        return (req: Parameters<VenuePort['createOrder']>[0]) => {
          spy.created.push({
            clientOrderId: req.clientOrderId,
            side: req.side,
            size: req.size.toFixed(),
            reduceOnly: req.reduceOnly,
          });
          return target.createOrder(req);
        };
      }
      if (prop === 'cancelOrder') {
        return (ref: Parameters<VenuePort['cancelOrder']>[0]) => {
          spy.canceled.push(ref.clientOrderId ?? ref.venueOrderId ?? '');
          return target.cancelOrder(ref);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export interface StackOptions {
  readonly venues: readonly PaperVenueSetup[];
  /** Funded accounts; each gets a spied port in the services' venue directory. */
  readonly accounts: readonly PaperAccountSetup[];
  /** Raw strategy instances, as under `strategy.instances` in perpmesh.yaml. */
  readonly instances: ReadonlyArray<Record<string, unknown>>;
  readonly seed?: number;
  /** The instruments market data follows (default: BTC only). */
  readonly instruments?: readonly string[];
}

/** Settings that leave every strategy timer to the test (manual ticks, manual balance reads). */
export const MANUAL_SETTINGS: StrategyRuntimeSettings = {
  tickIntervalMs: HOUR_MS,
  balancePollIntervalMs: HOUR_MS,
  balanceStaleAfterMs: 10 * 24 * HOUR_MS,
  leaseTtlMs: 30 * 24 * HOUR_MS,
  leaseRenewIntervalMs: HOUR_MS,
  retryIntervalMs: 200,
  decisionsKept: 1_000,
  stopCancelTimeoutMs: 5_000,
};

export class Stack {
  readonly spies = new Map<string, PortSpy>();
  strategy: StrategyService | undefined;
  strategyServer: RunningGrpcServer | undefined;
  #strategyHealth = new HealthRegistry();
  #holderSeq = 0;

  private constructor(
    readonly options: StackOptions,
    readonly backend: TestBackend,
    readonly hub: PaperVenueHub,
    readonly directory: StaticVenueDirectory,
    readonly marketData: MarketDataService,
    readonly execution: ExecutionService,
    readonly account: AccountService,
    readonly execServer: RunningGrpcServer,
    readonly accountServer: RunningGrpcServer,
    readonly logger: Logger,
  ) {}

  get log(): EventLog {
    return this.backend.log;
  }

  get state(): StateStore {
    return this.backend.state;
  }

  get subjects(): Subjects {
    return this.backend.subjects;
  }

  get streamPrefix(): string {
    return this.backend.streamPrefix;
  }

  static async open(options: StackOptions): Promise<Stack> {
    const backend = await openTestBackend('embedded', { prefix: 'STRAT' });
    const { log, state, subjects } = backend;
    const logger = createLogger({
      service: 'strategy-test',
      level: (process.env.STACK_LOG_LEVEL as 'silent' | undefined) ?? 'silent',
    });
    const hub = new PaperVenueHub({
      seed: options.seed ?? 11,
      clock: { kind: 'manual' },
      startMs: T0,
      venues: options.venues,
      accounts: options.accounts,
    });
    const nowMs = () => hub.nowMs;
    const spies = new Map<string, PortSpy>();
    const ports = options.accounts.map((a) => {
      const spy: PortSpy = { created: [], canceled: [] };
      spies.set(`${a.venueId}/${a.accountId}`, spy);
      return spyOn(hub.venue(a.venueId, a.accountId), spy);
    });
    const directory = new StaticVenueDirectory(ports);
    const health = new HealthRegistry({ nowMs });
    const instruments = [...(options.instruments ?? [BTC])];
    const marketData = buildMarketDataService({
      log,
      venues: directory,
      subjects,
      health,
      logger,
      nowMs,
      source: 'market-data/test',
      config: {
        venues: Object.fromEntries(options.venues.map((v) => [v.venueId, { instruments }])),
        tuning: { fundingPollIntervalMs: 0, portReadinessPollMs: 0, bookPublishIntervalMs: 0 },
      },
    });
    const execution = buildExecutionService({
      log,
      state,
      venues: directory,
      subjects,
      health,
      logger,
      nowMs,
      source: 'execution/test',
      config: { execStream: backend.stream('EXEC'), housekeepingIntervalMs: 60_000, fillCatchUpDelayMs: 10 },
    });
    const account = buildAccountService({
      log,
      state,
      venues: directory,
      subjects,
      health,
      logger,
      nowMs,
      source: 'account/test',
      streamPrefix: backend.streamPrefix,
      config: {
        pollIntervalMs: 0,
        housekeepingIntervalMs: 0,
        balanceStaleAfterMs: 10 * 24 * HOUR_MS,
        positionStaleAfterMs: 10 * 24 * HOUR_MS,
      },
    });
    await marketData.start();
    await execution.start();
    await account.start();
    const serve = (grpc: ExecutionService['grpc'] | AccountService['grpc'], proto: string) =>
      startGrpcServer({
        host: '127.0.0.1',
        port: 0,
        services: [grpc],
        protoFiles: [proto],
        includeDirs: [PROTO_ROOT],
        logger,
        health: new HealthRegistry(),
      });
    const execServer = await serve(execution.grpc, 'perpmesh/v1/execution.proto');
    const accountServer = await serve(account.grpc, 'perpmesh/v1/account.proto');
    const stack = new Stack(
      options,
      backend,
      hub,
      directory,
      marketData,
      execution,
      account,
      execServer,
      accountServer,
      logger,
    );
    for (const [k, v] of spies) stack.spies.set(k, v);
    return stack;
  }

  /** A new strategy service over this stack (not started), with its own lease holder name. */
  newStrategyService(
    overrides: {
      instances?: ReadonlyArray<Record<string, unknown>>;
      wrapOrders?: (gateway: OrderGateway) => OrderGateway;
      health?: HealthRegistry;
      /** The state store the strategy service saves to (default: the stack's). */
      state?: StateStore;
      /** Runtime settings (default: MANUAL_SETTINGS). */
      settings?: StrategyRuntimeSettings;
    } = {},
  ): StrategyService {
    this.#holderSeq += 1;
    const instances = parseStrategyInstances(overrides.instances ?? this.options.instances);
    const orders = new GrpcOrderGateway({ address: this.execServer.address });
    return buildStrategyService({
      log: this.log,
      state: overrides.state ?? this.state,
      subjects: this.subjects,
      streamPrefix: this.streamPrefix,
      orders: overrides.wrapOrders ? overrides.wrapOrders(orders) : orders,
      account: new GrpcAccountReader({ address: this.accountServer.address }),
      markets: marketsFromVenues(this.directory),
      health: overrides.health ?? new HealthRegistry({ nowMs: () => this.hub.nowMs }),
      logger: this.logger,
      nowMs: () => this.hub.nowMs,
      source: 'strategy/test',
      holder: `test-${this.#holderSeq}`,
      instances,
      settings: overrides.settings ?? MANUAL_SETTINGS,
    });
  }

  /** Builds and starts a strategy service (a new one each call: a restart) and serves it over gRPC. */
  async startStrategy(
    overrides: {
      instances?: ReadonlyArray<Record<string, unknown>>;
      wrapOrders?: (gateway: OrderGateway) => OrderGateway;
      state?: StateStore;
    } = {},
  ) {
    this.#strategyHealth = new HealthRegistry({ nowMs: () => this.hub.nowMs });
    const service = this.newStrategyService({ ...overrides, health: this.#strategyHealth });
    await service.start();
    for (const r of service.runners()) await r.whenRunning(10_000);
    this.strategy = service;
    this.strategyServer = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      services: [service.grpc],
      protoFiles: ['perpmesh/v1/strategy.proto'],
      includeDirs: [PROTO_ROOT],
      logger: this.logger,
      health: this.#strategyHealth,
    });
    await this.settle();
    return service;
  }

  /** Readiness of the strategy service started last. */
  get strategyHealth(): HealthRegistry {
    return this.#strategyHealth;
  }

  async stopStrategy(): Promise<void> {
    await this.strategyServer?.close(100);
    this.strategyServer = undefined;
    await this.strategy?.stop();
    this.strategy = undefined;
  }

  strategyClient(): InstanceType<typeof StrategyServiceClient> {
    if (!this.strategyServer) throw new Error('no strategy server');
    return new StrategyServiceClient(this.strategyServer.address, credentials.createInsecure());
  }

  /**
   * Waits until no stream grows for `quietPolls` polls in a row (the pipeline has drained);
   * fails if it is still growing after 10 s.
   */
  async settle(quietPolls = 3): Promise<void> {
    const streams = ['MD', 'EXEC', 'ACCT', 'STRAT'].map((s) => this.backend.stream(s));
    let last: string | undefined;
    let quiet = 0;
    await eventually(
      `streams ${streams.join(', ')} to stop growing for ${quietPolls} polls`,
      async () => {
        const now = (await Promise.all(streams.map((s) => this.log.streamInfo(s))))
          .map((i) => i.lastSeq)
          .join(',');
        quiet = now === last ? quiet + 1 : 0;
        last = now;
        return quiet >= quietPolls;
      },
      { timeoutMs: 10_000, intervalMs: 25 },
    );
  }

  /**
   * Moves the world by `ms` (in `slices` equal steps), lets every event reach the strategy,
   * re-reads balances and ticks every strategy instance.
   */
  async step(ms: number, slices = 1): Promise<void> {
    for (let i = 0; i < slices; i++) {
      this.hub.advanceTo(this.hub.nowMs + Math.floor(ms / slices));
      await this.account.refresh();
      await this.account.flush();
      await this.settle();
      for (const r of this.strategy?.runners() ?? []) {
        await r.refreshBalances();
        await r.tick();
      }
      await this.settle();
    }
  }

  /** Every strategy decision on the log (STRAT stream), in order. */
  async decisions(strategyId?: string): Promise<Array<StrategyDecision & { envelopeId: string }>> {
    const out: Array<StrategyDecision & { envelopeId: string }> = [];
    const stream = this.backend.stream('STRAT');
    if ((await this.log.streamInfo(stream)).lastSeq === 0) return out;
    for await (const msg of this.log.read({ stream })) {
      const e: Envelope = decodeEnvelope(msg.data);
      if (e.payload?.$case !== 'strategyDecision') continue;
      if (strategyId && e.payload.value.strategyId !== strategyId) continue;
      out.push({ ...e.payload.value, envelopeId: e.id });
    }
    return out;
  }

  /** Every envelope of one stream (EXEC, ACCT...), decoded. */
  async envelopes(stream: 'EXEC' | 'ACCT' | 'STRAT' | 'MD'): Promise<Envelope[]> {
    const name = this.backend.stream(stream);
    const out: Envelope[] = [];
    if ((await this.log.streamInfo(name)).lastSeq === 0) return out;
    for await (const msg of this.log.read({ stream: name })) out.push(decodeEnvelope(msg.data));
    return out;
  }

  /** The venue's own view of the account's position (signed size). */
  position(venue: string, account = 'main', instrument = BTC): Decimal {
    return this.hub.exchange(venue).position(account, instrument)?.size ?? ZERO;
  }

  /** Open orders on the venue itself for the account. */
  venueOpenOrders(venue: string, account = 'main') {
    return this.hub.exchange(venue).openOrders(account, BTC);
  }

  spy(venue: string, account = 'main'): PortSpy {
    const s = this.spies.get(`${venue}/${account}`);
    if (!s) throw new Error(`no spy for ${venue}/${account}`);
    return s;
  }

  async close(): Promise<void> {
    await this.stopStrategy().catch(() => undefined);
    await this.execServer.close(100);
    await this.accountServer.close(100);
    await this.account.stop();
    await this.execution.stop();
    await this.marketData.stop();
    this.hub.close();
    await this.backend.close();
  }
}

/** Promisified unary call of a generated gRPC client. */
export function call<Req, Res>(
  fn: (req: Req, cb: (err: ServiceError | null, res?: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res as Res))));
}
