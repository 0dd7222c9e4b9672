/** InstrumentLeases on the embedded state store with a hand-driven clock: division, takeover, handover. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EmbeddedStateStore } from '@perpmesh/state';
import { InstrumentLeases, type InstrumentPair, pairKey } from './leases.js';

const pairs: InstrumentPair[] = ['paper', 'paper-lighter'].flatMap((venue) =>
  Array.from({ length: 5 }, (_, i) => ({ venue, instrument: `I${i}-USDC-PERP` })),
);
const TTL = 3_000;

describe('InstrumentLeases', () => {
  let dir: string;
  let store: EmbeddedStateStore;
  let now = 1_000_000;
  const replica = (holder: string) =>
    new InstrumentLeases({ store, holder, pairs, ttlMs: TTL, maxReplicas: 4, nowMs: () => now });
  const keysOf = (owned: readonly InstrumentPair[]) => owned.map(pairKey).sort();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'md-leases-'));
    store = await EmbeddedStateStore.open({ dataDir: dir, fsync: false });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('two replicas split the pairs; a dead one loses them within the TTL; a clean stop hands over at once', async () => {
    const a = replica('a');
    const b = replica('b');
    const alone = await a.tick();
    assert.equal(alone.owned.length, 10, 'a alone serves everything');

    // b joins: it sees two members, a releases what b is preferred for, b takes it.
    await b.tick();
    const aShare = await a.tick();
    const bShare = await b.tick();
    assert.deepEqual(aShare.members, ['a', 'b']);
    assert.ok(
      aShare.owned.length > 0 && bShare.owned.length > 0,
      `${aShare.owned.length} + ${bShare.owned.length}`,
    );
    assert.deepEqual([...keysOf(aShare.owned), ...keysOf(bShare.owned)].sort(), pairs.map(pairKey).sort());
    assert.deepEqual(bShare.moved, [], 'a handed over (released): nothing was taken from it');

    // b dies (no more ticks): before the TTL a keeps its share; after it, a serves all and names what moved.
    now += TTL - 500;
    assert.equal((await a.tick()).owned.length, aShare.owned.length);
    now += 1_000;
    const afterDeath = await a.tick();
    assert.deepEqual(afterDeath.members, ['a']);
    assert.equal(afterDeath.owned.length, 10);
    assert.deepEqual(keysOf(afterDeath.moved), keysOf(bShare.owned));
    assert.ok(afterDeath.moved.every((m) => m.from === 'b'));

    // A clean stop releases: c takes everything on its first rounds, no TTL to wait.
    await a.releaseAll();
    const c = replica('c');
    assert.equal((await c.tick()).owned.length, 10);
  });
});
