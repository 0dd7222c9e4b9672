import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OrderType, type PlaceOrderRequest, Side, Subjects, TimeInForce } from '@perpmesh/contracts';
import { dec, ValidationError } from '@perpmesh/core';
import type { VenueMarket } from '@perpmesh/venues';
import {
  checkOrderAgainstCapabilities,
  checkOrderAgainstMarket,
  checkOrderLimits,
  DEFAULT_ORDER_LIMITS,
  orderRequestFingerprint,
  placeOrderCommandFromProto,
} from './validation.js';
import { execFilter } from './wire.js';

const market: VenueMarket = {
  instrument: 'BTC-USDC-PERP',
  venueSymbol: 'BTC',
  base: 'BTC',
  quote: 'USDC',
  settle: 'USDC',
  tickSize: dec('0.1'),
  lotSize: dec('0.001'),
  minSize: dec('0.002'),
  minNotional: dec('100'),
  maxLeverage: dec('50'),
  fundingIntervalMs: 3_600_000,
  makerFeeRate: dec('0.0002'),
  takerFeeRate: dec('0.0005'),
};

const good: PlaceOrderRequest = {
  clientOrderId: 'abc-1',
  venue: 'paper',
  account: 'main',
  instrument: 'BTC-USDC-PERP',
  side: Side.SIDE_BUY,
  type: OrderType.ORDER_TYPE_LIMIT,
  timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
  price: '60000.1',
  size: '0.01',
  reduceOnly: false,
  correlationId: '',
};

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err.field;
  }
  assert.fail('no error');
}

const check = (patch: Partial<PlaceOrderRequest>) => () =>
  checkOrderAgainstMarket(placeOrderCommandFromProto({ ...good, ...patch }).request, market);

describe('PlaceOrder validation', () => {
  test('a good limit order passes, decimals exact', () => {
    const cmd = placeOrderCommandFromProto(good);
    checkOrderAgainstMarket(cmd.request, market);
    assert.equal(cmd.request.price?.toFixed(), '60000.1');
    assert.equal(cmd.request.size.toFixed(), '0.01');
    assert.equal(cmd.request.timeInForce, 'gtc');
  });

  test('every bad field is named by its proto name', () => {
    assert.equal(fieldOf(check({ clientOrderId: '' })), 'client_order_id');
    assert.equal(fieldOf(check({ clientOrderId: 'x'.repeat(37) })), 'client_order_id');
    assert.equal(fieldOf(check({ venue: '' })), 'venue');
    assert.equal(fieldOf(check({ account: 'a.b' })), 'account');
    assert.equal(fieldOf(check({ instrument: 'BTC/USDC' })), 'instrument');
    assert.equal(fieldOf(check({ side: Side.SIDE_UNSPECIFIED })), 'side');
    assert.equal(fieldOf(check({ type: OrderType.ORDER_TYPE_UNSPECIFIED })), 'type');
    assert.equal(fieldOf(check({ size: '' })), 'size');
    assert.equal(fieldOf(check({ size: 'abc' })), 'size');
    assert.equal(fieldOf(check({ size: '-0.01' })), 'size');
    assert.equal(fieldOf(check({ size: '0' })), 'size');
    assert.equal(fieldOf(check({ size: '0.0105' })), 'size'); // off lot
    assert.equal(fieldOf(check({ size: '0.001' })), 'size'); // below min size
    assert.equal(fieldOf(check({ size: '0.002', price: '100' })), 'size'); // below min notional
    assert.equal(fieldOf(check({ price: '' })), 'price');
    assert.equal(fieldOf(check({ price: '-1' })), 'price');
    assert.equal(fieldOf(check({ price: '60000.15' })), 'price'); // off tick
    assert.equal(fieldOf(check({ correlationId: 'has space' })), 'correlation_id');
  });

  test('a market rule violation names the rule, the value and the instrument', () => {
    const messageOf = (patch: Partial<PlaceOrderRequest>) => {
      try {
        check(patch)();
      } catch (err) {
        assert.ok(err instanceof ValidationError, String(err));
        return err.message;
      }
      assert.fail('no error');
    };
    assert.match(
      messageOf({ size: '0.0105' }),
      /0\.0105 is not a multiple of the lot size 0\.001 of BTC-USDC-PERP/,
    );
    assert.match(messageOf({ size: '0.001' }), /0\.001 is below the minimum size 0\.002 of BTC-USDC-PERP/);
    assert.match(
      messageOf({ price: '60000.15' }),
      /60000\.15 is not a multiple of the tick size 0\.1 of BTC-USDC-PERP/,
    );
    assert.match(
      messageOf({ size: '0.002', price: '100' }),
      /notional 0\.2 .* is below the minimum 100 of BTC-USDC-PERP/,
    );
    // A market order's notional needs the mark: the venue checks it.
    check({
      type: OrderType.ORDER_TYPE_MARKET,
      price: '',
      timeInForce: TimeInForce.TIME_IN_FORCE_IOC,
      size: '0.002',
    })();
  });

  test('market orders: no price, cannot rest; unspecified time in force defaults by type', () => {
    const market_ = {
      type: OrderType.ORDER_TYPE_MARKET,
      price: '',
      timeInForce: TimeInForce.TIME_IN_FORCE_UNSPECIFIED,
    };
    assert.equal(placeOrderCommandFromProto({ ...good, ...market_ }).request.timeInForce, 'ioc');
    assert.equal(fieldOf(check({ ...market_, price: '60000' })), 'price');
    assert.equal(fieldOf(check({ ...market_, timeInForce: TimeInForce.TIME_IN_FORCE_GTC })), 'time_in_force');
    assert.equal(
      fieldOf(check({ ...market_, timeInForce: TimeInForce.TIME_IN_FORCE_POST_ONLY })),
      'time_in_force',
    );
    assert.equal(
      placeOrderCommandFromProto({ ...good, timeInForce: TimeInForce.TIME_IN_FORCE_UNSPECIFIED }).request
        .timeInForce,
      'gtc',
    );
  });

  test('the fingerprint tells orders apart, not spellings of one decimal', () => {
    const a = placeOrderCommandFromProto(good).request;
    const b = placeOrderCommandFromProto({ ...good, price: '60000.10', size: '0.010' }).request;
    const c = placeOrderCommandFromProto({ ...good, size: '0.02' }).request;
    assert.equal(orderRequestFingerprint(a), orderRequestFingerprint(b));
    assert.notEqual(orderRequestFingerprint(a), orderRequestFingerprint(c));
  });

  test('hostile decimals are refused at parse time, promptly, naming the field (issue 15 #1, #5)', () => {
    const started = Date.now();
    for (const size of ['1e9000000000000000', '1e-9000000000000000', '1e400', '1e40', '9'.repeat(100_000)]) {
      assert.equal(fieldOf(check({ size })), 'size', size.slice(0, 20));
    }
    for (const price of ['1e9000000000000000', '1e400', ' 60000 ', '60000\n', '+60000', '.5', '60000.']) {
      assert.equal(fieldOf(check({ price })), 'price', price);
    }
    for (const size of [' 0.01 ', '0.01\n', '+0.01', '.01', '1.'])
      assert.equal(fieldOf(check({ size })), 'size');
    assert.ok(Date.now() - started < 1_000);
  });

  test('per-market limits: size in lots, price in ticks, notional, price band', () => {
    // 10^9 lots of 0.001 = 10^6; 10^12 ticks of 0.1 = 10^11.
    assert.equal(fieldOf(check({ size: '1000000.001', price: '0.1' })), 'size');
    assert.equal(fieldOf(check({ price: '100000000000.1' })), 'price');
    assert.equal(fieldOf(check({ size: '100000', price: '60000' })), 'size'); // 6e9 notional
    const request = placeOrderCommandFromProto(good).request;
    const band = { ...DEFAULT_ORDER_LIMITS, priceBandFraction: dec('0.1'), referencePrice: dec('50000') };
    assert.equal(
      fieldOf(() => checkOrderAgainstMarket(request, market, band)),
      'price',
    );
    checkOrderAgainstMarket(request, market, { ...band, referencePrice: dec('59000') });
    checkOrderLimits(request, market, DEFAULT_ORDER_LIMITS);
  });

  test('the exec filter covers both exec subjects, under a root', () => {
    assert.equal(execFilter(new Subjects()), 'exec.*.*.*');
    assert.equal(execFilter(new Subjects({ root: 'T_1' })), 'T_1.exec.*.*.*');
  });
});

describe('checkOrderAgainstCapabilities', () => {
  const all = { fok: true, postOnly: true };
  test('a FOK or post-only order to a venue without it is refused naming time_in_force', () => {
    for (const [timeInForce, caps, what] of [
      ['fok', { ...all, fok: false }, /does not support FOK/],
      ['post_only', { ...all, postOnly: false }, /does not support post-only/],
    ] as const) {
      assert.throws(
        () => checkOrderAgainstCapabilities({ venue: 'okx', timeInForce }, caps),
        (e: unknown) => e instanceof ValidationError && e.field === 'time_in_force' && what.test(e.message),
      );
    }
  });

  test('what the venue supports, and GTC / IOC anywhere, pass', () => {
    checkOrderAgainstCapabilities({ venue: 'okx', timeInForce: 'fok' }, all);
    checkOrderAgainstCapabilities({ venue: 'okx', timeInForce: 'post_only' }, all);
    for (const timeInForce of ['gtc', 'ioc'] as const) {
      checkOrderAgainstCapabilities({ venue: 'okx', timeInForce }, { fok: false, postOnly: false });
    }
  });
});
