/** The account's proto boundary: payloads in (errors name the field), readings and facts out. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Fill, PositionSide, StateSource, sideToProto } from '@perpmesh/contracts';
import { dec } from '@perpmesh/core';
import type { PositionReading } from './readings.js';
import {
  balanceViewToProto,
  driftToProto,
  fillFromWire,
  fundingFromWire,
  fundingPaymentToProto,
  positionToProto,
  summaryFromProto,
  summaryToProto,
} from './wire.js';

const T0 = Date.UTC(2026, 0, 1);

const fill = (over: Partial<Fill> = {}): Fill =>
  ({
    venue: 'paper',
    account: 'main',
    instrument: 'BTC-USDC-PERP',
    clientOrderId: 'c1',
    venueOrderId: 'v1',
    tradeId: 't1',
    side: sideToProto('sell'),
    price: '100.5',
    size: '0.25',
    fee: '',
    feeCurrency: 'USDC',
    liquidity: 0,
    filledAtMs: 0,
    origin: 0,
    ...over,
  }) as Fill;

describe('payloads in', () => {
  test('a fill: decimals parsed, a missing fee is 0, the envelope time when the fill has none', () => {
    const f = fillFromWire(fill(), T0);
    assert.equal(f.side, 'sell');
    assert.equal(f.price.toFixed(), '100.5');
    assert.equal(f.size.toFixed(), '0.25');
    assert.ok(f.fee.isZero());
    assert.equal(f.tsEventMs, T0);
    assert.equal(fillFromWire(fill({ filledAtMs: T0 + 9 }), T0).tsEventMs, T0 + 9);
  });

  test('a bad fill names the field', () => {
    assert.throws(() => fillFromWire(fill({ tradeId: '' }), T0), /fill\.tradeId/);
    assert.throws(() => fillFromWire(fill({ price: 'abc' }), T0), /fill\.price/);
    assert.throws(() => fillFromWire(fill({ side: 0 as Fill['side'] }), T0), /fill\.side/);
  });

  test('a funding payment needs epoch ms and a decimal amount', () => {
    const base = {
      venue: 'paper',
      account: 'main',
      instrument: 'BTC-USDC-PERP',
      amount: '-1.5',
      currency: 'USDC',
      rate: '0.0001',
      positionSide: 0,
      positionSize: '1',
      markPrice: '',
      fundingTimeMs: T0,
      paymentId: '',
    } as Parameters<typeof fundingFromWire>[0];
    assert.equal(fundingFromWire(base).amount.toFixed(), '-1.5');
    assert.throws(
      () => fundingFromWire({ ...base, fundingTimeMs: 0 }),
      /fundingPayment\.fundingTimeMs.*got 0/,
    );
    assert.throws(() => fundingFromWire({ ...base, amount: 'x' }), /fundingPayment\.amount/);
  });
});

describe('readings and facts out', () => {
  const short: PositionReading = {
    venue: 'paper',
    account: 'main',
    instrument: 'BTC-USDC-PERP',
    side: 'short',
    size: dec('-0.5'),
    entryPrice: dec('100.123456789123'),
    markPrice: undefined,
    unrealizedPnl: dec('1.5'),
    tradingPnl: dec('2'),
    fees: dec('0.1'),
    funding: dec('0'),
    netRealizedPnl: dec('1.9'),
    leverage: undefined,
    liquidationPrice: dec('150'),
    asOfMs: T0,
    ageMs: 10,
    stale: false,
    source: 'projection',
    venueSize: undefined,
  };

  test('a position: unsigned size with its side, trading PnL as realized, the source', () => {
    const p = positionToProto(short);
    assert.equal(p.size, '0.5');
    assert.equal(p.side, PositionSide.POSITION_SIDE_SHORT);
    assert.equal(p.realizedPnl, '2');
    assert.equal(p.markPrice, '');
    assert.equal(p.liquidationPrice, '150');
    assert.equal(p.source, StateSource.STATE_SOURCE_PROJECTION);
  });

  test('a balance view carries staleness and age; the source is the venue', () => {
    const v = balanceViewToProto({
      venue: 'paper',
      account: 'main',
      currency: 'USDC',
      total: dec(1000),
      available: dec(900),
      equity: dec(1001),
      unrealizedPnl: dec(1),
      asOfMs: T0,
      ageMs: 20_000,
      stale: true,
      source: 'venue',
    });
    assert.equal(v.stale, true);
    assert.equal(v.ageMs, 20_000);
    assert.equal(v.balance?.total, '1000');
    assert.equal(v.balance?.source, StateSource.STATE_SOURCE_VENUE);
  });

  test('a summary without an open-orders count says 0; fees and funding are carried', () => {
    const s = summaryToProto({
      venue: 'paper',
      account: 'main',
      currency: 'USDC',
      equity: dec(1),
      available: dec(1),
      unrealizedPnl: dec(0),
      realizedPnl: dec(0),
      fees: dec('0.3'),
      funding: dec('-0.2'),
      openPositions: 0,
      openOrders: undefined,
      asOfMs: T0,
      ageMs: 0,
      stale: false,
    });
    assert.equal(s.openOrders, 0);
    assert.equal(s.fees, '0.3');
    assert.equal(s.funding, '-0.2');
  });

  test('a summary another replica answered reads back as the reading it was (totals sum it)', () => {
    const reading = {
      venue: 'paper',
      account: 'alt',
      currency: 'USDC',
      equity: dec('1000.5'),
      available: dec('900'),
      unrealizedPnl: dec('1.25'),
      realizedPnl: dec('-0.5'),
      fees: dec('0.3'),
      funding: dec('-0.2'),
      openPositions: 1,
      openOrders: 2,
      asOfMs: T0,
      ageMs: 5,
      stale: true,
    };
    const back = summaryFromProto(summaryToProto(reading));
    assert.equal(back.equity.toFixed(), '1000.5');
    assert.equal(back.unrealizedPnl.toFixed(), '1.25');
    assert.equal(back.realizedPnl.toFixed(), '-0.5');
    assert.deepEqual(
      { ...back, equity: 0, available: 0, unrealizedPnl: 0, realizedPnl: 0, fees: 0, funding: 0 },
      { ...reading, equity: 0, available: 0, unrealizedPnl: 0, realizedPnl: 0, fees: 0, funding: 0 },
    );
    assert.throws(() => summaryFromProto({ ...summaryToProto(reading), equity: 'x' }), /equity/);
  });

  test('a funding payment’s side comes from the signed size; drift carries both values', () => {
    const f = fundingPaymentToProto({
      venue: 'paper',
      account: 'main',
      instrument: 'BTC-USDC-PERP',
      amount: dec('0.4'),
      currency: 'USDC',
      rate: dec('0.0001'),
      positionSize: dec('-2'),
      markPrice: undefined,
      fundingTimeMs: T0,
    });
    assert.equal(f.positionSide, PositionSide.POSITION_SIDE_SHORT);
    assert.equal(f.positionSize, '2');
    const d = driftToProto({
      venue: 'paper',
      account: 'main',
      instrument: '',
      currency: 'USDC',
      field: 'balance.total',
      projected: dec(1050),
      venueValue: dec(1250),
      projectedAsOfMs: T0,
      venueAsOfMs: T0 + 1,
    });
    assert.equal(d.projectedValue, '1050');
    assert.equal(d.venueValue, '1250');
  });
});
