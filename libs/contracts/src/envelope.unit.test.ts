import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { ValidationError } from '@perpmesh/core';
import {
  decodeEnvelope,
  EnvelopeIdGenerator,
  type EnvelopePayload,
  encodeEnvelope,
  envelopeTypeOf,
  newEnvelope,
  PAYLOAD_CASES,
  type PayloadCase,
  subjectFor,
  validateEnvelope,
} from './envelope.js';
import * as contracts from './index.js';
import {
  AccountDrift,
  Balance,
  BookUpdateKind,
  Envelope,
  Fill,
  FundingPayment,
  FundingRate,
  Liquidity,
  Order,
  OrderBook,
  OrderEvent,
  OrderEventKind,
  OrderStatus,
  Position,
  PositionSide,
  PublicTrade,
  Side,
  StateSource,
  StrategyDecision,
  VenueStatus,
} from './index.js';
import { Subjects, streamSpecs } from './subjects.js';

/** NATS subject matching with `*` only (stream subjects use no `>`). */
function matches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  return f.length === s.length && f.every((token, i) => token === '*' || token === s[i]);
}

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/** One realistic payload per case, with the subject it must go to. */
const SAMPLES: { [C in PayloadCase]: { payload: EnvelopePayload & { $case: C }; subject: string } } = {
  orderBook: {
    payload: {
      $case: 'orderBook',
      value: OrderBook.fromPartial({
        venue: 'okx',
        instrument: 'BTC-USDT-PERP',
        kind: BookUpdateKind.BOOK_UPDATE_KIND_DELTA,
        sequence: 1_234_567_890_123,
        prevSequence: 1_234_567_890_122,
        bids: [{ price: '64000.1', size: '0.5' }],
        asks: [
          { price: '64000.2', size: '0' },
          { price: '64000.3', size: '1.25' },
        ],
        depth: 50,
        checksum: -1_234_567,
        asOfMs: T0,
      }),
    },
    subject: 'md.book.okx.BTC-USDT-PERP',
  },
  publicTrade: {
    payload: {
      $case: 'publicTrade',
      value: PublicTrade.fromPartial({
        venue: 'binanceusdm',
        instrument: 'ETH-USDT-PERP',
        tradeId: '99',
        price: '3000.01',
        size: '0.001',
        aggressorSide: Side.SIDE_SELL,
        tradedAtMs: T0,
      }),
    },
    subject: 'md.trade.binanceusdm.ETH-USDT-PERP',
  },
  fundingRate: {
    payload: {
      $case: 'fundingRate',
      value: FundingRate.fromPartial({
        venue: 'hyperliquid',
        instrument: 'BTC-USDC-PERP',
        rate: '0.0000125',
        intervalMs: 3_600_000,
        ratePerHour: '0.0000125',
        nextFundingTimeMs: T0 + 3_600_000,
        markPrice: '64000',
        indexPrice: '63990.5',
        asOfMs: T0,
      }),
    },
    subject: 'md.funding.hyperliquid.BTC-USDC-PERP',
  },
  venueStatus: {
    payload: {
      $case: 'venueStatus',
      value: VenueStatus.fromPartial({
        venue: 'paper-lighter',
        ready: false,
        components: [
          { component: 'symbols', ready: true, sinceMs: T0 },
          {
            component: 'order_books',
            ready: false,
            reason: 'BTC-USDC-PERP resyncing after a gap',
            sinceMs: T0,
          },
        ],
      }),
    },
    subject: 'md.status.paper-lighter',
  },
  orderEvent: {
    payload: {
      $case: 'orderEvent',
      value: OrderEvent.fromPartial({
        kind: OrderEventKind.ORDER_EVENT_KIND_PARTIALLY_FILLED,
        order: Order.fromPartial({
          clientOrderId: 'c-1',
          venueOrderId: 'v-1',
          venue: 'okx',
          account: 'main',
          instrument: 'BTC-USDT-PERP',
          side: Side.SIDE_BUY,
          price: '64000',
          size: '1',
          filledSize: '0.4',
          averageFillPrice: '63999.5',
          status: OrderStatus.ORDER_STATUS_PARTIALLY_FILLED,
          createdAtMs: T0,
          updatedAtMs: T0 + 5,
        }),
      }),
    },
    subject: 'exec.order.okx.main',
  },
  fill: {
    payload: {
      $case: 'fill',
      value: Fill.fromPartial({
        venue: 'okx',
        account: 'main',
        instrument: 'BTC-USDT-PERP',
        clientOrderId: 'c-1',
        venueOrderId: 'v-1',
        tradeId: 't-1',
        side: Side.SIDE_BUY,
        price: '63999.5',
        size: '0.4',
        fee: '-0.0012',
        feeCurrency: 'USDT',
        liquidity: Liquidity.LIQUIDITY_MAKER,
        filledAtMs: T0 + 5,
      }),
    },
    subject: 'exec.fill.okx.main',
  },
  balance: {
    payload: {
      $case: 'balance',
      value: Balance.fromPartial({
        venue: 'okx',
        account: 'main',
        currency: 'USDT',
        total: '10000',
        available: '7500.5',
        equity: '10012.25',
        unrealizedPnl: '12.25',
        asOfMs: T0,
        source: StateSource.STATE_SOURCE_PROJECTION,
      }),
    },
    subject: 'acct.balance.okx.main',
  },
  position: {
    payload: {
      $case: 'position',
      value: Position.fromPartial({
        venue: 'okx',
        account: 'main',
        instrument: 'BTC-USDT-PERP',
        side: PositionSide.POSITION_SIDE_LONG,
        size: '0.4',
        entryPrice: '63999.5',
        markPrice: '64030',
        unrealizedPnl: '12.2',
        realizedPnl: '0',
        leverage: '5',
        liquidationPrice: '51200',
        asOfMs: T0,
        source: StateSource.STATE_SOURCE_VENUE,
      }),
    },
    subject: 'acct.position.okx.main.BTC-USDT-PERP',
  },
  fundingPayment: {
    payload: {
      $case: 'fundingPayment',
      value: FundingPayment.fromPartial({
        venue: 'okx',
        account: 'main',
        instrument: 'BTC-USDT-PERP',
        amount: '-0.256',
        currency: 'USDT',
        rate: '0.0001',
        positionSide: PositionSide.POSITION_SIDE_LONG,
        positionSize: '0.04',
        fundingTimeMs: T0,
      }),
    },
    subject: 'acct.funding.okx.main.BTC-USDT-PERP',
  },
  accountDrift: {
    payload: {
      $case: 'accountDrift',
      value: AccountDrift.fromPartial({
        venue: 'okx',
        account: 'main',
        instrument: 'BTC-USDT-PERP',
        field: 'position.size',
        projectedValue: '0.4',
        venueValue: '0.5',
        projectedAsOfMs: T0,
        venueAsOfMs: T0 + 1,
      }),
    },
    subject: 'acct.drift.okx.main',
  },
  strategyDecision: {
    payload: {
      $case: 'strategyDecision',
      value: StrategyDecision.fromPartial({
        strategyId: 'funding-arb-1',
        kind: 'decision',
        decision: 'open',
        reasonCode: 'SPREAD_ABOVE_THRESHOLD',
        inputs: { 'okx.BTC-USDT-PERP.rate_per_hour': '0.0000125', threshold: '0.00001' },
        orderIntents: [{ clientOrderId: 'c-2', venue: 'okx', side: Side.SIDE_SELL, size: '0.1' }],
        dryRun: true,
      }),
    },
    subject: 'strat.funding-arb-1.decision',
  },
};

function envelopeOf(payloadCase: PayloadCase, overrides: Partial<Envelope> = {}): Envelope {
  const env = newEnvelope({
    source: 'test/0',
    tsEventMs: T0,
    tsInitMs: T0 + 3,
    correlationId: 'corr-1',
    causationId: 'cause-1',
    payload: SAMPLES[payloadCase].payload,
  });
  return { ...env, ...overrides };
}

/** The ms timestamp in a UUIDv7's first 48 bits. */
function idTimeMs(id: string): number {
  return Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);
}

function assertField(fn: () => unknown, field: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
    assert.equal(err.field, field);
    return true;
  });
}

describe('envelope', () => {
  test('every payload case has a sample (the table above is complete)', () => {
    assert.deepEqual(Object.keys(SAMPLES).sort(), [...PAYLOAD_CASES].sort());
    assert.equal(PAYLOAD_CASES.length, 11);
  });

  test('encode → decode gives the same envelope, for every payload', () => {
    for (const payloadCase of PAYLOAD_CASES) {
      const env = envelopeOf(payloadCase);
      const bytes = encodeEnvelope(env);
      assert.ok(bytes instanceof Uint8Array);
      assert.deepEqual(decodeEnvelope(bytes), env, payloadCase);
    }
  });

  test('newEnvelope fills the fields from its input and derives the type from the payload', () => {
    const env = envelopeOf('fill');
    assert.equal(env.type, 'perpmesh.v1.Fill');
    assert.equal(env.source, 'test/0');
    assert.equal(env.tsEvent, T0);
    assert.equal(env.tsInit, T0 + 3);
    assert.equal(env.correlationId, 'corr-1');
    assert.equal(env.causationId, 'cause-1');
    assert.equal(idTimeMs(env.id), T0 + 3, 'the id is stamped with tsInitMs');
    const bare = newEnvelope({ source: 's', tsEventMs: T0, tsInitMs: T0, payload: SAMPLES.balance.payload });
    assert.equal(bare.correlationId, '');
    assert.equal(bare.causationId, '');
  });

  test('each type names a generated message of the same name', () => {
    for (const payloadCase of PAYLOAD_CASES) {
      const type = envelopeTypeOf(payloadCase);
      assert.match(type, /^perpmesh\.v1\.[A-Z][A-Za-z]+$/);
      const message = (contracts as Record<string, unknown>)[type.slice('perpmesh.v1.'.length)];
      assert.equal(typeof (message as { encode?: unknown })?.encode, 'function', type);
    }
  });

  test('ids are unique UUIDv7 and sort in creation order, even within a ms or when time steps back', () => {
    const ids = new EnvelopeIdGenerator();
    const times = [T0, T0, T0, T0 + 1, T0 + 1, T0 - 50, T0 + 1, T0 + 2, T0 + 2];
    const made = times.map((t) => ids.next(t));
    assert.deepEqual([...made].sort(), made, 'lexical order is creation order');
    assert.equal(new Set(made).size, made.length);
    assert.equal(idTimeMs(made[0]!), T0);
    assert.equal(idTimeMs(made[3]!), T0 + 1);
    assert.equal(idTimeMs(made[5]!), T0 + 1, 'a step back keeps the last time');
    assert.equal(idTimeMs(made[7]!), T0 + 2);

    const many = Array.from({ length: 5_000 }, () => ids.next(T0 + 10));
    assert.equal(new Set(many).size, many.length);
    assert.deepEqual([...many].sort(), many);
    for (const id of many.slice(0, 10)) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab]/);

    const envs = [T0, T0, T0 + 1].map((t) =>
      newEnvelope({ source: 's', tsEventMs: t, tsInitMs: t, payload: SAMPLES.fill.payload }),
    );
    assert.equal(new Set(envs.map((e) => e.id)).size, 3);
    assert.deepEqual(
      envs.map((e) => e.id),
      [...envs.map((e) => e.id)].sort(),
    );
  });

  test('newEnvelope rejects bad times and a missing payload, naming the input field', () => {
    assertField(() => newEnvelope({ ...baseInput(), tsEventMs: Number.NaN }), 'tsEventMs');
    assertField(() => newEnvelope({ ...baseInput(), tsInitMs: 1.5 }), 'tsInitMs');
    assertField(() => newEnvelope({ ...baseInput(), tsInitMs: -1 }), 'tsInitMs');
    assertField(
      () => newEnvelope({ ...baseInput(), payload: undefined as unknown as EnvelopePayload }),
      'payload',
    );
    assertField(() => newEnvelope({ ...baseInput(), source: '' }), 'envelope.source');
  });

  test('decode rejects what is not a valid envelope, naming the field', () => {
    assertField(() => decodeEnvelope(new Uint8Array([0x0a, 0x05, 0x61])), 'envelope'); // truncated
    const good = envelopeOf('balance');
    const cases: [Partial<Envelope>, string][] = [
      [{ id: 'not-a-uuid' }, 'envelope.id'],
      [{ id: '0190a5f2-1c2d-4e5f-8a7b-1234567890ab' }, 'envelope.id'], // v4, not v7
      [{ type: 'perpmesh.v1.Fill' }, 'envelope.type'],
      [{ source: '' }, 'envelope.source'],
      [{ tsEvent: 0 }, 'envelope.tsEvent'],
      [{ tsInit: 0 }, 'envelope.tsInit'],
      [{ payload: undefined }, 'envelope.payload'],
    ];
    for (const [override, field] of cases) {
      // Encode without validation, as a foreign or buggy producer would.
      const bytes = Envelope.encode({ ...good, ...override }).finish();
      assertField(() => decodeEnvelope(bytes), field);
      assertField(() => encodeEnvelope({ ...good, ...override }), field);
    }
  });

  test('a payload case from a newer producer is reported, not silently dropped', () => {
    const known = Envelope.encode({ ...envelopeOf('fill'), payload: undefined }).finish();
    const unknownField = new BinaryWriter()
      .uint32((99 << 3) | 2)
      .bytes(new Uint8Array([1, 2, 3]))
      .finish();
    const bytes = new Uint8Array([...known, ...unknownField]);
    assert.throws(
      () => decodeEnvelope(bytes),
      (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.equal(err.field, 'envelope.payload');
        assert.ok(err.message.includes('perpmesh.v1.Fill'), 'names the type the producer claimed');
        return true;
      },
    );
  });
});

function baseInput() {
  return { source: 's', tsEventMs: T0, tsInitMs: T0, payload: SAMPLES.fill.payload };
}

describe('subjectFor', () => {
  test('every payload goes to its subject, and that subject is in exactly one stream', () => {
    const specs = streamSpecs();
    for (const payloadCase of PAYLOAD_CASES) {
      const subject = subjectFor(envelopeOf(payloadCase));
      assert.equal(subject, SAMPLES[payloadCase].subject, payloadCase);
      const holders = specs.filter((spec) => spec.subjects.some((filter) => matches(filter, subject)));
      assert.equal(holders.length, 1, `${subject} in one stream`);
    }
  });

  test('uses the given subject space', () => {
    assert.equal(subjectFor(envelopeOf('fill'), new Subjects({ root: 'T_X' })), 'T_X.exec.fill.okx.main');
  });

  test('bad ids in the payload are named by their path in the envelope', () => {
    const env = envelopeOf('fill');
    const badVenue: Envelope = {
      ...env,
      payload: { $case: 'fill', value: { ...SAMPLES.fill.payload.value, venue: 'o.kx' } },
    };
    assertField(() => subjectFor(badVenue), 'envelope.payload.fill.venue');
    const noOrder: Envelope = { ...env, payload: { $case: 'orderEvent', value: OrderEvent.fromPartial({}) } };
    assertField(() => subjectFor(noOrder), 'envelope.payload.orderEvent.order');
    const badAccount: Envelope = {
      ...env,
      payload: {
        $case: 'orderEvent',
        value: OrderEvent.fromPartial({ order: { venue: 'okx', account: 'a b' } }),
      },
    };
    assertField(() => subjectFor(badAccount), 'envelope.payload.orderEvent.order.account');
    const badKind: Envelope = {
      ...env,
      payload: {
        $case: 'strategyDecision',
        value: StrategyDecision.fromPartial({ strategyId: 's', kind: '' }),
      },
    };
    assertField(() => subjectFor(badKind), 'envelope.payload.strategyDecision.kind');
    assertField(() => subjectFor({ ...env, payload: undefined }), 'envelope.payload');
  });

  test('validateEnvelope accepts what newEnvelope makes', () => {
    for (const payloadCase of PAYLOAD_CASES) validateEnvelope(envelopeOf(payloadCase));
  });
});

describe('factEventId', () => {
  test('the same fact gets the same UUIDv7; another fact or time a different one', async () => {
    const { factEventId } = await import('./envelope.js');
    const a = factEventId(1_700_000_000_000, 'fill|paper|main|t-1');
    assert.equal(a, factEventId(1_700_000_000_000, 'fill|paper|main|t-1'));
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(a, factEventId(1_700_000_000_000, 'fill|paper|main|t-2'));
    assert.notEqual(a, factEventId(1_700_000_000_001, 'fill|paper|main|t-1'));
    assert.throws(() => factEventId(1, ''), /factKey/);
  });
});
