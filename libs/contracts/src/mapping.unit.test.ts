import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal, ValidationError } from '@perpmesh/core';
import {
  Liquidity as ProtoLiquidity,
  OrderStatus as ProtoOrderStatus,
  OrderType as ProtoOrderType,
  PositionSide as ProtoPositionSide,
  Side as ProtoSide,
  TimeInForce as ProtoTimeInForce,
} from './gen/perpmesh/v1/common.js';
import { OrderEventKind as ProtoOrderEventKind } from './gen/perpmesh/v1/execution.js';
import {
  decimalFromWire,
  decimalToWire,
  type EnumMapping,
  LIQUIDITY,
  ORDER_EVENT_KIND,
  ORDER_STATUS,
  ORDER_TYPE,
  optionalDecimalFromWire,
  optionalDecimalToWire,
  POSITION_SIDE,
  SIDE,
  sideFromProto,
  TIME_IN_FORCE,
  timeInForceFromProto,
} from './mapping.js';

/** The numeric values of a generated enum, without UNSPECIFIED (0) and UNRECOGNIZED (-1). */
function meaningfulValues(protoEnum: Record<string, string | number>): number[] {
  return Object.values(protoEnum).filter((v): v is number => typeof v === 'number' && v > 0);
}

type AnyMapping = EnumMapping<string, number>;
/** The table below mixes mappings of different enums; the test treats them alike. */
const loose = <D extends string, P extends number>(m: EnumMapping<D, P>): AnyMapping =>
  m as unknown as AnyMapping;

const MAPPINGS: [string, AnyMapping, Record<string, string | number>, string[]][] = [
  ['Side', loose(SIDE), ProtoSide, ['buy', 'sell']],
  ['OrderType', loose(ORDER_TYPE), ProtoOrderType, ['limit', 'market']],
  ['TimeInForce', loose(TIME_IN_FORCE), ProtoTimeInForce, ['gtc', 'ioc', 'fok', 'post_only']],
  [
    'OrderStatus',
    loose(ORDER_STATUS),
    ProtoOrderStatus,
    [
      'submitted',
      'accepted',
      'rejected',
      'partially_filled',
      'filled',
      'cancel_requested',
      'canceled',
      'expired',
    ],
  ],
  [
    'OrderEventKind',
    loose(ORDER_EVENT_KIND),
    ProtoOrderEventKind,
    [
      'submitted',
      'accepted',
      'rejected',
      'partially_filled',
      'filled',
      'cancel_requested',
      'canceled',
      'expired',
    ],
  ],
  ['Liquidity', loose(LIQUIDITY), ProtoLiquidity, ['maker', 'taker']],
  ['PositionSide', loose(POSITION_SIDE), ProtoPositionSide, ['long', 'short', 'flat']],
];

describe('enum mapping', () => {
  for (const [name, mapping, protoEnum, domainValues] of MAPPINGS) {
    test(`${name}: every proto value has a domain value and back`, () => {
      const protoValues = meaningfulValues(protoEnum);
      assert.ok(protoValues.length > 0);
      const seen = new Set<string>();
      for (const proto of protoValues) {
        const domain = mapping.fromProto(proto, 'f');
        assert.equal(mapping.toProto(domain), proto, `${name} ${proto}`);
        seen.add(domain);
      }
      assert.equal(seen.size, protoValues.length, 'no two proto values share a domain value');
    });

    test(`${name}: every domain value has a proto value and back`, () => {
      assert.deepEqual(Object.keys(mapping.table).sort(), [...domainValues].sort());
      for (const domain of domainValues) {
        const proto = mapping.toProto(domain);
        assert.ok(proto > 0, `${domain} maps to a real value, not UNSPECIFIED`);
        assert.equal(mapping.fromProto(proto, 'f'), domain);
      }
      assert.throws(() => mapping.toProto('nonsense'), { name: 'ValidationError' });
    });

    test(`${name}: UNSPECIFIED, UNRECOGNIZED and unknown numbers are rejected naming the field`, () => {
      for (const bad of [0, -1, 99]) {
        assert.throws(
          () => mapping.fromProto(bad, 'order.x'),
          (err: unknown) => {
            assert.ok(err instanceof ValidationError);
            assert.equal(err.field, 'order.x');
            assert.ok(err.message.includes(String(bad)));
            return true;
          },
        );
      }
    });
  }

  test('named helpers default the field name and accept a path', () => {
    assert.equal(sideFromProto(ProtoSide.SIDE_SELL), 'sell');
    assert.throws(() => sideFromProto(ProtoSide.SIDE_UNSPECIFIED), {
      name: 'ValidationError',
      field: 'side',
    });
    assert.throws(() => timeInForceFromProto(ProtoTimeInForce.UNRECOGNIZED, 'request.timeInForce'), {
      name: 'ValidationError',
      field: 'request.timeInForce',
    });
    assert.equal(timeInForceFromProto(ProtoTimeInForce.TIME_IN_FORCE_POST_ONLY), 'post_only');
  });
});

describe('decimal mapping', () => {
  test('wire text round-trips exactly, without floats or exponents', () => {
    for (const text of ['0', '-42', '0.00000001', '123456789012345678.123456789012345678', '0.1']) {
      assert.equal(decimalToWire(decimalFromWire(text, 'x')), text);
    }
    assert.equal(decimalFromWire('0.1', 'x').plus(decimalFromWire('0.2', 'x')).toFixed(), '0.3');
    assert.equal(decimalToWire(new Decimal('1e-10')), '0.0000000001');
    assert.equal(decimalToWire(new Decimal('1.5e21')), '1500000000000000000000');
  });

  test('bad decimal text on the wire names the field and the value', () => {
    for (const bad of ['', 'abc', '1,5', 'NaN', 'Infinity', '0x10', '1.2.3']) {
      assert.throws(
        () => decimalFromWire(bad, 'placeOrder.price'),
        (err: unknown) => {
          assert.ok(err instanceof ValidationError, `expected ValidationError for ${JSON.stringify(bad)}`);
          assert.equal(err.field, 'placeOrder.price');
          assert.ok(err.message.includes(JSON.stringify(bad)), err.message);
          return true;
        },
      );
    }
  });

  test('optional decimals: empty text is unknown', () => {
    assert.equal(optionalDecimalFromWire('', 'position.liquidationPrice'), undefined);
    assert.equal(optionalDecimalFromWire('51200.5', 'position.liquidationPrice')?.toFixed(), '51200.5');
    assert.throws(() => optionalDecimalFromWire('x', 'position.liquidationPrice'), {
      name: 'ValidationError',
      field: 'position.liquidationPrice',
    });
    assert.equal(optionalDecimalToWire(undefined), '');
    assert.equal(optionalDecimalToWire(new Decimal('2.50')), '2.5');
  });
});
