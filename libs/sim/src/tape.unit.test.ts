import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TAPE_ACCOUNT_ID, TapeLiquidity } from './tape.js';
import { BTC, d, ok, venue } from './test-helpers.js';
import { defaultWorldConfig, MARKET_MAKER_ACCOUNT_ID, SimWorld } from './world.js';

const level = (price: string, size: string) => ({ price: d(price), size: d(size) });
const text = (levels: readonly { price: { toFixed(): string }; size: { toFixed(): string } }[]) =>
  levels.map((l) => `${l.price.toFixed()}x${l.size.toFixed()}`);

describe('TapeLiquidity', () => {
  test('a recorded book becomes the venue book; the next one replaces it', () => {
    const ex = venue('paper');
    const tape = new TapeLiquidity();
    const first = tape.book(ex, BTC, [level('49999', '1'), level('49998', '2')], [level('50001', '0.5')]);
    assert.deepEqual(first, { placed: 3, refused: 0 });
    let book = ex.bookSnapshot(BTC, 10);
    assert.deepEqual(text(book.bids), ['49999x1', '49998x2']);
    assert.deepEqual(text(book.asks), ['50001x0.5']);

    tape.book(ex, BTC, [level('50000', '0.3')], [level('50002', '0.4')]);
    book = ex.bookSnapshot(BTC, 10);
    assert.deepEqual(text(book.bids), ['50000x0.3']);
    assert.deepEqual(text(book.asks), ['50002x0.4']);
    assert.equal(ex.openOrderCount(TAPE_ACCOUNT_ID, BTC), 2);
  });

  test('orders of other accounts fill against the recorded liquidity; levels off the grid are refused', () => {
    const ex = venue('paper');
    ex.deposit('trader', '100000');
    const tape = new TapeLiquidity();
    // 50001.05 is off the 0.1 tick: refused, the rest rests.
    const result = tape.book(ex, BTC, [level('49999', '1')], [level('50001', '0.5'), level('50001.05', '1')]);
    assert.deepEqual(result, { placed: 2, refused: 1 });
    ok(ex.placeOrder({ accountId: 'trader', instrumentId: BTC, side: 'buy', type: 'market', size: '0.2' }));
    assert.equal(ex.position('trader', BTC).size.toFixed(), '0.2');
    assert.deepEqual(text(ex.bookSnapshot(BTC, 10).asks), ['50001x0.3']);
  });

  test('recorded prices set mark and index; strict-nonce venues get increasing nonces', () => {
    const ex = venue('paper-lighter');
    const tape = new TapeLiquidity();
    tape.prices(ex, BTC, d('50010'), d('50000'));
    assert.equal(ex.markPrice(BTC)?.toFixed(), '50010');
    assert.deepEqual(tape.book(ex, BTC, [level('50000', '1')], []), { placed: 1, refused: 0 });
    assert.deepEqual(tape.book(ex, BTC, [level('50001', '1')], []), { placed: 1, refused: 0 });
  });
});

describe('SimWorld with a tape market', () => {
  test('runs no synthetic participants: no marks, no quotes until the tape gives them', () => {
    const startMs = Date.UTC(2026, 0, 1);
    const world = new SimWorld({ ...defaultWorldConfig({ seed: 1, startMs }), market: 'tape' });
    for (let s = 0; s <= 30; s++) world.step(startMs + s * 1_000);
    const ex = world.exchange('paper');
    assert.equal(ex.markPrice(BTC), undefined);
    assert.equal(ex.openOrderCount(MARKET_MAKER_ACCOUNT_ID, BTC), 0);
    assert.equal(ex.bookSnapshot(BTC).bids.length, 0);
    // The synthetic world, same seed: quoted from the first step.
    const synthetic = new SimWorld(defaultWorldConfig({ seed: 1, startMs }));
    synthetic.step(startMs);
    assert.ok(synthetic.exchange('paper').openOrderCount(MARKET_MAKER_ACCOUNT_ID, BTC) > 0);
  });
});
