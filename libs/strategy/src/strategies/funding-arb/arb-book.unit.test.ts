import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec, ZERO } from '@perpmesh/core';
import { z } from 'zod';
import { BTC, T0 } from '../../fixtures.test-helper.js';
import type { StrategyInput } from '../../model.js';
import { initialWorld, type OwnOrder, positionKey } from '../../world.js';
import {
  type Arb,
  activeArbs,
  arbResult,
  archiveArb,
  attachOrder,
  emptyLeg,
  type FundingArbState,
  findArb,
  foldIntoAdoptedSize,
  fundingArbStateCodec,
  initialFundingArbState,
  lastClosed,
  legClosable,
  legOpenSize,
  legSize,
  MAX_CLOSED_ARBS,
  recordFunding,
  recordLegOrder,
} from './arb-book.js';

const A = 'paper-a';
const B = 'paper-b';
const ETH = 'ETH-USDC-PERP';

function newArb(instrument = BTC, arbId = `${instrument}#1`): Arb {
  return {
    arbId,
    instrument,
    phase: 'entering',
    short: emptyLeg(A, 'main', instrument, 'sell'),
    long: emptyLeg(B, 'main', instrument, 'buy'),
    targetSize: dec('0.2'),
    lotSize: dec('0.001'),
    entry: {},
    expectedNetCarry: dec('33.6'),
    startedAtMs: T0,
    imbalanceUsedNotionalSeconds: ZERO,
    hedgeAttempts: 0,
  };
}

function ownOrder(
  overrides: Partial<OwnOrder> & Pick<OwnOrder, 'clientOrderId' | 'venue' | 'side'>,
): OwnOrder {
  return {
    account: 'main',
    instrument: BTC,
    type: 'limit',
    timeInForce: 'ioc',
    price: dec('50000'),
    size: dec('0.2'),
    reduceOnly: false,
    status: 'accepted',
    filled: ZERO,
    fillSize: ZERO,
    fillNotional: ZERO,
    fees: ZERO,
    tradeIds: [],
    role: 'entry',
    group: `${BTC}#1`,
    createdAtMs: T0,
    updatedAtMs: T0,
    ...overrides,
  };
}

function payment(
  venue: string,
  amount: string,
  fundingTimeMs: number,
): Extract<StrategyInput, { kind: 'funding_payment' }> {
  return {
    kind: 'funding_payment',
    nowMs: fundingTimeMs,
    venue,
    account: 'main',
    instrument: BTC,
    amount: dec(amount),
    fundingTimeMs,
  };
}

function bookWith(...arbs: Arb[]): FundingArbState {
  const state = initialFundingArbState();
  for (const arb of arbs) state.arbs[arb.instrument] = arb;
  return state;
}

describe('arb book: leg sizes', () => {
  test('a leg is its adopted size plus the signed fills of its orders', () => {
    const leg = emptyLeg(A, 'main', BTC, 'sell');
    assert.equal(legSize(leg).toFixed(), '0');
    leg.adoptedSize = dec('-0.1');
    leg.orders.x = { side: 'sell', filled: dec('0.2'), role: 'entry' };
    leg.orders.y = { side: 'buy', filled: dec('0.05'), role: 'unwind' };
    assert.equal(legSize(leg).toFixed(), '-0.25');
    assert.equal(legOpenSize(leg).toFixed(), '0.25');
  });

  test('the open size counts only the leg direction: a short leg bought past flat holds nothing', () => {
    const leg = emptyLeg(A, 'main', BTC, 'sell');
    leg.orders.x = { side: 'buy', filled: dec('0.1'), role: 'exit' };
    assert.equal(legSize(leg).toFixed(), '0.1');
    assert.equal(legOpenSize(leg).toFixed(), '0');
  });

  test('what can be closed is capped by the venue position in the leg direction', () => {
    const world = initialWorld('arb-1', 10);
    const short = emptyLeg(A, 'main', BTC, 'sell');
    short.orders.x = { side: 'sell', filled: dec('0.2'), role: 'entry' };
    assert.equal(legClosable(world, short).toFixed(), '0', 'no venue position yet');
    world.positions[positionKey(A, 'main', BTC)] = { size: dec('-0.15'), asOfMs: T0 };
    assert.equal(legClosable(world, short).toFixed(), '0.15');
    world.positions[positionKey(A, 'main', BTC)] = { size: dec('-0.5'), asOfMs: T0 };
    assert.equal(legClosable(world, short).toFixed(), '0.2');
    world.positions[positionKey(A, 'main', BTC)] = { size: dec('0.5'), asOfMs: T0 };
    assert.equal(legClosable(world, short).toFixed(), '0', 'a venue position the other way is never closed');
  });
});

describe('arb book: recording orders, fills and funding', () => {
  test('a placed order goes to the leg of its venue', () => {
    const arb = newArb();
    attachOrder(arb, ownOrder({ clientOrderId: 's1', venue: A, side: 'sell', createdAtMs: T0 + 5 }));
    attachOrder(arb, ownOrder({ clientOrderId: 'l1', venue: B, side: 'buy' }));
    assert.deepEqual(Object.keys(arb.short.orders), ['s1']);
    assert.deepEqual(Object.keys(arb.long.orders), ['l1']);
    assert.equal(arb.short.lastOrderAtMs, T0 + 5);
  });

  test('fills move the filled size and the leg accounting (price, fee)', () => {
    const arb = newArb();
    const state = bookWith(arb);
    const order = ownOrder({ clientOrderId: 's1', venue: A, side: 'sell' });
    attachOrder(arb, order);
    const fill = { side: 'sell' as const, price: dec('50000'), size: dec('0.15'), fee: dec('3.75') };
    recordLegOrder(state, { ...order, filled: dec('0.15') }, fill);
    assert.equal(legSize(arb.short).toFixed(), '-0.15');
    assert.equal(arb.short.position.size.toFixed(), '-0.15');
    assert.equal(arb.short.position.entryPrice?.toFixed(), '50000');
    assert.equal(arb.short.position.fees.toFixed(), '3.75');
    // An update without a new fill (a re-delivery) moves the size only.
    recordLegOrder(state, { ...order, filled: dec('0.2') }, undefined);
    assert.equal(legSize(arb.short).toFixed(), '-0.2');
    assert.equal(arb.short.position.fees.toFixed(), '3.75');
  });

  test('an order folded into the adopted size at start: its later fills keep the leg size, book the fill price and fee', () => {
    const arb = newArb();
    const state = bookWith(arb);
    const order = ownOrder({ clientOrderId: 's1', venue: A, side: 'sell' });
    attachOrder(arb, order);
    // The saved book knew 0.1 filled with no fill priced; the venue then showed -0.2 (adopted at 50000).
    recordLegOrder(state, { ...order, filled: dec('0.1') }, undefined);
    foldIntoAdoptedSize(arb.short, 's1', ZERO);
    foldIntoAdoptedSize(arb.short, 's1', ZERO); // once only
    assert.equal(legSize(arb.short).toFixed(), '-0.1', 'folding keeps the leg size');
    arb.short.adoptedSize = dec('-0.2');
    arb.short.position = {
      ...arb.short.position,
      size: dec('-0.1'),
      side: 'short',
      entryPrice: dec('50000'),
    };
    const fill = (price: string, size: string, fee: string) => ({
      side: 'sell' as const,
      price: dec(price),
      size: dec(size),
      fee: dec(fee),
    });
    // 0.15 arrives: 0.1 had no price yet (booked as a fill), 0.05 was held at the adoption price (re-priced).
    recordLegOrder(state, { ...order, filled: dec('0.15') }, fill('49990', '0.15', '3'));
    assert.equal(legSize(arb.short).toFixed(), '-0.2');
    assert.equal(arb.short.position.size.toFixed(), '-0.2');
    assert.equal(arb.short.position.entryPrice?.toFixed(), '49992.5');
    assert.equal(arb.short.position.tradingPnl.toFixed(), '0');
    assert.equal(arb.short.position.fees.toFixed(), '3');
    recordLegOrder(state, { ...order, filled: dec('0.2') }, fill('49990', '0.05', '1'));
    assert.equal(legSize(arb.short).toFixed(), '-0.2');
    assert.equal(arb.short.position.size.toFixed(), '-0.2');
    // Re-priced from the entry the leg holds now (49992.5), not the adoption price it replaced.
    assert.equal(arb.short.position.entryPrice?.toFixed(), '49991.875');
    assert.equal(arb.short.position.tradingPnl.toFixed(), '0');
    assert.equal(arb.short.position.fees.toFixed(), '4');
  });

  test('orders of unknown arbs or other venues are ignored', () => {
    const arb = newArb();
    const state = bookWith(arb);
    recordLegOrder(
      state,
      ownOrder({ clientOrderId: 'z', venue: A, side: 'sell', group: 'other#1' }),
      undefined,
    );
    recordLegOrder(state, ownOrder({ clientOrderId: 'z', venue: 'paper-c', side: 'sell' }), undefined);
    assert.deepEqual(arb.short.orders, {});
    assert.deepEqual(arb.long.orders, {});
  });

  test('funding goes to the leg of the paying venue', () => {
    const arb = newArb();
    const state = bookWith(arb);
    recordFunding(state, payment(B, '1', T0 + 1));
    recordFunding(state, payment(A, '10', T0 + 2));
    recordFunding(state, payment(A, '-2', T0 + 3));
    assert.equal(arb.long.position.funding.toFixed(), '1');
    assert.equal(arb.short.position.funding.toFixed(), '8');
  });

  test('a payment for a settlement while the arb was open still counts after it closed; a later one does not', () => {
    const arb = newArb();
    const state = bookWith(arb);
    arb.phase = 'closed';
    arb.closedAtMs = T0 + 100;
    arb.result = arbResult(arb);
    archiveArb(state, arb);
    recordFunding(state, payment(A, '5', T0 + 100));
    assert.equal(arb.short.position.funding.toFixed(), '5');
    assert.equal(arb.result.funding_received, '5', 'the result is recomputed');
    recordFunding(state, payment(A, '7', T0 + 101));
    assert.equal(arb.short.position.funding.toFixed(), '5');
  });

  test('a late fill of a closed arb updates its result', () => {
    const arb = newArb();
    const state = bookWith(arb);
    const order = ownOrder({ clientOrderId: 's1', venue: A, side: 'sell' });
    attachOrder(arb, order);
    arb.phase = 'closed';
    arb.result = arbResult(arb);
    archiveArb(state, arb);
    const fill = { side: 'sell' as const, price: dec('50000'), size: dec('0.2'), fee: dec('5') };
    recordLegOrder(state, { ...order, filled: dec('0.2') }, fill);
    assert.equal(arb.result.fees, '5');
  });
});

describe('arb book: result and bookkeeping', () => {
  test('the result sums both legs: trading PnL, fees, funding, carry net of fees, net', () => {
    const arb = newArb();
    arb.short.position = {
      ...arb.short.position,
      tradingPnl: dec('-0.1'),
      fees: dec('10'),
      funding: dec('30'),
      netRealizedPnl: dec('19.9'),
    };
    arb.long.position = {
      ...arb.long.position,
      tradingPnl: dec('-0.3'),
      fees: dec('10'),
      funding: dec('24'),
      netRealizedPnl: dec('13.7'),
    };
    const result = arbResult(arb);
    assert.equal(result.trading_pnl, '-0.4');
    assert.equal(result.fees, '20');
    assert.equal(result.funding_received, '54');
    assert.equal(result.carry_net_of_fees, '34');
    assert.equal(result.net_pnl, '33.6');
    assert.equal(result.expected_net_carry, '33.6');
    assert.equal(result['short.funding_received'], '30');
    assert.equal(result['long.net_pnl'], '13.7');
  });

  test('active arbs in instrument order; lookups by id and by last close', () => {
    const eth = newArb(ETH);
    const btc = newArb(BTC);
    const state = bookWith(eth, btc);
    assert.deepEqual(
      activeArbs(state).map((a) => a.instrument),
      [BTC, ETH],
    );
    const old = newArb(BTC, `${BTC}#0`);
    state.closed.push(old, newArb(ETH, `${ETH}#0`));
    assert.equal(findArb(state, `${BTC}#1`), btc);
    assert.equal(findArb(state, `${BTC}#0`), old);
    assert.equal(findArb(state, 'nope'), undefined);
    assert.equal(lastClosed(state, BTC), old);
    assert.equal(lastClosed(state, 'SOL-USDC-PERP'), undefined);
  });

  test('archiving moves the arb to the closed list, which stays bounded', () => {
    const state = initialFundingArbState();
    for (let n = 1; n <= MAX_CLOSED_ARBS + 3; n++) {
      const arb = newArb(BTC, `${BTC}#${n}`);
      state.arbs[BTC] = arb;
      archiveArb(state, arb);
      assert.equal(state.arbs[BTC], undefined);
    }
    assert.equal(state.closed.length, MAX_CLOSED_ARBS);
    assert.equal(state.closed[0]!.arbId, `${BTC}#4`);
    assert.equal(state.closed.at(-1)!.arbId, `${BTC}#${MAX_CLOSED_ARBS + 3}`);
  });

  test('the book round-trips through its JSON codec', () => {
    const arb = newArb();
    attachOrder(arb, ownOrder({ clientOrderId: 's1', venue: A, side: 'sell' }));
    arb.short.orders.s1!.filled = dec('0.2');
    arb.openedAtMs = T0 + 1;
    const state = bookWith(arb);
    state.arbSeq = 1;
    state.candidates[ETH] = { pair: `${A}>${B}`, sinceMs: T0 };
    const json = JSON.parse(JSON.stringify(z.encode(fundingArbStateCodec, state)));
    assert.equal(json.arbs[BTC].short.orders.s1.filled, '0.2');
    const back = z.decode(fundingArbStateCodec, json);
    assert.equal(legSize(back.arbs[BTC]!.short).toFixed(), '-0.2');
    assert.deepEqual(JSON.parse(JSON.stringify(z.encode(fundingArbStateCodec, back))), json);
  });
});
