import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { preferredOwner } from './leases.js';

const keys = Array.from({ length: 200 }, (_, i) => `paper|I${i}-USDC-PERP`);

describe('preferredOwner (rendezvous hashing)', () => {
  test('no members, no owner; one member owns everything', () => {
    assert.equal(preferredOwner('paper|BTC-USDC-PERP', []), undefined);
    assert.ok(keys.every((k) => preferredOwner(k, ['a']) === 'a'));
  });

  test('the same answer whatever the order of the member list', () => {
    for (const k of keys)
      assert.equal(preferredOwner(k, ['a', 'b', 'c']), preferredOwner(k, ['c', 'a', 'b']));
  });

  test('spreads keys over the members, none starved', () => {
    const counts = new Map<string, number>();
    for (const k of keys) {
      const owner = preferredOwner(k, ['a', 'b', 'c'])!;
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    for (const m of ['a', 'b', 'c']) assert.ok((counts.get(m) ?? 0) > 40, `${m}: ${counts.get(m)} of 200`);
  });

  test('a member leaving moves only its own keys', () => {
    for (const k of keys) {
      const before = preferredOwner(k, ['a', 'b', 'c']);
      const after = preferredOwner(k, ['a', 'c']);
      if (before !== 'b') assert.equal(after, before, k);
      else assert.ok(after === 'a' || after === 'c');
    }
  });
});
