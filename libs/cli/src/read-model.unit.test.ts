/**
 * One operator read model: for the same service answers, `perpmesh <command> --json` and
 * the gateway's API (what the dashboard renders) give the same rows, field by field.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import {
  type GetBalancesResponse,
  type GetFundingRatesResponse,
  type GetPositionsResponse,
  type GetVenueReadinessResponse,
  type GetVenueStatusResponse,
  type ListOpenOrdersResponse,
  OrderStatus,
  OrderType,
  PositionSide,
  Side,
  StateSource,
  TimeInForce,
} from '@perpmesh/contracts';
import { balancesView, fundingMatrix, ordersView, positionsView, venuesView } from '@perpmesh/gateway';
import {
  balanceCommand,
  type CommandIo,
  fundingCommand,
  ordersCommand,
  positionsCommand,
  statusCommand,
} from './commands.js';
import type { OperatorApi } from './operator-api.js';

const balances: GetBalancesResponse = {
  balances: [
    {
      balance: {
        venue: 'paper-lighter',
        account: 'main',
        currency: 'USDC',
        total: '100000',
        available: '90000',
        equity: '100010.5',
        unrealizedPnl: '10.5',
        asOfMs: 1_000,
        source: StateSource.STATE_SOURCE_VENUE,
      },
      stale: false,
      ageMs: 250,
    },
    {
      balance: {
        venue: 'paper',
        account: 'main',
        currency: 'USDC',
        total: '5',
        available: '5',
        equity: '5',
        unrealizedPnl: '0',
        asOfMs: 2_000,
        source: StateSource.STATE_SOURCE_PROJECTION,
      },
      stale: true,
      ageMs: 40_000,
    },
  ],
};

const position = (instrument: string, size: string, mark: string, liq: string) => ({
  position: {
    venue: 'paper',
    account: 'main',
    instrument,
    side: size === '0' ? PositionSide.POSITION_SIDE_FLAT : PositionSide.POSITION_SIDE_SHORT,
    size,
    entryPrice: '60000',
    markPrice: mark,
    unrealizedPnl: '-12.5',
    realizedPnl: '3',
    leverage: '5',
    liquidationPrice: liq,
    asOfMs: 1,
    source: StateSource.STATE_SOURCE_PROJECTION,
  },
  stale: false,
  ageMs: 3,
});
const positions: GetPositionsResponse = {
  positions: [
    position('ETH-USDC-PERP', '2', '3000', '3300'),
    // 1/3 away: more places than either old copy agreed on.
    position('BTC-USDC-PERP', '0.5', '60000', '80000'),
    position('SOL-USDC-PERP', '0', '150', ''),
  ],
};

const order = (clientOrderId: string, createdAtMs: number) => ({
  clientOrderId,
  venueOrderId: `v-${clientOrderId}`,
  venue: 'paper',
  account: 'main',
  instrument: 'BTC-USDC-PERP',
  side: Side.SIDE_SELL,
  type: OrderType.ORDER_TYPE_LIMIT,
  timeInForce: TimeInForce.TIME_IN_FORCE_POST_ONLY,
  price: '70000',
  size: '0.1',
  filledSize: '0.05',
  averageFillPrice: '70000',
  status: OrderStatus.ORDER_STATUS_PARTIALLY_FILLED,
  reduceOnly: false,
  reason: '',
  feeTotal: '0.7',
  feeCurrency: 'USDC',
  createdAtMs,
  updatedAtMs: createdAtMs,
  correlationId: 'corr',
});
const orders: ListOpenOrdersResponse = { orders: [order('late', 20), order('early', 10)] };

const fundingRate = (venue: string, r: string, intervalMs: number, ratePerHour = '') => ({
  rate: {
    venue,
    instrument: 'BTC-USDC-PERP',
    rate: r,
    intervalMs,
    ratePerHour,
    nextFundingTimeMs: 5,
    markPrice: '60000',
    indexPrice: '59990',
    asOfMs: 1,
    annualized: '',
  },
  stale: false,
  ageMs: 5,
});
const funding: GetFundingRatesResponse = {
  rates: [fundingRate('paper-lighter', '0.00003', 3_600_000), fundingRate('paper', '0.0001', 8 * 3_600_000)],
};

const venueStatus: GetVenueStatusResponse = {
  venues: [
    {
      venue: 'paper-lighter',
      ready: false,
      components: [
        { component: 'order_books', ready: true, reason: '', sinceMs: 10 },
        { component: 'funding', ready: false, reason: '', sinceMs: 20 },
      ],
      portComponents: [
        {
          venue: 'paper-lighter',
          account: '',
          component: 'markets',
          ready: true,
          reason: 'paper-lighter: 2 instruments listed',
          informational: false,
          sinceMs: 5,
        },
      ],
      emulated: false,
    },
    {
      venue: 'paper',
      ready: true,
      components: [{ component: 'symbols', ready: true, reason: '', sinceMs: 5 }],
      portComponents: [],
      emulated: true,
    },
  ],
};

const venueReadiness: GetVenueReadinessResponse = {
  components: [
    {
      venue: 'paper',
      account: 'main',
      component: 'auth token',
      ready: true,
      reason: 'expires in 3m, renewing',
      informational: false,
      sinceMs: 7,
    },
    {
      venue: 'paper',
      account: 'main',
      component: 'request budget',
      ready: false,
      reason: 'request budget spent; calls wait for the next slot',
      informational: true,
      sinceMs: 8,
    },
  ],
};

const api = {
  address: () => '127.0.0.1:1',
  health: async () => ({ health: 'SERVING' }),
  getVenueStatus: async () => venueStatus,
  getBalances: async () => balances,
  getVenueReadiness: async () => venueReadiness,
  getExecutionVenueReadiness: async () => ({
    components: [{ ...venueReadiness.components[0]!, component: 'dead-man switch', reason: 'armed, 60 s' }],
  }),
  getPositions: async () => positions,
  listOpenOrders: async () => orders,
  getFundingRates: async () => funding,
} as unknown as OperatorApi;

/** What `perpmesh <command> --json` prints. */
async function cliJson(
  run: (io: CommandIo) => Promise<number>,
  exitCode = 0,
): Promise<Record<string, Record<string, unknown>[]>> {
  let text = '';
  const out = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  assert.equal(
    await run({ out, err: new Writable({ write: (_c, _e, done) => done() }), confirm: undefined }),
    exitCode,
  );
  return JSON.parse(text);
}

/** What the gateway's HTTP API sends (JSON over the wire). */
const overHttp = (value: unknown) => JSON.parse(JSON.stringify(value));

const json = { json: true };
const now = () => 1_000;

describe('the CLI and the dashboard render one read model', () => {
  test('balances: same rows, same fields, same order', async () => {
    const cli = await cliJson((io) => balanceCommand(api, json, io));
    assert.deepEqual(cli.balances, overHttp(balancesView(balances)));
    assert.deepEqual(
      cli.balances!.map((b) => [b.venue, b.source, b.ageMs, b.stale]),
      [
        ['paper', 'projection', 40_000, true],
        ['paper-lighter', 'venue', 250, false],
      ],
    );
  });

  test('positions: uPnL and liquidation distance (8 places) agree; flat ones left out', async () => {
    const cli = await cliJson((io) => positionsCommand(api, json, io));
    assert.deepEqual(cli.positions, overHttp(positionsView(positions)));
    assert.deepEqual(
      cli.positions!.map((p) => [
        p.instrument,
        p.unrealizedPnl,
        p.liquidationDistance,
        p.liquidationDistancePct,
      ]),
      [
        ['BTC-USDC-PERP', '-12.5', '0.33333333', '33.33'],
        ['ETH-USDC-PERP', '-12.5', '0.1', '10.00'],
      ],
    );
    const all = await cliJson((io) => positionsCommand(api, { json: true, all: true }, io));
    const flat = all.positions!.find((p) => p.instrument === 'SOL-USDC-PERP');
    assert.deepEqual([flat?.side, flat?.liquidationDistance], ['flat', '']);
  });

  test('orders: enums as words, oldest first', async () => {
    const cli = await cliJson((io) => ordersCommand(api, json, io, now));
    assert.deepEqual(cli.orders, overHttp(ordersView(orders)));
    assert.deepEqual(
      cli.orders!.map((o) => [o.clientOrderId, o.side, o.timeInForce, o.status]),
      [
        ['early', 'sell', 'post_only', 'partially_filled'],
        ['late', 'sell', 'post_only', 'partially_filled'],
      ],
    );
  });

  test('funding: per hour and annualized, derived from rate and interval when the service gave none', async () => {
    const cli = await cliJson((io) => fundingCommand(api, json, io, now));
    assert.deepEqual(cli.rates, overHttp(fundingMatrix(funding).cells));
    assert.deepEqual(
      cli.rates!.map((r) => [r.venue, r.ratePerHour, r.annualized, r.annualizedPct, r.indexPrice]),
      [
        ['paper', '0.0000125', '0.1095', '10.95', '59990'],
        ['paper-lighter', '0.00003', '0.2628', '26.28', '59990'],
      ],
    );
  });

  test('venue readiness: status --json and the dashboard show the same venues, every component, emulated', async () => {
    // Not ready (funding; stale balances), so the exit code says FAILED; the rows are what is compared.
    const cli = (await cliJson((io) => statusCommand(api, json, io, now), 1)) as unknown as {
      venues: unknown[];
      emulatedVenues: string[];
    };
    const execution = await api.getExecutionVenueReadiness({});
    const dashboard = venuesView(venueStatus, balances, { account: venueReadiness, execution });
    assert.deepEqual(cli.venues, overHttp(dashboard));
    assert.deepEqual(cli.emulatedVenues, ['paper']);
    const paper = dashboard.find((v) => v.venue === 'paper')!;
    assert.equal(paper.emulated, true);
    assert.equal(dashboard.find((v) => v.venue === 'paper-lighter')!.emulated, false);
    assert.deepEqual(
      paper.components
        .filter((c) => c.port)
        .map((c) => [c.name, c.service, c.ready, c.reason, c.informational]),
      [
        ['main: auth token', 'account', true, 'expires in 3m, renewing', false],
        [
          'main: request budget',
          'account',
          false,
          'request budget spent; calls wait for the next slot',
          true,
        ],
        ['main: dead-man switch', 'execution', true, 'armed, 60 s', false],
      ],
    );
    const lighter = dashboard.find((v) => v.venue === 'paper-lighter')!;
    assert.equal(
      lighter.components.find((c) => c.name === 'funding')?.reason,
      'funding: not ready (no reason given)',
    );
    assert.equal(lighter.components.find((c) => c.name === 'markets')?.service, 'market-data');
  });
});
