import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  FillOrigin,
  newEnvelope,
  OrderStatus,
  OrderType,
  PositionSide,
  Side,
  StateSource,
  TimeInForce,
} from '@perpmesh/contracts';
import { Secret } from '@perpmesh/runtime';
import { authorizeAction, loadOrCreateTokenFile } from './auth.js';
import { ActionRefusedError } from './errors.js';
import { parseTradingStateChange } from './trading-state.js';
import {
  balancesView,
  emulatedVenueIds,
  fundingMatrix,
  liquidationDistance,
  ordersView,
  positionsView,
  venuesView,
} from './views.js';
import { eventJson } from './wire-json.js';

const rate = (
  venue: string,
  instrument: string,
  r: string,
  intervalMs: number,
  ratePerHour = '',
  annualized = '',
) => ({
  rate: {
    venue,
    instrument,
    rate: r,
    intervalMs,
    ratePerHour,
    nextFundingTimeMs: 1,
    markPrice: '100',
    indexPrice: '',
    asOfMs: 1,
    annualized,
  },
  stale: false,
  ageMs: 5,
});

describe('funding matrix', () => {
  test('per-hour and annualized from the raw rate and interval when the service gave none; spreads pick short/long', () => {
    const m = fundingMatrix({
      rates: [
        rate('paper', 'BTC-USDC-PERP', '0.0001', 8 * 3_600_000),
        rate('paper-lighter', 'BTC-USDC-PERP', '0.00003', 3_600_000),
        rate('paper-extended', 'BTC-USDC-PERP', '-0.00001', 3_600_000),
      ],
    });
    assert.deepEqual(m.venues, ['paper', 'paper-extended', 'paper-lighter']);
    const paper = m.cells.find((c) => c.venue === 'paper')!;
    assert.equal(paper.intervalHours, '8');
    assert.equal(paper.ratePerHour, '0.0000125');
    assert.equal(paper.ratePerHourPct, '0.00125');
    assert.equal(paper.annualized, '0.1095');
    assert.equal(paper.annualizedPct, '10.95');
    assert.deepEqual(m.spreads, [
      {
        instrument: 'BTC-USDC-PERP',
        shortVenue: 'paper-lighter',
        longVenue: 'paper-extended',
        spreadPerHour: '0.00004',
        spreadAnnualized: '0.3504',
        spreadAnnualizedPct: '35.04',
      },
    ]);
  });

  test("the service's own per-hour and annualized win; a stale rate is shown but left out of spreads", () => {
    const stale = { ...rate('b', 'X-USDC-PERP', '0.5', 3_600_000), stale: true };
    const m = fundingMatrix({
      rates: [rate('a', 'X-USDC-PERP', '0.0008', 8 * 3_600_000, '0.0001', '0.876'), stale],
    });
    assert.equal(m.cells.find((c) => c.venue === 'a')!.ratePerHour, '0.0001');
    assert.equal(m.cells.length, 2);
    assert.deepEqual(m.spreads, []);
  });
});

describe('positions, balances, orders, venues', () => {
  test('liquidation distance is |liq - mark| / mark, unknown when a price is missing', () => {
    assert.equal(liquidationDistance('100', '80')?.toFixed(), '0.2');
    assert.equal(liquidationDistance('100', '125')?.toFixed(), '0.25');
    assert.equal(liquidationDistance('', '80'), undefined);
    assert.equal(liquidationDistance('100', ''), undefined);
  });

  test('positions: flat ones dropped, sides as words, distance in percent', () => {
    const position = (size: string) => ({
      position: {
        venue: 'paper',
        account: 'main',
        instrument: 'BTC-USDC-PERP',
        side: PositionSide.POSITION_SIDE_SHORT,
        size,
        entryPrice: '60000',
        markPrice: '60000',
        unrealizedPnl: '0',
        realizedPnl: '0',
        leverage: '5',
        liquidationPrice: '72000',
        asOfMs: 1,
        source: StateSource.STATE_SOURCE_PROJECTION,
      },
      stale: false,
      ageMs: 3,
    });
    const rows = positionsView({ positions: [position('0.5'), position('0')] });
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.side, 'short');
    assert.equal(rows[0]!.liquidationDistancePct, '20.00');
  });

  test('balances keep as-of, age and the stale flag; orders map enums to words', () => {
    const [b] = balancesView({
      balances: [
        {
          balance: {
            venue: 'paper',
            account: 'main',
            currency: 'USDC',
            total: '100000',
            available: '90000',
            equity: '100010',
            unrealizedPnl: '10',
            asOfMs: 1000,
            source: StateSource.STATE_SOURCE_VENUE,
          },
          stale: true,
          ageMs: 20_000,
        },
      ],
    });
    assert.deepEqual(
      { total: b!.total, asOfMs: b!.asOfMs, ageMs: b!.ageMs, stale: b!.stale, source: b!.source },
      { total: '100000', asOfMs: 1000, ageMs: 20_000, stale: true, source: 'venue' },
    );
    const [o] = ordersView({
      orders: [
        {
          clientOrderId: 'c1',
          venueOrderId: 'v1',
          venue: 'paper',
          account: 'main',
          instrument: 'BTC-USDC-PERP',
          side: Side.SIDE_SELL,
          type: OrderType.ORDER_TYPE_LIMIT,
          timeInForce: TimeInForce.TIME_IN_FORCE_POST_ONLY,
          price: '70000',
          size: '0.1',
          filledSize: '0',
          averageFillPrice: '',
          status: OrderStatus.ORDER_STATUS_PARTIALLY_FILLED,
          reduceOnly: false,
          reason: '',
          feeTotal: '0',
          feeCurrency: '',
          createdAtMs: 1,
          updatedAtMs: 1,
          correlationId: '',
        },
      ],
    });
    assert.deepEqual(
      [o!.side, o!.type, o!.timeInForce, o!.status],
      ['sell', 'limit', 'post_only', 'partially_filled'],
    );
  });

  test('venues: a stale account and an unreachable service are not ready, with the reason', () => {
    const status = {
      venues: [
        {
          venue: 'paper',
          ready: true,
          components: [{ component: 'order_books', ready: true, reason: '', sinceMs: 1 }],
          portComponents: [],
          emulated: false,
        },
      ],
    };
    const stale = {
      balances: [
        {
          balance: {
            venue: 'paper',
            account: 'main',
            currency: 'USDC',
            total: '1',
            available: '1',
            equity: '1',
            unrealizedPnl: '0',
            asOfMs: 1,
            source: StateSource.STATE_SOURCE_VENUE,
          },
          stale: true,
          ageMs: 30_000,
        },
      ],
    };
    const [v] = venuesView(status, stale);
    assert.equal(v!.ready, false);
    assert.match(v!.components.find((c) => c.name === 'main/balances')!.reason!, /stale.*30\.0 s/);
    const [down] = venuesView(
      status,
      new Error('account service at 127.0.0.1:1: UNAVAILABLE: no connection'),
    );
    assert.equal(down!.ready, false);
    assert.match(down!.components.find((c) => c.service === 'account')!.reason!, /UNAVAILABLE/);
  });
});

describe('venue readiness: every port component, emulated', () => {
  const portComponent = (account: string, component: string, ready: boolean, informational = false) => ({
    venue: 'lighter',
    account,
    component,
    ready,
    reason: ready ? `${component}: fine` : `${component}: broken`,
    informational,
    sinceMs: 3,
  });
  const status = (emulated: boolean, ...ports: ReturnType<typeof portComponent>[]) => ({
    venues: [
      {
        venue: 'lighter',
        ready: true,
        components: [{ component: 'order_books', ready: true, reason: '', sinceMs: 1 }],
        portComponents: ports,
        emulated,
      },
    ],
  });
  const noBalances = { balances: [] };

  test('a port component that decides readiness flips the venue; an informational one is only shown', () => {
    const [informational] = venuesView(status(true, portComponent('', 'markets', true)), noBalances, {
      account: { components: [portComponent('main', 'request budget', false, true)] },
    });
    assert.equal(informational!.ready, true);
    assert.equal(informational!.emulated, true);
    assert.deepEqual(
      informational!.components.map((c) => [c.name, c.service, c.ready, c.reason, c.informational, c.port]),
      [
        ['order_books', 'market-data', true, null, false, undefined],
        ['markets', 'market-data', true, 'markets: fine', false, { account: '', component: 'markets' }],
        [
          'main: request budget',
          'account',
          false,
          'request budget: broken',
          true,
          { account: 'main', component: 'request budget' },
        ],
      ],
    );
    const [blocked] = venuesView(status(false), noBalances, {
      account: { components: [portComponent('main', 'auth token', false)] },
    });
    assert.equal(blocked!.ready, false);
    assert.equal(blocked!.emulated, false);
    assert.deepEqual(emulatedVenueIds([informational!, blocked!]), ['lighter']);
  });

  test('emulated is unknown (null) when market data did not answer; an account error is a component', () => {
    const [v] = venuesView(new Error('market-data down'), noBalances, {
      account: new Error('account: UNIMPLEMENTED'),
      execution: new Error('execution: UNAVAILABLE'),
    });
    assert.equal(v!.emulated, null);
    assert.deepEqual(
      v!.components.map((c) => [c.name, c.service, c.ready]),
      [
        ['market-data', 'market-data', false],
        ['account venue ports', 'account', false],
        ['execution venue ports', 'execution', false],
      ],
    );
  });

  test("execution's port components: one row where it agrees with the account's, its own where not", () => {
    const [v] = venuesView(status(false), noBalances, {
      account: { components: [portComponent('main', 'link', true), portComponent('main', 'nonces', true)] },
      execution: {
        components: [
          portComponent('main', 'link', true),
          portComponent('main', 'nonces', false),
          portComponent('main', 'dead-man switch', true),
        ],
      },
    });
    assert.deepEqual(
      v!.components.filter((c) => c.port).map((c) => [c.name, c.service, c.ready]),
      [
        ['main: link', 'account', true],
        ['main: nonces', 'account', true],
        ['main: nonces', 'execution', false],
        ['main: dead-man switch', 'execution', true],
      ],
    );
    assert.equal(v!.ready, false, "execution's nonces out of step decide readiness");
  });
});

describe('actions need the token', () => {
  const token = new Secret('s3cret-token-value', 'test');
  const refused = (fn: () => void, status: number) =>
    assert.throws(fn, (err: unknown) => err instanceof ActionRefusedError && err.status === status);

  test('with a token configured: missing, malformed or wrong → 401; right → allowed', () => {
    const policy = { token: () => token, allowUnauthenticated: false };
    refused(() => authorizeAction(policy, undefined), 401);
    refused(() => authorizeAction(policy, 's3cret-token-value'), 401);
    refused(() => authorizeAction(policy, 'Bearer nope'), 401);
    authorizeAction(policy, 'Bearer s3cret-token-value');
    // The same reading as the gRPC servers (libs/runtime bearerToken): any case, tabs, padding.
    authorizeAction(policy, '  bearer\ts3cret-token-value ');
    refused(() => authorizeAction(policy, 'Bearer '), 401);
    // Even when unauthenticated actions are allowed, a configured token is still demanded.
    refused(() => authorizeAction({ token: () => token, allowUnauthenticated: true }, undefined), 401);
  });

  test('without a token: refused (403) unless allowUnauthenticatedActions', () => {
    refused(() => authorizeAction({ token: () => undefined, allowUnauthenticated: false }, 'Bearer x'), 403);
    authorizeAction({ token: () => undefined, allowUnauthenticated: true }, undefined);
  });

  test('the generated token file is owner-only and kept across restarts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-token-'));
    try {
      const path = join(dir, 'sub', 'gateway-token');
      const first = loadOrCreateTokenFile(path);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.ok(first.reveal().length >= 40);
      assert.equal(String(first), '[REDACTED]');
      assert.equal(loadOrCreateTokenFile(path).reveal(), first.reveal());
      writeFileSync(path, 'short\n');
      const rotated = loadOrCreateTokenFile(path);
      assert.notEqual(rotated.reveal(), 'short', 'a too-short token is replaced');
      assert.equal(readFileSync(path, 'utf8').trim(), rotated.reveal());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('trading state: one of HALTED/REDUCING/ACTIVE, the field named otherwise', () => {
    assert.deepEqual(parseTradingStateChange({ state: 'REDUCING' }), {
      state: 'REDUCING',
      reason: 'operator via gateway',
    });
    assert.throws(
      () => parseTradingStateChange({ state: 'halted' }),
      /state: must be one of HALTED, REDUCING, ACTIVE/,
    );
    assert.throws(() => parseTradingStateChange({ state: 'ACTIVE', reason: 5 }), /reason: must be text/);
  });
});

describe('events as JSON', () => {
  test('every field present (defaults too), decimals as strings, enums as words', () => {
    const envelope = newEnvelope({
      source: 'test',
      tsEventMs: 1_700_000_000_000,
      tsInitMs: 1_700_000_000_001,
      payload: {
        $case: 'fill',
        value: {
          venue: 'paper',
          account: 'main',
          instrument: 'BTC-USDC-PERP',
          clientOrderId: 'c1',
          venueOrderId: 'v1',
          tradeId: 't1',
          side: Side.SIDE_BUY,
          price: '60000.10',
          size: '0.01',
          fee: '0',
          feeCurrency: 'USDC',
          liquidity: 2,
          filledAtMs: 1_700_000_000_000,
          origin: FillOrigin.FILL_ORIGIN_ORDER,
        },
      },
    });
    const json = eventJson(envelope, 'exec.fill.paper.main', 7)!;
    assert.equal(json.kind, 'fill');
    assert.equal(json.seq, 7);
    assert.equal(json.payload.price, '60000.10');
    assert.equal(json.payload.fee, '0', 'a default value is still there');
    assert.equal(json.payload.side, 'buy');
    assert.equal(json.payload.liquidity, 'taker');
  });
});
