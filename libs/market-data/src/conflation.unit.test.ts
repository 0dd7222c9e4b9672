/**
 * The conflation of md.book / md.funding per book (conflation.ts), on a hand-driven clock:
 * leading edge, one trailing publish for the changes inside an interval, the last change
 * always published, books independent, one pending entry per book.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bookPublishIntervals, Conflator } from './conflation.js';

const intervals: Record<string, number> = { btc: 100, eth: 100, fast: 0, slow: 1_000 };
const conflator = () => new Conflator<string>((book) => intervals[book] ?? 100);

describe('Conflator', () => {
  test('leading edge: the first change, and a change after a quiet interval, are due at once', () => {
    const c = conflator();
    assert.equal(c.changed('btc', 1_000), 1_000);
    assert.deepEqual(c.takeDue(1_000), ['btc']);
    // exactly one interval after the last publish: at once again
    assert.equal(c.changed('btc', 1_100), 1_100);
    assert.deepEqual(c.takeDue(1_100), ['btc']);
    assert.equal(c.changed('btc', 5_000), 5_000);
  });

  test('changes inside the interval coalesce into ONE trailing publish at its end', () => {
    const c = conflator();
    c.changed('btc', 1_000);
    c.takeDue(1_000);
    assert.equal(c.changed('btc', 1_010), 1_100, 'due at the end of the interval');
    assert.equal(c.changed('btc', 1_050), undefined, 'rides along with the pending publish');
    assert.equal(c.changed('btc', 1_099), undefined);
    assert.deepEqual(c.takeDue(1_099), [], 'not before its time');
    assert.equal(c.nextDueAtMs(), 1_100);
    assert.deepEqual(c.takeDue(1_100), ['btc'], 'one publish for three changes');
    assert.deepEqual(c.takeDue(1_200), [], 'nothing left after it');
    assert.equal(c.nextDueAtMs(), undefined);
  });

  test('the last change is always published: a change right after a trailing publish gets its own', () => {
    const c = conflator();
    c.changed('btc', 0);
    c.takeDue(0);
    c.changed('btc', 40);
    assert.deepEqual(c.takeDue(100), ['btc']);
    // the state changed again after the trailing publish took it: another publish is due
    assert.equal(c.changed('btc', 101), 200);
    assert.equal(c.pending, 1);
    assert.deepEqual(c.takeDue(200), ['btc']);
    assert.equal(c.pending, 0);
  });

  test('a timer that fires late publishes at once and counts the interval from then', () => {
    const c = conflator();
    c.changed('btc', 0);
    c.takeDue(0);
    c.changed('btc', 10); // due at 100
    assert.deepEqual(c.takeDue(180), ['btc']);
    assert.equal(c.changed('btc', 200), 280);
  });

  test('books are independent: a busy book never delays a quiet one', () => {
    const c = conflator();
    c.changed('btc', 0);
    c.takeDue(0);
    c.changed('btc', 10); // btc waits until 100
    assert.equal(c.changed('eth', 20), 20, 'eth has not published yet: at once');
    assert.deepEqual(c.takeDue(20), ['eth'], 'only eth is due');
    assert.equal(c.nextDueAtMs(), 100);
    assert.deepEqual(c.takeDue(100), ['btc']);
  });

  test('each book has its own interval; 0 publishes every change', () => {
    const c = conflator();
    for (const t of [0, 1, 2]) {
      assert.equal(c.changed('fast', t), t);
      assert.deepEqual(c.takeDue(t), ['fast']);
    }
    c.changed('slow', 0);
    c.takeDue(0);
    assert.equal(c.changed('slow', 100), 1_000);
  });

  test('changes due at the same time leave together, in the order they changed', () => {
    const c = conflator();
    c.changed('eth', 5);
    c.changed('btc', 5);
    c.changed('eth', 5);
    assert.deepEqual(c.takeDue(5), ['eth', 'btc']);
  });

  test('takeAll publishes every pending book, due or not', () => {
    const c = conflator();
    c.changed('btc', 0);
    c.takeDue(0);
    c.changed('btc', 10);
    c.changed('eth', 10);
    assert.deepEqual(c.takeAll(20), ['btc', 'eth']);
    assert.equal(c.pending, 0);
    assert.equal(c.changed('btc', 30), 120, 'the interval counts from the forced publish');
  });

  test('bounded memory: at most one pending entry per book however many changes', () => {
    const c = conflator();
    c.changed('btc', 0);
    c.changed('eth', 0);
    c.takeDue(0);
    for (let t = 1; t < 10_000; t += 1) {
      c.changed('btc', t / 1_000);
      c.changed('eth', t / 1_000);
      assert.ok(c.pending <= 2);
    }
    assert.equal(c.pending, 2);
    assert.deepEqual(c.takeDue(100), ['btc', 'eth']);
  });
});

describe('bookPublishIntervals', () => {
  const overrides = [
    { venue: 'lighter', intervalMs: 10 },
    { venue: 'lighter', instrument: 'BTC-USDC-PERP', intervalMs: 0 },
  ];

  test('the most specific override wins, else the default', () => {
    const of = bookPublishIntervals(100, overrides);
    assert.equal(of('lighter', 'BTC-USDC-PERP'), 0);
    assert.equal(of('lighter', 'ETH-USDC-PERP'), 10);
    assert.equal(of('paper', 'BTC-USDC-PERP'), 100);
  });

  test('an override given twice or a bad interval is refused, naming the field', () => {
    assert.throws(
      () => bookPublishIntervals(100, [...overrides, { venue: 'lighter', intervalMs: 5 }], 'md.overrides'),
      /md\.overrides\[2\]: lighter is given twice/,
    );
    assert.throws(
      () => bookPublishIntervals(100, [{ venue: 'paper', intervalMs: -1 }]),
      /bookPublishIntervalOverrides\[0\]\.intervalMs: must be a whole number >= 0, got -1/,
    );
  });
});
