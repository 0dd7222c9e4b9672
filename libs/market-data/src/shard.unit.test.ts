import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import { fnv1a32, instrumentsForShard, ownsInstrument, shardHash, shardOf, validateShard } from './shard.js';

const venues = {
  paper: ['BTC-USDC-PERP', 'ETH-USDC-PERP', 'SOL-USDC-PERP', 'DOGE-USDC-PERP'],
  'paper-lighter': ['BTC-USDC-PERP', 'ETH-USDC-PERP', 'SOL-USDC-PERP'],
  binanceusdm: Array.from({ length: 40 }, (_, i) => `C${i}-USDT-PERP`),
};
const pairs = Object.entries(venues).flatMap(([v, list]) => list.map((i) => `${v}|${i}`));

describe('sharding', () => {
  test('FNV-1a 32 matches the reference vectors (stable across machines)', () => {
    assert.equal(fnv1a32(''), 0x811c9dc5);
    assert.equal(fnv1a32('a'), 0xe40c292c);
    assert.equal(fnv1a32('foobar'), 0xbf9cf968);
  });

  test('every instrument is owned by exactly one shard, for every shard count', () => {
    for (let count = 1; count <= 7; count++) {
      const seen = new Map<string, number>();
      for (let index = 0; index < count; index++) {
        for (const [venue, list] of instrumentsForShard(venues, { index, count })) {
          for (const instrument of list) {
            const key = `${venue}|${instrument}`;
            assert.equal(
              seen.has(key),
              false,
              `${key} owned by shards ${seen.get(key)} and ${index} of ${count}`,
            );
            seen.set(key, index);
          }
        }
      }
      assert.deepEqual([...seen.keys()].sort(), [...pairs].sort(), `count ${count}: split is complete`);
    }
  });

  test('two shards both get work from a small real config (FNV low bits alone would not)', () => {
    const small = {
      paper: ['BTC-USDC-PERP', 'ETH-USDC-PERP'],
      'paper-lighter': ['BTC-USDC-PERP', 'ETH-USDC-PERP'],
      'paper-extended': ['BTC-USDC-PERP', 'ETH-USDC-PERP'],
    };
    for (const index of [0, 1])
      assert.ok(instrumentsForShard(small, { index, count: 2 }).size > 0, `shard ${index} owns something`);
  });

  test('the split uses every shard and is deterministic', () => {
    const owners = pairs.map((p) => {
      const [v, i] = p.split('|') as [string, string];
      return shardOf(v, i, 4);
    });
    assert.deepEqual(new Set(owners), new Set([0, 1, 2, 3]));
    assert.deepEqual(
      owners,
      pairs.map((p) => {
        const [v, i] = p.split('|') as [string, string];
        return shardHash(v, i) % 4;
      }),
    );
    assert.equal(
      ownsInstrument({ index: shardOf('paper', 'BTC-USDC-PERP', 3), count: 3 }, 'paper', 'BTC-USDC-PERP'),
      true,
    );
  });

  test('bad shard specs name the field', () => {
    assert.throws(
      () => validateShard({ index: 2, count: 2 }),
      (e: unknown) => e instanceof ValidationError && e.field === 'shard.index',
    );
    assert.throws(
      () => validateShard({ index: 0, count: 0 }),
      (e: unknown) => e instanceof ValidationError && e.field === 'shard.count',
    );
    assert.throws(() => validateShard({ index: -1, count: 2 }), /shard.index/);
    assert.throws(() => validateShard({ index: 0.5, count: 2 }), /shard.index/);
  });
});
