/** Extended payloads (test_data/, in the venue's shapes) -> the port's types. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Decimal, ValidationError } from '@perpmesh/core';
import { extendedEndpoints } from './kind.js';
import {
  type ExtendedParseContext,
  extendedMarketName,
  instrumentOfMarket,
  okData,
  type PayloadRow,
  parseBalance,
  parseFill,
  parseFunding,
  parseFundingPayment,
  parseLevels,
  parseMarket,
  parseOrder,
  parsePosition,
  zeroBalance,
} from './parse.js';
import { settlementNonce } from './port.js';

const load = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./test_data/${name}.json`, import.meta.url), 'utf8'));
const rows = (name: string) => okData(load(name), name) as PayloadRow[];

const BTC = 'BTC-USDC-PERP';
const ctx: ExtendedParseContext = {
  instrumentOf: (market) => (market === 'BTC-USD' ? BTC : undefined),
  ourClientId: (externalId) => externalId,
};

describe('extended parse', () => {
  test('market names: BTC-USD is our BTC-USDC-PERP, and back; anything else is named', () => {
    assert.equal(extendedMarketName(BTC), 'BTC-USD');
    assert.equal(instrumentOfMarket('ETH-USD'), 'ETH-USDC-PERP');
    assert.throws(() => extendedMarketName('BTC-USDT-PERP'), ValidationError);
    assert.throws(() => instrumentOfMarket('BTC'), ValidationError);
  });

  test('a market: rules, the hourly interval, the given fees and the l2Config the order is signed over', () => {
    const [row] = rows('markets');
    const fees = { makerFeeRate: new Decimal(0), takerFeeRate: new Decimal('0.00025') };
    const { market, l2Config } = parseMarket(row as PayloadRow, fees);
    assert.equal(market.instrument, BTC);
    assert.equal(market.tickSize.toFixed(), '1');
    assert.equal(market.lotSize.toFixed(), '0.00001');
    assert.equal(market.minSize.toFixed(), '0.0001');
    assert.equal(market.maxLeverage.toFixed(), '50');
    assert.equal(market.minNotional.toFixed(), '0');
    assert.equal(market.fundingIntervalMs, 3_600_000);
    assert.equal(market.takerFeeRate.toFixed(), '0.00025');
    assert.equal(market.settle, 'USDC');
    assert.deepEqual(l2Config, {
      collateralId: '0x1',
      syntheticId: '0x4254432d3600000000000000000000',
      syntheticResolution: '1000000',
      collateralResolution: '1000000',
    });
  });

  test('funding from marketStats: the hour rate, nextFundingRate is the next funding TIME', () => {
    const [row] = rows('markets');
    const f = parseFunding(BTC, (row as PayloadRow).marketStats as PayloadRow, 5);
    assert.equal(f.rate.toFixed(), '0.000013');
    assert.equal(f.intervalMs, 3_600_000);
    assert.equal(f.nextFundingTimeMs, 1777442400000);
    assert.equal(f.markPrice.toFixed(), '77259.680250000004');
    assert.equal(f.tsEventMs, 5);
  });

  test('book levels: REST {price, qty}; stream {p, c} where c is the new size (q the change)', () => {
    const [snapshot, delta] = load('orderbook-frames') as [PayloadRow, PayloadRow];
    const snap = parseLevels((snapshot.data as PayloadRow).b, 'b');
    assert.equal(snap[0]?.size.toFixed(), '0.1');
    const changed = parseLevels((delta.data as PayloadRow).b, 'b');
    assert.equal(changed[0]?.size.toFixed(), '0.06');
    assert.equal(parseLevels([{ price: '1', qty: '2' }], 'bid')[0]?.size.toFixed(), '2');
  });

  test('balance: user/balance; the 404 zero is explicit, with its time', () => {
    const b = parseBalance(okData(load('balance'), 'balance') as PayloadRow, 7);
    assert.equal(b.asset, 'USDC');
    assert.equal(b.total.toFixed(), '13500');
    assert.equal(b.equity.toFixed(), '12000');
    assert.equal(b.available.toFixed(), '1200');
    assert.equal(b.unrealizedPnl.toFixed(), '-10');
    const zero = zeroBalance(42);
    assert.equal(zero.total.toFixed(), '0');
    assert.equal(zero.equity.toFixed(), '0');
    assert.equal(zero.tsEventMs, 42);
  });

  test('a short position: signed size, entry, mark, uPnL, liquidation price, leverage', () => {
    const [row] = rows('positions');
    const p = parsePosition(row as PayloadRow, ctx, 0);
    assert.equal(p.size.toFixed(), '-0.1');
    assert.equal(p.entryPrice.toFixed(), '39000');
    assert.equal(p.markPrice.toFixed(), '40000');
    assert.equal(p.unrealizedPnl.toFixed(), '-100');
    assert.equal(p.liquidationPrice?.toFixed(), '42200');
    assert.equal(p.leverage.toFixed(), '10');
    assert.equal(p.tsEventMs, 1701563440000);
    assert.throws(() => parsePosition({ ...row, side: 'FLAT' } as PayloadRow, ctx, 0), /side/);
  });

  test('orders: status, post-only, ids as numbers or text, the venue reason', () => {
    const [open, canceled] = rows('orders');
    const o = parseOrder(open as PayloadRow, ctx);
    assert.equal(o.status, 'partially_filled');
    assert.equal(o.timeInForce, 'post_only');
    assert.equal(o.venueOrderId, '1775511783722512');
    assert.equal(o.clientOrderId, 'strat-1-00042');
    assert.equal(o.filled.toFixed(), '0.1');
    assert.equal(o.avgFillPrice?.toFixed(), '3297');
    const c = parseOrder(canceled as PayloadRow, ctx);
    assert.equal(c.status, 'canceled');
    assert.equal(c.type, 'market');
    assert.equal(c.price, undefined);
    assert.equal(c.avgFillPrice, undefined);
    assert.equal(c.reason, 'cancelled_by_user');
    assert.equal(c.reduceOnly, true);
    assert.throws(() => parseOrder({ ...open, status: 'WEIRD' } as PayloadRow, ctx), /status/);
  });

  test('trades: our order by externalOrderId; a DELEVERAGE trade is venue-made (adl)', () => {
    const [mine, adl] = rows('trades');
    const f = parseFill(mine as PayloadRow, ctx);
    assert.equal(f.externalOrderId, 'strat-1-00042');
    assert.equal(f.origin, undefined);
    assert.equal(f.liquidity, 'taker');
    assert.equal(f.fee.toFixed(), '1.3242');
    assert.equal(f.size.toFixed(), '0.09');
    assert.equal(parseFill(adl as PayloadRow, ctx).origin, 'adl');
  });

  test('funding payments: signed amount, the position side in the size, the payment id', () => {
    const [row] = rows('funding-history');
    const p = parseFundingPayment(row as PayloadRow, ctx);
    assert.equal(p.paymentId, '8341');
    assert.equal(p.amount.toFixed(), '0.0073');
    assert.equal(p.positionSize.toFixed(), '-1.116');
    assert.equal(p.rate.toFixed(), '0.000013');
    assert.equal(p.tsEventMs, 1723147241346);
  });

  test('an answer that is not OK is refused, naming the field', () => {
    assert.throws(() => okData(load('error-signature'), 'POST user/order'), /POST user\/order\.status/);
  });

  test('endpoints: the venue URLs by default, the stream under the REST host of an emulator', () => {
    assert.deepEqual(extendedEndpoints({ testnet: false }), {
      baseUrl: 'https://api.starknet.extended.exchange',
      wsUrl: 'wss://api.starknet.extended.exchange/stream.extended.exchange/v1',
    });
    assert.equal(
      extendedEndpoints({ testnet: true }).baseUrl,
      'https://api.starknet.sepolia.extended.exchange',
    );
    assert.deepEqual(extendedEndpoints({ testnet: false, baseUrl: 'http://127.0.0.1:4400/' }), {
      baseUrl: 'http://127.0.0.1:4400',
      wsUrl: 'ws://127.0.0.1:4400/stream.extended.exchange/v1',
    });
  });

  test('the settlement nonce is a pure function of our client order id, in 1..2^31-1', () => {
    const a = settlementNonce('strat-1-00042');
    assert.equal(a, settlementNonce('strat-1-00042'));
    assert.notEqual(a, settlementNonce('strat-1-00043'));
    assert.ok(a >= 1n && a < 2n ** 31n);
  });
});
