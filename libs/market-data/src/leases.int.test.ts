/**
 * InstrumentLeases on the embedded state store with a hand-driven clock: division, takeover,
 * release on a clean stop; and the handover between live replicas (PairHandover): the holder
 * keeps a pair until its next owner's book is synced, then lingers until that owner holds it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EmbeddedStateStore } from '@perpmesh/state';
import { PairHandover } from './handover.js';
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

  test('handover: the holder keeps a pair until the next owner is warm, lingers until it holds it; a leaving replica hands over the same way', async () => {
    const HANDOVER_MS = 10_000;
    const warm = new Set<string>(); // the pairs whose book is synced on the replica asking
    const replicaWithHandover = (holder: string) => {
      const handover = new PairHandover({
        store,
        holder,
        ttlMs: TTL,
        timeoutMs: HANDOVER_MS,
        nowMs: () => now,
      });
      const leases = new InstrumentLeases({
        store,
        holder,
        pairs,
        ttlMs: TTL,
        maxReplicas: 4,
        nowMs: () => now,
        holdForHandover: (pair, to) => handover.holdForHandover(pair, to),
      });
      const round = async () => {
        const r = await leases.tick();
        const plan = await handover.afterRound(
          r,
          (p) => warm.has(`${holder}:${pairKey(p)}`),
          (p) => leases.currentOwner(p),
        );
        return { r, published: keysOf(plan.published), warming: keysOf(plan.warming) };
      };
      return { leases, handover, round };
    };
    now += 60_000; // the first test's leases have lapsed
    const a = replicaWithHandover('ha');
    const b = replicaWithHandover('hb');
    assert.equal((await a.round()).r.owned.length, 10, 'a alone serves everything');

    // b joins: its share stays with a (handing over) while b warms it, silent.
    const bJoin = await b.round();
    const bShare = keysOf(bJoin.r.waiting);
    assert.ok(bShare.length > 0 && bShare.length < 10, `b's share: ${bShare.length}`);
    assert.deepEqual(bJoin.r.owned, []);
    assert.deepEqual(bJoin.warming, bShare, 'b follows its coming pairs without publishing');
    const aHolds = await a.round();
    assert.equal(aHolds.r.owned.length, 10, 'a keeps every pair: b is not ready');
    assert.deepEqual(keysOf(aHolds.r.handingOver), bShare);
    assert.equal(aHolds.published.length, 10);

    // b's books synced: b says so (warm leases); a releases, and goes on publishing them.
    for (const k of bShare) warm.add(`hb:${k}`);
    await b.round();
    const aReleases = await a.round();
    assert.equal(aReleases.r.owned.length, 10 - bShare.length);
    assert.equal(aReleases.published.length, 10, 'released, still published (lingering)');
    const bTakes = await b.round();
    assert.deepEqual(keysOf(bTakes.r.owned), bShare);
    assert.deepEqual(bTakes.r.moved, [], 'handed over: nothing was taken from a');
    assert.deepEqual(bTakes.warming, []);
    // a has seen b hold them for a round: it stops publishing them.
    assert.equal((await a.round()).published.length, 10, 'one round of overlap');
    const aAfter = await a.round();
    assert.deepEqual(aAfter.published, keysOf(aAfter.r.owned));
    assert.equal(aAfter.published.length + bShare.length, 10);

    // b leaves (a clean stop): its slot goes, it keeps its pairs until a is warm for them.
    await b.leases.leave();
    const aWaits = await a.round();
    assert.deepEqual(aWaits.r.members, ['ha']);
    assert.deepEqual(keysOf(aWaits.r.waiting), bShare);
    assert.deepEqual(aWaits.warming, bShare);
    const bHolds = await b.round();
    assert.deepEqual(keysOf(bHolds.r.owned), bShare, 'b keeps them: a is not ready');
    assert.deepEqual(keysOf(bHolds.r.handingOver), bShare);
    for (const k of bShare) warm.add(`ha:${k}`);
    await a.round(); // a warm
    const bReleases = await b.round();
    assert.deepEqual(bReleases.r.owned, []);
    assert.deepEqual(bReleases.published, bShare, 'b still publishes them until a holds them');
    assert.equal((await a.round()).r.owned.length, 10);
    await b.round(); // sees a holding them
    assert.deepEqual((await b.round()).published, [], 'b has handed everything over');
    assert.equal(b.handover.lingering, false);

    // A next owner that never gets ready: the holder waits at most the handover timeout.
    const c = replicaWithHandover('hc');
    const cShare = keysOf((await c.round()).r.waiting);
    assert.ok(cShare.length > 0);
    assert.equal((await a.round()).r.owned.length, 10, 'a waits for c');
    // c stays alive (its rounds renew its slot) and never warms.
    const waitStartedAt = now;
    let aGivesUp = await a.round();
    while (aGivesUp.r.owned.length === 10) {
      assert.ok(now - waitStartedAt < HANDOVER_MS, 'a waited past the handover timeout');
      now += 1_000;
      await c.round();
      aGivesUp = await a.round();
    }
    assert.equal(now - waitStartedAt, HANDOVER_MS, 'a released when the timeout was reached');
    assert.equal(aGivesUp.r.owned.length, 10 - cShare.length);
    assert.deepEqual(keysOf((await c.round()).r.owned), cShare);
    for (const r of [a, b, c]) {
      await r.leases.releaseAll();
      await r.handover.releaseAll();
    }
  });
});
