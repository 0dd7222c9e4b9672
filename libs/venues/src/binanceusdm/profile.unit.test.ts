import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Decimal, ValidationError } from '@perpmesh/core';
import type { CcxtExchange, ParseContext } from '../ccxt/profile.js';
import { binanceusdmProfile as profile } from './profile.js';

const payload = (name: string) =>
  JSON.parse(readFileSync(new URL(`./test_data/${name}.json`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;

const ctx: ParseContext = {
  contractSize: () => new Decimal(1),
  venue: 'binanceusdm',
  settleAsset: 'USDT',
  ourClientId: (id) => id,
  instrumentOfVenueSymbol: (s) => (s === 'BTCUSDT' ? 'BTC-USDT-PERP' : undefined),
};

describe('binanceusdm profile', () => {
  test('a REST order reads as ours, decimals exact, post-only from GTX', () => {
    const order = profile.parseOrder(payload('order-rest'), ctx);
    assert.equal(order.instrument, 'BTC-USDT-PERP');
    assert.equal(order.clientOrderId, 'ord-7');
    assert.equal(order.status, 'partially_filled');
    assert.equal(order.timeInForce, 'post_only');
    assert.equal(order.side, 'sell');
    assert.equal(order.price?.toFixed(), '60000.1');
    assert.equal(order.size.toFixed(), '0.01');
    assert.equal(order.filled.toFixed(), '0.004');
    assert.equal(order.avgFillPrice?.toFixed(), '60000.05');
    assert.equal(order.tsEventMs, 1765000000123);
  });

  test('ORDER_TRADE_UPDATE reads as an order and as a fill with our client id', () => {
    const event = payload('order-trade-update');
    const order = profile.parseOrder(event, ctx);
    assert.equal(order.filled.toFixed(), '0.007');
    assert.equal(order.clientOrderId, 'ord-7');
    const fill = profile.parseFill(event, ctx);
    assert.equal(fill.tradeId, '987654321');
    assert.equal(fill.clientOrderId, 'ord-7');
    assert.equal(fill.size.toFixed(), '0.003');
    assert.equal(fill.fee.toFixed(), '0.03600006');
    assert.equal(fill.liquidity, 'maker');
  });

  test('a REST trade has no client id (the adapter completes it) and keeps a rebate negative', () => {
    const fill = profile.parseFill(payload('user-trade'), ctx);
    assert.equal(fill.clientOrderId, undefined);
    assert.equal(fill.venueOrderId, '25851813');
    assert.equal(fill.fee.toFixed(), '-0.0781901');
    assert.equal(fill.liquidity, 'taker');
  });

  test('a bad payload names the field; an instrument we do not follow is refused', () => {
    assert.throws(
      () => profile.parseOrder({ ...payload('order-rest'), origQty: null }, ctx),
      (err: unknown) => err instanceof ValidationError && /origQty/.test(err.message),
    );
    assert.throws(
      () => profile.parseOrder({ ...payload('order-rest'), symbol: 'DOGEUSDT' }, ctx),
      /not an instrument we follow/,
    );
  });

  test('order params: our client id as newClientOrderId, no time in force on market orders', () => {
    assert.deepEqual(
      profile.orderParams({ clientOrderId: 'c1', type: 'limit', timeInForce: 'post_only', reduceOnly: true }),
      { newClientOrderId: 'c1', timeInForce: 'GTX', reduceOnly: true },
    );
    assert.deepEqual(
      profile.orderParams({ clientOrderId: 'c2', type: 'market', timeInForce: 'gtc', reduceOnly: false }),
      {
        newClientOrderId: 'c2',
      },
    );
    assert.deepEqual(profile.clientIdParams('c1'), { origClientOrderId: 'c1' });
  });

  test('client ids the venue gives its own orders mark liquidation and ADL; ours mark nothing', () => {
    assert.equal(profile.venueMadeOrigin?.('autoclose-1765000000123'), 'liquidation');
    assert.equal(profile.venueMadeOrigin?.('adl_autoclose-1765000000123'), 'adl');
    assert.equal(profile.venueMadeOrigin?.('ord-7'), undefined);
    assert.equal(profile.clientOrderIds.encode('ord-7'), 'ord-7');
  });

  test('venue codes become stable reject reasons', () => {
    assert.equal(
      profile.rejectReason?.('binanceusdm {"code":-5022,"msg":"Post Only"}'),
      'post_only_would_cross',
    );
    assert.equal(profile.rejectReason?.('binanceusdm {"code":-1022,"msg":"Signature"}'), 'authentication');
    assert.equal(profile.rejectReason?.('no code here'), undefined);
  });

  test('pointAt sends every fapi REST key and the futures websocket to the emulator', () => {
    const exchange = { urls: { api: { ws: { spot: 'wss://x' } } } } as unknown as CcxtExchange;
    profile.pointAt(exchange, {
      testnet: false,
      baseUrl: 'http://127.0.0.1:4100/',
      wsUrl: 'ws://127.0.0.1:4100/ws',
    });
    const api = exchange.urls.api as Record<string, unknown>;
    assert.equal(api.fapiPublic, 'http://127.0.0.1:4100/fapi/v1');
    assert.equal(api.fapiPrivateV2, 'http://127.0.0.1:4100/fapi/v2');
    assert.deepEqual(api.ws, { spot: 'wss://x', future: 'ws://127.0.0.1:4100/ws' });
    assert.equal(profile.ccxtSymbol('BTC-USDT-PERP'), 'BTC/USDT:USDT');
  });
});
