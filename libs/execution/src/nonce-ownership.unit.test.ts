import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLogger, HealthRegistry } from '@perpmesh/runtime';
import { type NonceKey, preferredOwner, type StateStore } from '@perpmesh/state';
import type { VenueCapabilities, VenuePort } from '@perpmesh/venues';
import {
  NONCE_KEYS_COMPONENT,
  NonceKeyMovingError,
  NonceKeyOwnership,
  needsOneSender,
  nonceKeyName,
  routeOf,
  usableHere,
} from './nonce-ownership.js';

const caps = (c: Partial<VenueCapabilities>): Pick<VenuePort, 'capabilities'> => ({
  capabilities: {
    nonces: false,
    nonceFloorIsTimeMs: false,
    rejectsDuplicateClientOrderId: false,
    cancelAllOrders: true,
    postOnly: true,
    fok: true,
    ...c,
  },
});

describe('which keys need one sender', () => {
  test('strict nonces only: not a time-window nonce venue, not a venue without nonces', () => {
    assert.equal(needsOneSender(caps({ nonces: true, strictNonceOrder: true })), true);
    assert.equal(needsOneSender(caps({ nonces: true, nonceFloorIsTimeMs: true })), false);
    assert.equal(needsOneSender(caps({ nonces: false, strictNonceOrder: true })), false);
  });

  test('the lease name is the nonce counter triple', () => {
    assert.equal(nonceKeyName({ venue: 'lighter', account: 'main', apiKeyId: '7:3' }), 'lighter|main|7:3');
  });
});

describe('routeOf', () => {
  const base = { validUntilMs: 2_000, nowMs: 1_000, self: 'me' };
  test('usable and inside our lease by our clock: here', () => {
    assert.deepEqual(routeOf({ ...base, usable: true }), { kind: 'here' });
  });
  test('our lease lapsed by our own clock: never here, even if still marked usable', () => {
    assert.equal(usableHere({ usable: true, validUntilMs: 1_000, nowMs: 1_000 }), false);
    assert.deepEqual(routeOf({ ...base, usable: true, nowMs: 2_000, storedHolder: 'other' }), {
      kind: 'owner',
      holder: 'other',
    });
  });
  test('held by another live replica: its owner', () => {
    assert.deepEqual(routeOf({ ...base, usable: false, storedHolder: 'other' }), {
      kind: 'owner',
      holder: 'other',
    });
  });
  test('nobody holds it, or we hold it but have not resynced yet: moving', () => {
    assert.deepEqual(routeOf({ ...base, usable: false }), { kind: 'moving' });
    assert.deepEqual(routeOf({ ...base, usable: false, storedHolder: 'me' }), { kind: 'moving' });
  });
  test('held by a replica proven dead: moving (its key is being taken over), never forwarded to it', () => {
    assert.deepEqual(routeOf({ ...base, usable: false, storedHolder: 'other', storedHolderDead: true }), {
      kind: 'moving',
    });
  });
});

describe('NonceKeyMovingError', () => {
  test('says ownership is moving, why, and when the holder lease lapses', () => {
    const err = new NonceKeyMovingError(
      { venue: 'lighter', account: 'main' },
      {
        why: 'its owner execution replica x did not answer: refused',
        freesAtMs: Date.UTC(2026, 0, 2, 3, 4, 5),
      },
    );
    assert.equal(err.code, 'UNAVAILABLE');
    assert.match(err.message, /^lighter\/main: .*ownership is moving/);
    assert.match(err.message, /replica x did not answer: refused/);
    assert.match(err.message, /lease lapses at 2026-01-02T03:04:05\.000Z/);
  });
});

/** The state store calls leases and resyncs use, in memory (no expiry: leases carry their own). */
function memoryStore(): StateStore & { resyncs: NonceKey[] } {
  const values = new Map<string, string>();
  const id = (scope: string, key: string) => `${scope}\u0000${key}`;
  const store = {
    resyncs: [] as NonceKey[],
    async claimIdempotencyKey(scope: string, key: string, value: string) {
      const existing = values.get(id(scope, key));
      if (existing !== undefined) return { claimed: false, existingValue: existing };
      values.set(id(scope, key), value);
      return { claimed: true };
    },
    async getIdempotencyKey(scope: string, key: string) {
      return values.get(id(scope, key));
    },
    async updateIdempotencyValue(scope: string, key: string, expected: string, next: string) {
      if (values.get(id(scope, key)) !== expected) return false;
      values.set(id(scope, key), next);
      return true;
    },
    async releaseIdempotencyKey(scope: string, key: string, expected: string) {
      if (values.get(id(scope, key)) !== expected) return false;
      values.delete(id(scope, key));
      return true;
    },
    async resyncNonce(key: NonceKey, next: bigint) {
      store.resyncs.push(key);
      return next;
    },
  };
  return store as unknown as StateStore & { resyncs: NonceKey[] };
}

const strictPort = {
  venue: 'lighter',
  account: 'main',
  apiKeyId: '1:2',
  capabilities: caps({ nonces: true, strictNonceOrder: true }).capabilities,
  fetchNextNonce: async () => 42n,
} as unknown as VenuePort;
const otherPort = { ...strictPort, venue: 'hyperliquid', capabilities: caps({ nonces: true }).capabilities };

function ownership(
  store: StateStore,
  holder: string,
  clock: { now: number },
  ports: readonly VenuePort[] = [strictPort],
  ttlMs = 1_000,
  dead: ReadonlySet<string> = new Set(),
) {
  const health = new HealthRegistry();
  return {
    health,
    owner: new NonceKeyOwnership({
      store,
      holder,
      ports,
      ttlMs,
      renewIntervalMs: ttlMs / 4,
      maxReplicas: 4,
      nowMs: () => clock.now,
      logger: createLogger({ service: 'execution', level: 'silent' }),
      health,
      drainTimeoutMs: 5_000,
      // The process behind a holder is "provably dead" when the test says so.
      judgeHolder: (h) =>
        dead.has(h) ? { dead: true, reason: `${h} is not running` } : { dead: false, reason: 'running' },
    }),
  };
}

describe('NonceKeyOwnership', () => {
  test('a lone replica owns the keys after its first round, the strict one resynced from the venue; the others are not gated', async () => {
    const store = memoryStore();
    const clock = { now: 1_000 };
    const { owner, health } = ownership(store, 'a', clock, [strictPort, otherPort as VenuePort]);
    await owner.start();
    try {
      assert.deepEqual(owner.owned, [nonceKeyName(strictPort), nonceKeyName(otherPort)]);
      assert.deepEqual(store.resyncs, [{ venue: 'lighter', account: 'main', apiKeyId: '1:2' }]);
      assert.equal(owner.signsHere(strictPort), true);
      assert.equal(owner.portOf('hyperliquid', 'main'), undefined, 'not gated: any replica sends');
      clock.now += 1_000;
      assert.deepEqual(await owner.route(otherPort), { kind: 'here' }, 'even past our lease');
      assert.equal(owner.signsHere(otherPort), true);
      assert.equal(health.component(NONCE_KEYS_COMPONENT)?.ready, true);
    } finally {
      await owner.stop();
    }
  });

  test('fenced by its own clock: once the TTL passed since its last good round it signs nothing', async () => {
    const store = memoryStore();
    const clock = { now: 1_000 };
    const { owner } = ownership(store, 'a', clock);
    await owner.start();
    try {
      clock.now += 1_000;
      assert.equal(owner.signsHere(strictPort), false);
      assert.throws(() => owner.enter(strictPort), NonceKeyMovingError);
      await owner.tick();
      assert.equal(owner.signsHere(strictPort), true, 'renewed: usable again');
    } finally {
      await owner.stop();
    }
  });

  test('a joiner preferred for the key gets it only after the requests in flight on the holder finish', async () => {
    const store = memoryStore();
    const clock = { now: 1_000 };
    const key = nonceKeyName(strictPort);
    // Names such that the joiner is the key's preferred owner once both are members.
    const [first, joiner] = ['a', 'b', 'c', 'd']
      .flatMap((x) => ['a', 'b', 'c', 'd'].map((y) => [x, y] as const))
      .find(([x, y]) => x !== y && preferredOwner(key, [x, y].sort()) === y) as readonly [string, string];
    const a = ownership(store, first, clock).owner;
    const b = ownership(store, joiner, clock).owner;
    await a.start();
    const close = a.enter(strictPort);
    await b.start();
    assert.deepEqual(await b.route(strictPort), { kind: 'owner', holder: first });
    // a's round finds the joiner and gives the key up: it waits for the open request.
    const round = a.tick();
    await new Promise((resolve) => setImmediate(resolve));
    assert.throws(() => a.enter(strictPort), NonceKeyMovingError, 'no new request while giving it up');
    await b.tick();
    assert.deepEqual(b.owned, [], 'still held by a while its request is in flight');
    close();
    await round;
    await b.tick();
    assert.deepEqual(b.owned, [key]);
    assert.deepEqual(await a.route(strictPort), { kind: 'owner', holder: joiner });
    await a.stop();
    await b.stop();
  });

  test('a clean stop releases the key at once: the other takes it on its next round', async () => {
    const store = memoryStore();
    const clock = { now: 1_000 };
    const a = ownership(store, 'a', clock).owner;
    const b = ownership(store, 'b', clock).owner;
    await a.start();
    await b.start();
    const holder = a.owned.length > 0 ? a : b;
    const other = holder === a ? b : a;
    await holder.stop();
    assert.deepEqual(await other.route(strictPort), { kind: 'moving' }, 'nobody holds it between rounds');
    await other.tick();
    await other.tick();
    assert.deepEqual(other.owned, [nonceKeyName(strictPort)]);
    await other.stop();
  });
  /** Two replicas on one key, settled: [holder, other]. */
  async function twoReplicas(store: StateStore, clock: { now: number }, dead: Set<string>) {
    const a = ownership(store, 'a', clock, [strictPort], 1_000, dead);
    const b = ownership(store, 'b', clock, [strictPort], 1_000, dead);
    await a.owner.start();
    await b.owner.start();
    await a.owner.tick();
    await b.owner.tick();
    return a.owner.owned.length > 0 ? [a, b] : [b, a];
  }

  test('an owner proven dead is left out of the members: the survivor takes its key at its next round, before the lease lapses, and is told', async () => {
    const store = memoryStore();
    const clock = { now: 1_000 };
    const dead = new Set<string>();
    const [holder, survivor] = await twoReplicas(store, clock, dead);
    assert.ok(holder && survivor);
    const gained: string[] = [];
    survivor.owner.onKeyGained((port) => gained.push(nonceKeyName(port)));
    // Killed -9: renews nothing from now on; its process is gone.
    dead.add(holder.owner.holder);
    clock.now += 300;
    assert.deepEqual(await survivor.owner.route(strictPort), { kind: 'owner', holder: holder.owner.holder });
    store.resyncs.length = 0;
    await survivor.owner.recheck();
    assert.deepEqual(survivor.owner.owned, [nonceKeyName(strictPort)], 'taken 300 ms in, the TTL is 1 s');
    assert.deepEqual(store.resyncs.length, 1, 'resynced from the venue before its first send');
    assert.deepEqual(gained, [nonceKeyName(strictPort)]);
    assert.deepEqual(survivor.owner.members, [survivor.owner.holder]);
    assert.deepEqual(survivor.health.component(NONCE_KEYS_COMPONENT)?.detail, {
      owns: [nonceKeyName(strictPort)],
      members: [survivor.owner.holder],
      deadMembers: [holder.owner.holder],
      elsewhere: {},
    });
    await survivor.owner.stop();
  });

  test('an owner not proven dead (another host) keeps its key until its lease lapses; readiness says who holds it until when', async () => {
    const store = memoryStore();
    const clock = { now: 1_000 };
    const [holder, survivor] = await twoReplicas(store, clock, new Set());
    assert.ok(holder && survivor);
    const lease = await survivor.owner.storedLease(strictPort);
    assert.equal(lease?.holder, holder.owner.holder);
    // Gone silent (a partition, or dead where nothing proves it): it renews nothing.
    clock.now += 500;
    await survivor.owner.recheck();
    assert.deepEqual(survivor.owner.owned, [], 'no second sender while its lease may still be used');
    assert.deepEqual(survivor.health.component(NONCE_KEYS_COMPONENT)?.detail, {
      owns: [],
      members: [holder.owner.holder, survivor.owner.holder].sort(),
      elsewhere: {
        [nonceKeyName(strictPort)]:
          `${holder.owner.holder} until ${new Date(lease?.expiresAtMs ?? 0).toISOString()}`,
      },
    });
    clock.now = (lease?.expiresAtMs ?? 0) + 1;
    await survivor.owner.tick();
    await survivor.owner.tick();
    assert.deepEqual(survivor.owner.owned, [nonceKeyName(strictPort)], 'taken once the lease lapsed');
    await survivor.owner.stop();
    await holder.owner.stop();
  });

  test('calls failing together share one recheck: at most one round every 200 ms', async () => {
    const store = memoryStore();
    let renewals = 0;
    const update = store.updateIdempotencyValue.bind(store);
    store.updateIdempotencyValue = async (...args) => {
      renewals += 1;
      return update(...args);
    };
    const clock = { now: 1_000 };
    const { owner } = ownership(store, 'a', clock);
    await owner.start();
    renewals = 0;
    clock.now += 100;
    await Promise.all(Array.from({ length: 5 }, () => owner.recheck()));
    assert.equal(renewals, 0, 'within 200 ms of the last round: none');
    clock.now += 150;
    await Promise.all(Array.from({ length: 5 }, () => owner.recheck()));
    assert.equal(renewals, 2, 'one round: the member slot and the key renewed once');
    await owner.stop();
  });

  test('a replica is told once when it gains a key, not again while it keeps it', async () => {
    const store = memoryStore();
    const clock = { now: 1_000 };
    const { owner } = ownership(store, 'a', clock);
    const gained: string[] = [];
    owner.onKeyGained((port) => gained.push(port.venue));
    await owner.start();
    await owner.tick();
    await owner.tick();
    assert.deepEqual(gained, ['lighter']);
    await owner.stop();
  });
});
