import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addBounded, setBounded } from './bounded.js';

describe('setBounded', () => {
  test('keeps the newest `capacity` entries; setting a key again makes it the newest', () => {
    const map = new Map<string, number>();
    for (let i = 0; i < 1_000; i++) setBounded(map, `k${i}`, i, 3);
    assert.deepEqual(
      [...map],
      [
        ['k997', 997],
        ['k998', 998],
        ['k999', 999],
      ],
    );
    setBounded(map, 'k997', -1, 3);
    setBounded(map, 'new', 0, 3);
    assert.deepEqual([...map.keys()], ['k999', 'k997', 'new']);
    assert.equal(map.get('k997'), -1);
  });

  test('refuses a capacity below 1', () => {
    assert.throws(() => setBounded(new Map(), 'a', 1, 0), /capacity must be a whole number >= 1, got 0/);
  });
});

describe('addBounded', () => {
  test('says whether the key is new, and keeps the newest `capacity` keys', () => {
    const set = new Set<string>();
    assert.equal(addBounded(set, 'a', 2), true);
    assert.equal(addBounded(set, 'a', 2), false);
    assert.equal(addBounded(set, 'b', 2), true);
    // Seen again: its place does not move, so it is still the oldest and goes first.
    assert.equal(addBounded(set, 'a', 2), false);
    assert.equal(addBounded(set, 'c', 2), true);
    assert.deepEqual([...set], ['b', 'c']);
    for (let i = 0; i < 1_000; i++) addBounded(set, `t${i}`, 2);
    assert.equal(set.size, 2);
  });
});
