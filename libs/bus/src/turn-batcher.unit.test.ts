import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TurnBatcher } from './turn-batcher.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('TurnBatcher', () => {
  test('items added in one turn are flushed together at the end of the turn, not before', async () => {
    const batches: number[][] = [];
    const turns = new TurnBatcher<number>(10, (batch) => batches.push(batch));
    turns.add(1);
    turns.add(2);
    assert.deepEqual(batches, [], 'nothing flushed within the turn');
    await nextTurn();
    assert.deepEqual(batches, [[1, 2]]);
    turns.add(3);
    await nextTurn();
    assert.deepEqual(batches, [[1, 2], [3]], 'a later turn is a new batch');
  });

  test('a batch that reaches maxBatch is flushed at once; the rest waits for the turn', async () => {
    const batches: string[][] = [];
    const turns = new TurnBatcher<string>(2, (batch) => batches.push(batch));
    for (const item of ['a', 'b', 'c']) turns.add(item);
    assert.deepEqual(batches, [['a', 'b']]);
    await nextTurn();
    assert.deepEqual(batches, [['a', 'b'], ['c']]);
  });

  test('maxBatch must be a whole number >= 1', () => {
    assert.throws(() => new TurnBatcher(0, () => {}), /maxBatch must be a whole number >= 1, got 0/);
    assert.throws(() => new TurnBatcher(1.5, () => {}), /maxBatch/);
  });
});
