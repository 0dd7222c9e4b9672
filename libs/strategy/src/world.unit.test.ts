import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec } from '@perpmesh/core';
import { BTC, fill, T0 } from './fixtures.test-helper.js';
import type { OrderIntent, PositionInput } from './model.js';
import { applyFact, initialWorld, positionSize, type WorldState, worldStateCodec } from './world.js';

const VENUE = 'binanceusdm';
const order: OrderIntent = {
  clientOrderId: 'arb-1_1',
  venue: VENUE,
  account: 'main',
  instrument: BTC,
  side: 'buy',
  type: 'limit',
  timeInForce: 'ioc',
  price: dec('50000'),
  size: dec('0.083'),
  reduceOnly: false,
};

/** acct.position as the account service publishes it: as of its latest projected fill. */
function accountPosition(size: string, asOfMs: number, nowMs = asOfMs + 50): PositionInput {
  return { kind: 'position', nowMs, venue: VENUE, account: 'main', instrument: BTC, size: dec(size), asOfMs };
}

function world(): WorldState {
  return initialWorld('arb-1', 10);
}

const size = (w: WorldState) => positionSize(w, VENUE, 'main', BTC).toFixed();

describe('world: a position from own fills and the account snapshot (separate streams, any order)', () => {
  const t = T0 + 5_000;

  test('the account snapshot as of the fill time arrives first: the fill is in it, not counted again', () => {
    const w = world();
    applyFact(w, accountPosition('0.083', t));
    applyFact(w, fill(order, t, '50000', '0.083', '1'));
    assert.equal(size(w), '0.083');
  });

  test('the fill arrives first: the snapshot of the same time confirms it, not doubled', () => {
    const w = world();
    applyFact(w, fill(order, t, '50000', '0.083', '1'));
    assert.equal(size(w), '0.083');
    applyFact(w, accountPosition('0.083', t));
    assert.equal(size(w), '0.083');
  });

  test('two fills of one millisecond (an IOC sweeping two levels) both count', () => {
    const w = world();
    applyFact(w, fill(order, t, '50000', '0.05', '1'));
    applyFact(w, fill(order, t, '50001', '0.033', '1'));
    assert.equal(size(w), '0.083');
    // The account's snapshot after the first of them (same ms) does not undo the second.
    applyFact(w, accountPosition('0.05', t));
    assert.equal(size(w), '0.083');
    // A later snapshot is the account's word again.
    applyFact(w, accountPosition('0.083', t + 1));
    assert.equal(size(w), '0.083');
    assert.equal(w.positions[`${VENUE}|main|${BTC}`]?.ownFills, undefined);
  });

  test('the snapshot after the first of two fills of one millisecond arrives before both: unsure until a later one', () => {
    const w = world();
    const key = `${VENUE}|main|${BTC}`;
    applyFact(w, accountPosition('0.05', t));
    applyFact(w, fill(order, t, '50000', '0.05', '1'));
    applyFact(w, fill(order, t, '50001', '0.033', '1'));
    // Whether the snapshot holds each fill of its own ms is unknown: none is counted on top.
    assert.equal(size(w), '0.05');
    assert.equal(w.positions[key]?.sameMsFills, true);
    const restored = worldStateCodec.parse(JSON.parse(JSON.stringify(worldStateCodec.encode(w))));
    assert.equal(restored.positions[key]?.sameMsFills, true, 'survives serialization');
    // Another snapshot of that same ms is no more certain.
    applyFact(w, accountPosition('0.083', t));
    assert.equal(size(w), '0.083');
    assert.equal(w.positions[key]?.sameMsFills, true);
    // One of a later time is the account's word again.
    applyFact(w, accountPosition('0.083', t + 1));
    assert.equal(w.positions[key]?.sameMsFills, undefined);
  });

  test('a fill after the snapshot moves it; an older snapshot never undoes it', () => {
    const w = world();
    applyFact(w, accountPosition('0.083', t));
    applyFact(w, fill(order, t + 1, '50000', '0.083', '1'));
    assert.equal(size(w), '0.166');
    applyFact(w, accountPosition('0.083', t));
    assert.equal(size(w), '0.166');
    applyFact(w, accountPosition('0.166', t + 1));
    assert.equal(size(w), '0.166');
  });

  test('the own-fills mark survives serialization', () => {
    const w = world();
    applyFact(w, fill(order, t, '50000', '0.05', '1'));
    const restored = worldStateCodec.parse(JSON.parse(JSON.stringify(worldStateCodec.encode(w))));
    applyFact(restored, fill(order, t, '50001', '0.033', '1'));
    assert.equal(size(restored), '0.083');
  });
});
