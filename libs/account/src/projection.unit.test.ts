/** The account projections: fills → positions (core accounting), funding totals, duplicates, JSON round trip. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec } from '@perpmesh/core';
import {
  applyFillToProjection,
  applyFundingToProjection,
  emptyFundingProjection,
  emptyPositionsProjection,
  mergedPosition,
  type ProjectedFill,
  positionKey,
  positionStateOf,
  RECENT_FACTS_KEPT,
} from './projection.js';

const T0 = Date.UTC(2026, 0, 1);
const KEY = positionKey('paper', 'main', 'BTC-USDC-PERP');

function fill(tradeId: string, side: 'buy' | 'sell', price: string, size: string, fee = '0'): ProjectedFill {
  return {
    venue: 'paper',
    account: 'main',
    instrument: 'BTC-USDC-PERP',
    tradeId,
    side,
    price: dec(price),
    size: dec(size),
    fee: dec(fee),
    tsEventMs: T0 + Number(tradeId.replace(/\D/g, '') || 0),
  };
}

describe('positions projection', () => {
  test('average entry, partial close realizes against the entry, fees accumulate; stored as decimal text', () => {
    let s = emptyPositionsProjection();
    s = applyFillToProjection(s, fill('t1', 'buy', '100', '1', '0.05'));
    s = applyFillToProjection(s, fill('t2', 'buy', '110', '1', '0.05'));
    s = applyFillToProjection(s, fill('t3', 'sell', '120', '0.5', '0.03'));
    const stored = s.positions[KEY]!;
    assert.equal(stored.size, '1.5');
    assert.equal(stored.entryPrice, '105');
    assert.equal(stored.tradingPnl, '7.5'); // (120 - 105) * 0.5
    assert.equal(stored.fees, '0.13');
    assert.equal(stored.fills, 3);
    // JSON round trip: what the store keeps gives the same position.
    const back = JSON.parse(JSON.stringify(s));
    const state = positionStateOf(back.positions[KEY]);
    assert.equal(state.side, 'long');
    assert.equal(state.realizedPnl.toFixed(), '7.37');
    assert.ok(state.size.eq('1.5'));
  });

  test('a fill whose trade id was already applied changes nothing (same object back)', () => {
    const once = applyFillToProjection(emptyPositionsProjection(), fill('t1', 'buy', '100', '1'));
    assert.equal(applyFillToProjection(once, fill('t1', 'buy', '100', '1')), once);
  });

  test('flip and close: short after selling more than the long; flat has no entry', () => {
    let s = applyFillToProjection(emptyPositionsProjection(), fill('t1', 'buy', '100', '1'));
    s = applyFillToProjection(s, fill('t2', 'sell', '90', '3'));
    assert.equal(s.positions[KEY]!.size, '-2');
    assert.equal(s.positions[KEY]!.entryPrice, '90');
    assert.equal(s.positions[KEY]!.tradingPnl, '-10');
    s = applyFillToProjection(s, fill('t3', 'buy', '80', '2'));
    assert.equal(s.positions[KEY]!.size, '0');
    assert.equal(s.positions[KEY]!.entryPrice, '');
    assert.equal(s.positions[KEY]!.tradingPnl, '10');
  });

  test('remembers a bounded number of trade ids', () => {
    let s = emptyPositionsProjection();
    for (let i = 0; i < RECENT_FACTS_KEPT + 10; i++)
      s = applyFillToProjection(s, fill(`t${i}`, 'buy', '100', '0.001'));
    assert.equal(s.positions[KEY]!.recentTradeIds.length, RECENT_FACTS_KEPT);
    assert.equal(s.positions[KEY]!.recentTradeIds.at(-1), `t${RECENT_FACTS_KEPT + 9}`);
  });

  test('rejects a bad fill with the field named', () => {
    assert.throws(
      () => applyFillToProjection(emptyPositionsProjection(), fill('t1', 'buy', '100', '0')),
      /fill\.size/,
    );
  });
});

describe('funding projection and the merged position', () => {
  test('funding sums per position, a funding time applies once; merged with fills and marked', () => {
    let f = emptyFundingProjection();
    const pay = (amount: string, at: number) =>
      applyFundingToProjection(f, {
        venue: 'paper',
        account: 'main',
        instrument: 'BTC-USDC-PERP',
        amount: dec(amount),
        fundingTimeMs: at,
      });
    f = pay('-1.25', T0 + 3_600_000);
    f = pay('0.5', T0 + 7_200_000);
    assert.equal(pay('0.5', T0 + 7_200_000), f, 'same funding time again: unchanged');
    assert.equal(f.funding[KEY]!.total, '-0.75');
    assert.equal(f.funding[KEY]!.payments, 2);

    const p = applyFillToProjection(emptyPositionsProjection(), fill('t1', 'buy', '100', '2', '0.1'));
    const merged = mergedPosition(
      'paper',
      'main',
      'BTC-USDC-PERP',
      p.positions[KEY],
      f.funding[KEY],
      dec('103'),
    );
    assert.equal(merged.state.funding.toFixed(), '-0.75');
    assert.equal(merged.state.unrealizedPnl.toFixed(), '6');
    assert.equal(merged.state.netRealizedPnl.toFixed(), '-0.85');
    assert.equal(merged.eventAsOfMs, T0 + 7_200_000);
  });
});
