/**
 * The account service's projection against each ccxt venue's truth (Binance USD-M, OKX,
 * Hyperliquid emulators on 127.0.0.1, real ccxt code): the venues are opened from a `venues`
 * config section through their kinds (credentials from the environment, as in production),
 * the execution service places, partially fills, fills and cancels orders there, and the
 * ACCOUNT SERVICE's positions (built from exec.fill) and balances (read from the venue)
 * equal what the emulator's exchange holds, to the last decimal.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type AccountService, buildAccountService } from '@perpmesh/account';
import { OrderType, Side, TimeInForce } from '@perpmesh/contracts';
import {
  BinanceUsdmEmulator,
  bareMarket,
  binanceusdmSimConfig,
  type EmulatorMarket,
  HyperliquidEmulator,
  hyperliquidAddressOf,
  hyperliquidSimConfig,
  OkxEmulator,
  okxSimConfig,
} from '@perpmesh/emulators';
import {
  buildExecutionService,
  type ExecutionService,
  placeOrderCommandFromProto,
} from '@perpmesh/execution';
import { createLogger, HealthRegistry } from '@perpmesh/runtime';
import { eventually, openTestBackend, type TestBackend } from '@perpmesh/testing';
import { openConfiguredVenues, type StaticVenueDirectory, venuesSectionSchema } from '@perpmesh/venues';

const MAKER = 'counterparty';
const PRICE = '60000';
const HYPERLIQUID_KEY = `0x${'11'.repeat(32)}`;

interface Emulator {
  readonly exchange: EmulatorMarket['exchange'];
  readonly wsUrl: string;
  start(): Promise<string>;
  close(): Promise<void>;
  readonly server: { flush(): void };
}

/** One ccxt venue: its emulator over a bare market, and its `venues.<id>` section (credentials as env references). */
interface VenueCase {
  readonly venue: 'binanceusdm' | 'okx' | 'hyperliquid';
  readonly instrument: string;
  readonly env: Record<string, string>;
  emulator(market: EmulatorMarket): Emulator;
  config(baseUrl: string, wsUrl: string): Record<string, unknown>;
  simConfig(): Parameters<typeof bareMarket>[0];
}

const CASES: VenueCase[] = [
  {
    venue: 'binanceusdm',
    instrument: 'BTC-USDT-PERP',
    env: { PM_PROJ_BINANCE_KEY: 'proj-binance-key', PM_PROJ_BINANCE_SECRET: 'proj-binance-secret' },
    simConfig: () => binanceusdmSimConfig('binanceusdm', 'USDT'),
    emulator: (market) =>
      new BinanceUsdmEmulator({
        market,
        apiKeys: [
          { apiKey: 'proj-binance-key', secret: 'proj-binance-secret', accountId: 'main', deposit: '100000' },
        ],
        stepIntervalMs: 50,
      }),
    config: (baseUrl, wsUrl) => ({
      kind: 'binanceusdm',
      instruments: ['BTC-USDT-PERP'],
      baseUrl,
      wsUrl,
      accounts: {
        main: { apiKey: { env: 'PM_PROJ_BINANCE_KEY' }, secret: { env: 'PM_PROJ_BINANCE_SECRET' } },
      },
    }),
  },
  {
    venue: 'okx',
    instrument: 'BTC-USDT-PERP',
    env: {
      PM_PROJ_OKX_KEY: 'proj-okx-key',
      PM_PROJ_OKX_SECRET: 'proj-okx-secret',
      PM_PROJ_OKX_PASS: 'proj-okx-pass',
    },
    simConfig: () => okxSimConfig(),
    emulator: (market) =>
      new OkxEmulator({
        market,
        apiKeys: [
          {
            apiKey: 'proj-okx-key',
            secret: 'proj-okx-secret',
            passphrase: 'proj-okx-pass',
            accountId: 'main',
            deposit: '100000',
          },
        ],
        stepIntervalMs: 50,
      }),
    config: (baseUrl, wsUrl) => ({
      kind: 'okx',
      instruments: ['BTC-USDT-PERP'],
      baseUrl,
      wsUrl,
      accounts: {
        main: {
          apiKey: { env: 'PM_PROJ_OKX_KEY' },
          secret: { env: 'PM_PROJ_OKX_SECRET' },
          passphrase: { env: 'PM_PROJ_OKX_PASS' },
        },
      },
    }),
  },
  {
    venue: 'hyperliquid',
    instrument: 'BTC-USDC-PERP',
    env: { PM_PROJ_HYPERLIQUID_KEY: HYPERLIQUID_KEY },
    simConfig: () => hyperliquidSimConfig(),
    emulator: (market) =>
      new HyperliquidEmulator({
        market,
        users: [{ address: hyperliquidAddressOf(HYPERLIQUID_KEY), accountId: 'main', deposit: '100000' }],
        stepIntervalMs: 50,
      }),
    config: (baseUrl, wsUrl) => ({
      kind: 'hyperliquid',
      instruments: ['BTC-USDC-PERP'],
      baseUrl,
      wsUrl,
      accounts: {
        main: {
          walletAddress: hyperliquidAddressOf(HYPERLIQUID_KEY),
          privateKey: { env: 'PM_PROJ_HYPERLIQUID_KEY' },
        },
      },
    }),
  },
];

/** Execution and account over one venue directory and one embedded log and store. */
class Rig {
  readonly closers: Array<() => Promise<unknown>> = [];
  emulator!: Emulator;
  execution!: ExecutionService;
  account!: AccountService;

  constructor(readonly c: VenueCase) {}

  async start(): Promise<void> {
    const market = bareMarket(this.c.simConfig(), Date.now());
    market.exchange.deposit(MAKER, '10000000');
    market.exchange.setPrices(this.c.instrument, { markPrice: PRICE, indexPrice: PRICE });
    this.emulator = this.c.emulator(market);
    const baseUrl = await this.emulator.start();
    this.closers.push(() => this.emulator.close());
    for (const [name, value] of Object.entries(this.c.env)) process.env[name] = value;
    const section = venuesSectionSchema.parse({
      [this.c.venue]: this.c.config(baseUrl, this.emulator.wsUrl),
    });
    const directory: StaticVenueDirectory = await openConfiguredVenues(section, {
      access: 'trading',
      host: { paperAddress: '127.0.0.1:1', callTimeoutMs: 5_000 },
    });
    this.closers.push(() => Promise.allSettled(directory.all().map((p) => p.close())));
    const backend: TestBackend = await openTestBackend('embedded', {
      prefix: `PROJ${this.c.venue.slice(0, 3)}`,
    });
    this.closers.push(() => backend.close());
    const health = new HealthRegistry();
    const deps = {
      log: backend.log,
      venues: directory,
      subjects: backend.subjects,
      health,
      nowMs: () => Date.now(),
    };
    this.execution = buildExecutionService({
      ...deps,
      state: backend.state,
      logger: createLogger({ service: 'execution', level: 'silent' }),
      source: 'execution/projection-test',
      config: { execStream: backend.stream('EXEC'), fillCatchUpDelayMs: 50 },
    });
    this.account = buildAccountService({
      ...deps,
      state: backend.state,
      logger: createLogger({ service: 'account', level: 'silent' }),
      source: 'account/projection-test',
      config: { pollIntervalMs: 0, housekeepingIntervalMs: 0 },
      streamPrefix: backend.streamPrefix,
    });
    await this.execution.start();
    this.closers.push(() => this.execution.stop());
    await this.account.start();
    this.closers.push(() => this.account.stop());
  }

  /** The counterparty's limit order, straight into the sim. */
  maker(side: 'buy' | 'sell', price: string, size: string): void {
    const result = this.emulator.exchange.placeOrder({
      accountId: MAKER,
      instrumentId: this.c.instrument,
      side,
      type: 'limit',
      timeInForce: 'gtc',
      price,
      size,
    });
    assert.ok(result.ok, JSON.stringify(!result.ok && result.reject));
    this.emulator.server.flush();
  }

  /** Our resting buy through the execution service. */
  async buy(clientOrderId: string, price: string, size: string): Promise<void> {
    const placed = await this.execution.engine.placeOrder(
      placeOrderCommandFromProto({
        clientOrderId,
        venue: this.c.venue,
        account: 'main',
        instrument: this.c.instrument,
        side: Side.SIDE_BUY,
        type: OrderType.ORDER_TYPE_LIMIT,
        timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
        price,
        size,
        reduceOnly: false,
        correlationId: '',
      }),
    );
    assert.equal(placed.order.state.status, 'accepted');
  }

  async status(clientOrderId: string, status: string, filled: string): Promise<void> {
    await eventually(
      `${this.c.venue} ${clientOrderId} ${status} (${filled} filled)`,
      () => {
        const o = this.execution.engine.getOrder({ venue: this.c.venue, account: 'main', clientOrderId });
        return o.state.status === status && o.state.filled.eq(filled) ? o : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
  }

  async close(): Promise<void> {
    for (const close of this.closers.reverse()) await close().catch(() => undefined);
  }
}

describe('account projection = venue truth, through execution and account services (ccxt venues)', () => {
  const rigs: Rig[] = [];
  after(async () => {
    for (const rig of rigs) await rig.close();
  });

  for (const c of CASES) {
    test(`${c.venue}: placed, partially filled, filled and canceled; the account service agrees to the last decimal`, async () => {
      const rig = new Rig(c);
      rigs.push(rig);
      await rig.start();
      const id = (n: number) => `proj-${c.venue.slice(0, 3)}-${process.pid}-${n}`;

      // Order 1: partially filled, then filled.
      await rig.buy(id(1), PRICE, '0.05');
      rig.maker('sell', PRICE, '0.02');
      await rig.status(id(1), 'partially_filled', '0.02');
      rig.maker('sell', PRICE, '0.03');
      await rig.status(id(1), 'filled', '0.05');
      // Order 2: partially filled, then canceled. (0.05 at 60000 + 0.05 at 59990: an entry of
      // exactly 59995, which the venue states without rounding.)
      await rig.buy(id(2), '59990', '0.08');
      rig.maker('sell', '59990', '0.05');
      await rig.status(id(2), 'partially_filled', '0.05');
      await rig.execution.engine.cancelOrder({ venue: c.venue, account: 'main', clientOrderId: id(2) });
      await rig.status(id(2), 'canceled', '0.05');

      const exchange = rig.emulator.exchange;
      const truthPosition = exchange.position('main', c.instrument);
      const truthBalance = exchange.balance('main');
      assert.equal(truthPosition.size.toFixed(), '0.1', 'the venue holds every fill');
      assert.equal(truthPosition.entryPrice?.toFixed(), '59995');
      await rig.account.refresh();
      const position = await eventually(
        `${c.venue}: the projection holds the venue's size`,
        () =>
          rig.account
            .positions({ venue: c.venue, instrument: c.instrument })
            .find((p) => p.size.eq(truthPosition.size)),
        { timeoutMs: 10_000, intervalMs: 50 },
      );
      assert.equal(position.source, 'projection', 'built from exec.fill, not copied from the venue');
      assert.equal(position.size.toFixed(), truthPosition.size.toFixed());
      assert.equal(position.entryPrice?.toFixed(), truthPosition.entryPrice?.toFixed());
      assert.equal(position.fees.toFixed(), truthBalance.feesPaid.toFixed(), 'fees of every fill');
      assert.equal(position.tradingPnl.toFixed(), truthPosition.realizedPnl.toFixed());
      const [balance] = rig.account.balances({ venue: c.venue });
      assert.ok(balance, `${c.venue}: a balance`);
      assert.equal(balance.total.toFixed(), truthBalance.walletBalance.toFixed());
      assert.equal(balance.equity.toFixed(), truthBalance.equity.toFixed());
      assert.equal(balance.available.toFixed(), truthBalance.available.toFixed());
      // No open order left at the venue or in execution.
      assert.deepEqual(exchange.openOrders('main'), []);
    });
  }
});
