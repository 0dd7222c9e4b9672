/**
 * The projectors' evolve functions, without a service or a log: exec.fill / acct.funding
 * messages in, the next projection out; anything else ignored, malformed events reported
 * and skipped (never thrown: that would block the consumer forever).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StoredMessage } from '@perpmesh/bus';
import { type EnvelopePayload, encodeEnvelope, newEnvelope, sideToProto } from '@perpmesh/contracts';
import { emptyFundingProjection, emptyPositionsProjection, positionKey } from './projection.js';
import {
  type AccountProjectionKind,
  accountProjectionNames,
  evolveFunding,
  evolvePositions,
  type ProjectorEvents,
} from './projectors.js';

const T0 = Date.UTC(2026, 0, 1);
const BTC = 'BTC-USDC-PERP';
const KEY = positionKey('paper', 'main', BTC);

let seq = 0;
function message(payload: EnvelopePayload | undefined, data?: Uint8Array): StoredMessage {
  seq++;
  const bytes =
    data ??
    encodeEnvelope(
      newEnvelope({ source: 'test', tsEventMs: T0, tsInitMs: T0, payload: payload as EnvelopePayload }),
    );
  return {
    stream: 'EXEC',
    seq,
    subject: 'test',
    id: `m${seq}`,
    data: bytes,
    timestampMs: T0,
    redelivered: false,
    deliveryCount: 1,
  } as StoredMessage;
}

function fill(tradeId: string, size: string, price = '100'): EnvelopePayload {
  return {
    $case: 'fill',
    value: {
      venue: 'paper',
      account: 'main',
      instrument: BTC,
      clientOrderId: 'c1',
      venueOrderId: 'v1',
      tradeId,
      side: sideToProto('buy'),
      price,
      size,
      fee: '0.1',
      feeCurrency: 'USDC',
      liquidity: 0,
      filledAtMs: T0 + 5,
      origin: 0,
    },
  } as EnvelopePayload;
}

function funding(amount: string, fundingTimeMs = T0 + 60_000): EnvelopePayload {
  return {
    $case: 'fundingPayment',
    value: {
      venue: 'paper',
      account: 'main',
      instrument: BTC,
      amount,
      currency: 'USDC',
      rate: '0.0001',
      positionSide: 0,
      positionSize: '1',
      markPrice: '100',
      fundingTimeMs,
      paymentId: '',
    },
  } as EnvelopePayload;
}

function recorder() {
  const applied: AccountProjectionKind[] = [];
  const rejected: Array<{ projection: AccountProjectionKind; err: string }> = [];
  const events: ProjectorEvents = {
    applied: (p) => applied.push(p),
    rejected: (_msg, projection, err) => rejected.push({ projection, err: String((err as Error).message) }),
  };
  return { applied, rejected, events };
}

describe('evolvePositions', () => {
  test('an exec.fill moves the position; the same trade id again does not', () => {
    const { applied, rejected, events } = recorder();
    let s = evolvePositions(emptyPositionsProjection(), message(fill('t1', '1')), events);
    s = evolvePositions(s, message(fill('t2', '0.5', '130')), events);
    s = evolvePositions(s, message(fill('t1', '1')), events); // stored twice under two ids
    const p = s.positions[KEY]!;
    assert.equal(p.size, '1.5');
    assert.equal(p.entryPrice, '110');
    assert.equal(p.fills, 2);
    assert.equal(p.updatedAtMs, T0 + 5, 'the venue fill time, not the envelope time');
    assert.deepEqual(applied, ['positions', 'positions', 'positions']);
    assert.deepEqual(rejected, []);
  });

  test('other events leave it as is; malformed ones are reported (naming the field) and skipped', () => {
    const { applied, rejected, events } = recorder();
    const start = emptyPositionsProjection();
    assert.equal(evolvePositions(start, message(funding('1')), events), start, 'not a fill');
    assert.equal(evolvePositions(start, message(fill('', '1')), events), start);
    assert.equal(evolvePositions(start, message(fill('t9', 'lots')), events), start);
    assert.equal(evolvePositions(start, message(undefined, new Uint8Array([1, 2, 3, 250])), events), start);
    assert.deepEqual(applied, []);
    assert.deepEqual(
      rejected.map((r) => r.projection),
      ['positions', 'positions', 'positions'],
    );
    assert.match(rejected[0]!.err, /fill\.tradeId/);
    assert.match(rejected[1]!.err, /fill\.size/);
  });
});

describe('evolveFunding', () => {
  test('acct.funding adds to the position’s funding, once per funding time', () => {
    const { applied, rejected, events } = recorder();
    let s = evolveFunding(emptyFundingProjection(), message(funding('-0.5')), events);
    s = evolveFunding(s, message(funding('-0.25', T0 + 120_000)), events);
    s = evolveFunding(s, message(funding('-0.5')), events); // same funding time again
    assert.equal(s.funding[KEY]?.total, '-0.75');
    assert.equal(s.funding[KEY]?.payments, 2);
    assert.deepEqual(rejected, []);
    assert.equal(applied.length, 3);
  });

  test('a funding time that is not epoch ms is reported and skipped; fills are ignored', () => {
    const { rejected, events } = recorder();
    const start = emptyFundingProjection();
    assert.equal(evolveFunding(start, message(funding('1', 0)), events), start);
    assert.equal(evolveFunding(start, message(fill('t1', '1')), events), start);
    assert.equal(rejected.length, 1);
    assert.match(rejected[0]!.err, /fundingPayment\.fundingTimeMs/);
  });

  test('works without an events sink', () => {
    assert.equal(evolveFunding(emptyFundingProjection(), message(funding('2'))).funding[KEY]?.total, '2');
  });
});

describe('accountProjectionNames', () => {
  test('snapshots and durables derive from the consumer name', () => {
    assert.deepEqual(accountProjectionNames('account'), {
      positions: 'account-positions',
      funding: 'account-funding',
      fillsDurable: 'account-fills',
      fundingDurable: 'account-funding',
    });
  });
});
