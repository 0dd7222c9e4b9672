import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OrderBook, type PriceLevel } from './book.js';
import { InstrumentScale } from './fixed.js';
import { SimOrder } from './order.js';
import { venuePreset } from './presets.js';
import { BTC } from './test-helpers.js';

const spec = venuePreset('paper').instruments.find((i) => i.instrumentId === BTC);
assert.ok(spec);
const scale = new InstrumentScale(spec);
let seq = 0;
const ask = (priceTicks: number, sizeLots: number) =>
  new SimOrder(
    scale,
    'paper',
    'a',
    BTC,
    ++seq,
    undefined,
    'sell',
    'limit',
    'gtc',
    { priceTicks, sizeLots },
    false,
    0,
  );

function queue(level: PriceLevel | undefined): number[] {
  const seqs: number[] = [];
  for (let o = level?.head; o !== undefined; o = o.nextInLevel) seqs.push(o.seq);
  return seqs;
}

describe('OrderBook', () => {
  test('a level is a FIFO queue; an order leaves it from anywhere, a stranger changes nothing', () => {
    const book = new OrderBook(BTC, scale);
    const [a, b, c] = [ask(500_000, 1), ask(500_000, 2), ask(500_000, 3)] as [SimOrder, SimOrder, SimOrder];
    for (const o of [a, b, c]) book.add(o);
    const level = book.asks.find(500_000);
    assert.deepEqual(queue(level), [a.seq, b.seq, c.seq]);
    assert.equal(level?.totalLots, 6);
    book.remove(b);
    assert.deepEqual(queue(level), [a.seq, c.seq]);
    level?.unlink(ask(500_000, 1));
    assert.deepEqual(queue(level), [a.seq, c.seq]);
    book.remove(c);
    book.remove(a);
    assert.equal(book.asks.find(500_000), undefined);
    assert.equal(book.asks.levels.length, 0);
    const d = ask(500_000, 4);
    book.add(d);
    assert.deepEqual(queue(book.asks.find(500_000)), [d.seq], 'a new level starts empty');
  });

  test('a delta lists each changed price once, best first, with its size at the end of the command', () => {
    const book = new OrderBook(BTC, scale);
    const first = ask(500_010, 5);
    book.add(first);
    book.add(ask(500_000, 2));
    book.remove(first); // dropped...
    book.add(ask(500_010, 7)); // ...and made again at the same price
    book.add(ask(500_020, 1));
    const delta = book.takeDelta();
    assert.deepEqual(
      delta?.asks.map((l) => [l.price.toFixed(), l.size.toFixed()]),
      [
        ['50000', '0.002'],
        ['50001', '0.007'],
        ['50002', '0.001'],
      ],
    );
    assert.deepEqual(delta?.bids, []);
    assert.equal(book.takeDelta(), undefined, 'nothing changed since');
  });
});
