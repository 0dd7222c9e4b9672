import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Decimal, ValidationError } from '@perpmesh/core';
import type { ParseContext } from '../ccxt/profile.js';
import { hyperliquidProfile as profile } from './profile.js';

const hyperliquidCloid = (id: string) => profile.clientOrderIds.encode(id);

const ctx: ParseContext = {
  contractSize: () => new Decimal(1),
  venue: 'hyperliquid',
  settleAsset: 'USDC',
  instrumentOfVenueSymbol: (s) => (s === 'BTC' ? 'BTC-USDC-PERP' : undefined),
  ourClientId: (cloid) => (cloid === '0x0123456789abcdef0123456789abcdef' ? 'ours-1' : cloid),
};

test('cloid: the shared codec (short ids packed, long ones hashed), always the same', () => {
  assert.equal(hyperliquidCloid('ab'), '0x02616200000000000000000000000000');
  assert.equal(profile.clientOrderIds.decode(hyperliquidCloid('arb-1_42')), 'arb-1_42');
  const a = hyperliquidCloid('0190f1c2-7a3b-7cde-8f01-23456789abcd');
  assert.match(a, /^0x[0-9a-f]{32}$/);
  assert.equal(hyperliquidCloid('0190f1c2-7a3b-7cde-8f01-23456789abcd'), a);
  assert.notEqual(hyperliquidCloid('0190f1c2-7a3b-7cde-8f01-23456789abce'), a);
});

test('an orderStatus answer reads as ours: filled size from origSz - sz, our client id back', () => {
  const order = profile.parseOrder(
    {
      order: {
        coin: 'BTC',
        side: 'A',
        limitPx: '60000',
        sz: '0.003',
        oid: 77,
        timestamp: 1765000000000,
        origSz: '0.005',
        cloid: '0x0123456789abcdef0123456789abcdef',
        reduceOnly: false,
        orderType: 'Limit',
        tif: 'Alo',
      },
      status: 'open',
      statusTimestamp: 1765000000500,
    },
    ctx,
  );
  assert.equal(order.clientOrderId, 'ours-1');
  assert.equal(order.status, 'partially_filled');
  assert.equal(order.filled.toFixed(), '0.002');
  assert.equal(order.timeInForce, 'post_only');
  assert.equal(order.side, 'sell');
  assert.equal(order.tsEventMs, 1765000000500);
});

test('a fill keeps fee sign and liquidity (crossed = taker); a bad payload names the field', () => {
  const fill = profile.parseFill(
    {
      coin: 'BTC',
      px: '60000.5',
      sz: '0.001',
      side: 'B',
      time: 1,
      oid: 5,
      tid: 9,
      fee: '-0.0012',
      feeToken: 'USDC',
      crossed: false,
    },
    ctx,
  );
  assert.equal(fill.fee.toFixed(), '-0.0012');
  assert.equal(fill.liquidity, 'maker');
  assert.equal(fill.clientOrderId, undefined);
  assert.throws(
    () =>
      profile.parseFill(
        { coin: 'BTC', px: null, sz: '1', side: 'B', time: 1, oid: 5, tid: 9, fee: '0' },
        ctx,
      ),
    (e: unknown) => e instanceof ValidationError && /px/.test(e.message),
  );
});

test("a fill carrying `liquidation` is the venue's: origin liquidation; an ordinary one has none", () => {
  const row = {
    coin: 'BTC',
    px: '50000',
    sz: '0.1',
    side: 'A',
    time: 1,
    oid: 6,
    tid: 10,
    fee: '0',
    crossed: true,
  };
  const liquidation = profile.parseFill(
    { ...row, liquidation: { liquidatedUser: null, markPx: '50000', method: 'market' } },
    ctx,
  );
  assert.equal(liquidation.origin, 'liquidation');
  assert.equal(profile.parseFill(row, ctx).origin, undefined);
});

test('FOK is refused before the venue: Hyperliquid has Gtc, Ioc and Alo only', () => {
  assert.throws(
    () => profile.orderParams({ clientOrderId: 'x', type: 'limit', timeInForce: 'fok', reduceOnly: false }),
    /fok is not offered/,
  );
  assert.deepEqual(
    profile.orderParams({ clientOrderId: '0xab', type: 'limit', timeInForce: 'post_only', reduceOnly: true }),
    {
      clientOrderId: '0xab',
      timeInForce: 'Alo',
      reduceOnly: true,
    },
  );
});
