/**
 * The StateStore contract: one suite, run against every adapter
 * (statestore.embedded.contract.test.ts, statestore.redis.contract.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import {
  type AppliedSeqs,
  MAX_NONCE,
  NonceExhaustedError,
  type NonceKey,
  ProjectionConflictError,
  projectionStoreOf,
  type StateStore,
  StateStoreClosedError,
} from '@perpmesh/state';

export interface StateStoreFixture {
  readonly store: StateStore;
  /** Moves the store's clock forward for TTLs: an injected clock, or a real wait (Redis). */
  advanceTimeMs(ms: number): Promise<void>;
  /** Closes the store and removes everything it wrote (keys, files). */
  cleanup(): Promise<void>;
}

/** Fails unless `promise` rejects with a ValidationError naming `field`. */
async function rejectsValidation(promise: Promise<unknown>, field: string): Promise<ValidationError> {
  let caught: unknown;
  await promise.catch((err: unknown) => {
    caught = err;
  });
  assert.ok(
    caught instanceof ValidationError,
    `expected ValidationError for ${field}, got ${String(caught)}`,
  );
  assert.equal(caught.field, field);
  return caught;
}

/** Asserts `values` are distinct and, sorted, exactly first, first+1, ... (no gap). */
function assertContiguous(values: readonly bigint[], first: bigint): void {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  assert.equal(new Set(sorted).size, values.length, 'values are distinct');
  sorted.forEach((value, index) => {
    assert.equal(value, first + BigInt(index), `value #${index} continues the range without a gap`);
  });
}

export function describeStateStoreContract(name: string, makeStore: () => Promise<StateStoreFixture>): void {
  describe(`StateStore contract: ${name}`, () => {
    let fixture: StateStoreFixture;
    let store: StateStore;
    let counter = 0;
    /** A counter no other test touches. */
    const freshKey = (label = 'k'): NonceKey => ({
      venue: 'lighter',
      account: `acct-${++counter}`,
      apiKeyId: `${label}-${counter}`,
    });
    const freshName = (label: string): string => `${label}-${++counter}`;

    before(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });
    after(async () => {
      await fixture?.cleanup();
    });

    describe('nonces', () => {
      test('a fresh counter starts at 0 and hands out strictly increasing values', async () => {
        const key = freshKey();
        assert.equal(await store.peekNonce(key), 0n);
        const values: bigint[] = [];
        for (let i = 0; i < 10; i++) values.push(await store.allocateNonce(key));
        assert.deepEqual(values, [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n]);
        assert.equal(await store.peekNonce(key), 10n);
        assert.equal(await store.peekNonce(key), 10n, 'peek allocates nothing');
      });

      test('allocateNonces returns a contiguous block in one step', async () => {
        const key = freshKey();
        assert.equal(await store.allocateNonce(key), 0n);
        const block = await store.allocateNonces(key, 5);
        assert.deepEqual(block, { first: 1n, last: 5n, count: 5 });
        assert.equal(await store.allocateNonce(key), 6n);
        const single = await store.allocateNonces(key, 1);
        assert.deepEqual(single, { first: 7n, last: 7n, count: 1 });
        assert.equal(await store.peekNonce(key), 8n);
      });

      test('a floor above the counter is honoured; one below it changes nothing', async () => {
        const key = freshKey();
        const nowMs = 1_767_225_600_000n; // Hyperliquid style: nonce >= now in ms
        assert.equal(await store.allocateNonce(key, { floor: nowMs }), nowMs);
        assert.equal(
          await store.allocateNonce(key, { floor: nowMs }),
          nowMs + 1n,
          'same floor again: still increasing',
        );
        assert.equal(await store.allocateNonce(key, { floor: 5n }), nowMs + 2n, 'a lower floor is ignored');
        const block = await store.allocateNonces(key, 3, { floor: nowMs + 100n });
        assert.deepEqual(block, { first: nowMs + 100n, last: nowMs + 102n, count: 3 });
        assert.equal(await store.allocateNonce(key), nowMs + 103n);
      });

      test('resync only moves forward: lower ignored, higher honoured', async () => {
        const key = freshKey();
        for (let i = 0; i < 5; i++) await store.allocateNonce(key);
        assert.equal(await store.resyncNonce(key, 2n), 5n, 'lower: returns the effective next');
        assert.equal(await store.allocateNonce(key), 5n);
        assert.equal(await store.resyncNonce(key, 6n), 6n, 'equal to next: no change');
        assert.equal(await store.resyncNonce(key, 1_000n), 1_000n, 'higher: honoured');
        assert.equal(await store.peekNonce(key), 1_000n);
        assert.equal(await store.allocateNonce(key), 1_000n);
        assert.equal(await store.resyncNonce(key, 0n), 1_001n);
        const fresh = freshKey();
        assert.equal(await store.resyncNonce(fresh, 42n), 42n, 'resync of a fresh counter');
        assert.equal(await store.allocateNonce(fresh), 42n);
      });

      test('counters are independent per venue, account and api key', async () => {
        const base = freshKey();
        const keys: NonceKey[] = [
          base,
          { ...base, venue: 'hyperliquid' },
          { ...base, account: `${base.account}-b` },
          { ...base, apiKeyId: `${base.apiKeyId}-b` },
        ];
        await store.allocateNonces(keys[0] as NonceKey, 10);
        await store.resyncNonce(keys[1] as NonceKey, 500n);
        assert.equal(await store.allocateNonce(keys[2] as NonceKey), 0n);
        assert.equal(await store.allocateNonce(keys[3] as NonceKey), 0n);
        assert.equal(await store.allocateNonce(keys[0] as NonceKey), 10n);
        assert.equal(await store.allocateNonce(keys[1] as NonceKey), 500n);
      });

      test('ids containing ":" cannot make two counters collide', async () => {
        const tag = freshName('colon');
        const a: NonceKey = { venue: `${tag}:x`, account: 'y', apiKeyId: '1' };
        const b: NonceKey = { venue: tag, account: 'x:y', apiKeyId: '1' };
        await store.allocateNonces(a, 3);
        assert.equal(await store.allocateNonce(b), 0n);
        assert.equal(await store.allocateNonce(a), 3n);
      });

      test('values beyond 2^53 stay exact', async () => {
        const key = freshKey();
        const big = 2n ** 60n + 7n; // not representable as a JS number
        assert.equal(await store.resyncNonce(key, big), big);
        assert.equal(await store.allocateNonce(key), big);
        assert.deepEqual(await store.allocateNonces(key, 2), { first: big + 1n, last: big + 2n, count: 2 });
        assert.equal(await store.allocateNonce(key, { floor: big + 10n }), big + 10n);
        assert.equal(await store.peekNonce(key), big + 11n);
      });

      test('near the 63-bit limit: a block that does not fit fails and allocates nothing', async () => {
        const key = freshKey();
        await store.resyncNonce(key, MAX_NONCE - 3n);
        await assert.rejects(store.allocateNonces(key, 4), NonceExhaustedError);
        assert.equal(await store.peekNonce(key), MAX_NONCE - 3n);
        assert.deepEqual(await store.allocateNonces(key, 3), {
          first: MAX_NONCE - 3n,
          last: MAX_NONCE - 1n,
          count: 3,
        });
        await assert.rejects(store.allocateNonce(key), NonceExhaustedError);
      });

      test('2,000 concurrent allocations: all distinct, no gap', async () => {
        const key = freshKey();
        const values = await Promise.all(Array.from({ length: 2_000 }, () => store.allocateNonce(key)));
        assertContiguous(values, 0n);
        assert.equal(await store.peekNonce(key), 2_000n);
      });

      test('concurrent blocks and singles interleave without overlap or gap', async () => {
        const key = freshKey();
        const blocks = Array.from({ length: 200 }, () => store.allocateNonces(key, 5));
        const singles = Array.from({ length: 500 }, () => store.allocateNonce(key));
        const values: bigint[] = await Promise.all(singles);
        for (const block of await Promise.all(blocks)) {
          assert.equal(block.last - block.first + 1n, 5n);
          for (let v = block.first; v <= block.last; v++) values.push(v);
        }
        assertContiguous(values, 0n);
      });

      test('bad input is rejected with the field named, and nothing is allocated', async () => {
        const key = freshKey();
        await rejectsValidation(store.allocateNonces(key, 0), 'count');
        await rejectsValidation(store.allocateNonces(key, 1.5), 'count');
        await rejectsValidation(store.allocateNonce(key, { floor: -1n }), 'options.floor');
        await rejectsValidation(store.allocateNonce(key, { floor: 5 as unknown as bigint }), 'options.floor');
        await rejectsValidation(store.resyncNonce(key, MAX_NONCE + 1n), 'venueNextNonce');
        await rejectsValidation(store.allocateNonce({ ...key, venue: '' }), 'key.venue');
        const secretLooking = 'not-a-secret-but-treated-as-one';
        const err = await rejectsValidation(
          store.allocateNonce({ ...key, apiKeyId: 5 as unknown as string }),
          'key.apiKeyId',
        );
        assert.ok(!err.message.includes('5'), 'apiKeyId values are not echoed');
        const long = await rejectsValidation(
          store.allocateNonce({ ...key, apiKeyId: secretLooking.repeat(20) }),
          'key.apiKeyId',
        );
        assert.ok(!long.message.includes(secretLooking), 'apiKeyId values are not echoed');
        assert.equal(await store.peekNonce(key), 0n);
      });
    });

    describe('idempotency', () => {
      test('the first claim wins; later claims get its value', async () => {
        const scope = freshName('orders');
        assert.deepEqual(await store.claimIdempotencyKey(scope, 'cid-1', 'order-A', 60_000), {
          claimed: true,
        });
        assert.deepEqual(await store.claimIdempotencyKey(scope, 'cid-1', 'order-B', 60_000), {
          claimed: false,
          existingValue: 'order-A',
        });
        assert.equal(await store.getIdempotencyKey(scope, 'cid-1'), 'order-A');
        assert.equal(await store.getIdempotencyKey(scope, 'cid-2'), undefined);
        assert.deepEqual(await store.claimIdempotencyKey(`${scope}-other`, 'cid-1', 'order-C', 60_000), {
          claimed: true,
        });
      });

      test('50 concurrent claims of one key: exactly one wins, all see its value', async () => {
        const scope = freshName('race');
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => store.claimIdempotencyKey(scope, 'cid', `order-${i}`, 60_000)),
        );
        const winners = results.flatMap((r, i) => (r.claimed ? [i] : []));
        assert.equal(winners.length, 1);
        const winnerValue = `order-${winners[0]}`;
        for (const r of results) if (!r.claimed) assert.equal(r.existingValue, winnerValue);
        assert.equal(await store.getIdempotencyKey(scope, 'cid'), winnerValue);
      });

      test('a claim expires after its TTL and can be claimed again', async () => {
        const scope = freshName('ttl');
        // TTLs long enough that a loaded machine still reads the claim before it lapses.
        assert.equal((await store.claimIdempotencyKey(scope, 'cid', 'first', 400)).claimed, true);
        assert.equal(await store.getIdempotencyKey(scope, 'cid'), 'first', 'live before the TTL');
        await fixture.advanceTimeMs(500);
        assert.equal(await store.getIdempotencyKey(scope, 'cid'), undefined);
        assert.deepEqual(await store.claimIdempotencyKey(scope, 'cid', 'second', 60_000), { claimed: true });
        assert.equal(await store.getIdempotencyKey(scope, 'cid'), 'second');
      });

      test('update is compare-and-set and keeps the TTL', async () => {
        const scope = freshName('update');
        await store.claimIdempotencyKey(scope, 'cid', 'pending', 500);
        assert.equal(await store.updateIdempotencyValue(scope, 'cid', 'wrong', 'order-9'), false);
        assert.equal(await store.getIdempotencyKey(scope, 'cid'), 'pending');
        assert.equal(await store.updateIdempotencyValue(scope, 'cid', 'pending', 'order-9'), true);
        assert.equal(await store.getIdempotencyKey(scope, 'cid'), 'order-9');
        assert.equal(await store.updateIdempotencyValue(scope, 'missing', 'pending', 'x'), false);
        assert.equal(
          await store.getIdempotencyKey(scope, 'missing'),
          undefined,
          'update never creates a claim',
        );
        await fixture.advanceTimeMs(600);
        assert.equal(
          await store.getIdempotencyKey(scope, 'cid'),
          undefined,
          'the original TTL still applies',
        );
      });

      test('release deletes only the expected value', async () => {
        const scope = freshName('release');
        await store.claimIdempotencyKey(scope, 'cid', 'mine', 60_000);
        assert.equal(await store.releaseIdempotencyKey(scope, 'cid', 'theirs'), false);
        assert.equal(await store.getIdempotencyKey(scope, 'cid'), 'mine');
        assert.equal(await store.releaseIdempotencyKey(scope, 'cid', 'mine'), true);
        assert.equal(await store.getIdempotencyKey(scope, 'cid'), undefined);
        assert.equal(await store.releaseIdempotencyKey(scope, 'cid', 'mine'), false);
        assert.deepEqual(await store.claimIdempotencyKey(scope, 'cid', 'retry', 60_000), { claimed: true });
      });

      test('bad input is rejected with the field named', async () => {
        await rejectsValidation(store.claimIdempotencyKey('s', 'k', 'v', 0), 'ttlMs');
        await rejectsValidation(store.claimIdempotencyKey('s', 'k', 'v', 1.5), 'ttlMs');
        await rejectsValidation(store.claimIdempotencyKey('', 'k', 'v', 1_000), 'scope');
        await rejectsValidation(store.claimIdempotencyKey('s', '', 'v', 1_000), 'key');
        await rejectsValidation(store.claimIdempotencyKey('s', 'k', 7 as unknown as string, 1_000), 'value');
      });
    });

    describe('projections', () => {
      interface Account {
        balance: string;
        positions: Record<string, string>;
        lastSeq?: number;
      }

      test('absent until saved; state and applied round-trip', async () => {
        const name = freshName('account');
        assert.equal(await store.loadProjection(name), undefined);
        const state: Account = {
          balance: '1000.123456789012345678901',
          positions: { 'BTC-USDC-PERP': '-0.5' },
        };
        await store.saveProjection(name, state, { ACCT: 7, EXEC: 3 }, undefined);
        const loaded = await store.loadProjection<Account>(name);
        assert.deepEqual(loaded, { state, applied: { ACCT: 7, EXEC: 3 } });
        assert.ok(loaded);
        loaded.state.balance = 'mutated';
        assert.equal(
          (await store.loadProjection<Account>(name))?.state.balance,
          state.balance,
          'loads are copies',
        );
      });

      test('compare-and-set: a stale writer gets ProjectionConflictError and writes nothing', async () => {
        const name = freshName('cas');
        await store.saveProjection(name, { v: 1 }, { ACCT: 1 }, undefined);
        await store.saveProjection(name, { v: 2 }, { ACCT: 2 }, { ACCT: 1 });
        await assert.rejects(
          store.saveProjection(name, { v: 'stale' }, { ACCT: 3 }, { ACCT: 1 }),
          (err: unknown) => {
            assert.ok(err instanceof ProjectionConflictError);
            assert.equal(err.code, 'PROJECTION_CONFLICT');
            assert.deepEqual(err.actualApplied, { ACCT: 2 });
            assert.deepEqual(err.expectedApplied, { ACCT: 1 });
            return true;
          },
        );
        await assert.rejects(
          store.saveProjection(name, { v: 'new' }, { ACCT: 9 }, undefined),
          ProjectionConflictError,
        );
        await assert.rejects(
          store.saveProjection(name, { v: 'new' }, { ACCT: 9 }, {}),
          ProjectionConflictError,
        );
        assert.deepEqual(await store.loadProjection(name), { state: { v: 2 }, applied: { ACCT: 2 } });
        await store.saveProjection(name, { v: 3 }, { ACCT: 3, EXEC: 1 }, { ACCT: 2 });
        assert.deepEqual(await store.loadProjection(name), {
          state: { v: 3 },
          applied: { ACCT: 3, EXEC: 1 },
        });
      });

      test('expectedApplied {} means "nothing saved yet", like undefined', async () => {
        const name = freshName('empty');
        await store.saveProjection(name, { v: 1 }, { ACCT: 1 }, {});
        assert.deepEqual((await store.loadProjection(name))?.applied, { ACCT: 1 });
      });

      test('key order in applied does not matter for the compare', async () => {
        const name = freshName('order');
        await store.saveProjection(name, { v: 1 }, { EXEC: 1, ACCT: 1 }, undefined);
        await store.saveProjection(name, { v: 2 }, { EXEC: 2, ACCT: 1 }, { ACCT: 1, EXEC: 1 });
        assert.deepEqual((await store.loadProjection(name))?.state, { v: 2 });
      });

      test('concurrent writers with the same expectation: one wins, state and applied stay together', async () => {
        const name = freshName('race');
        await store.saveProjection(name, { writer: -1, seq: 1 }, { ACCT: 1 }, undefined);
        const outcomes = await Promise.allSettled(
          Array.from({ length: 20 }, (_, writer) =>
            store.saveProjection(name, { writer, seq: 2 + writer }, { ACCT: 2 + writer }, { ACCT: 1 }),
          ),
        );
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        assert.equal(won.length, 1, 'exactly one writer wins');
        for (const o of outcomes) {
          if (o.status === 'rejected') assert.ok(o.reason instanceof ProjectionConflictError);
        }
        const loaded = await store.loadProjection<{ writer: number; seq: number }>(name);
        assert.ok(loaded);
        assert.equal(loaded.applied.ACCT, loaded.state.seq, 'applied was written with its own state');
      });

      test('never written twice for the same sequence, never backwards', async () => {
        const name = freshName('monotonic');
        await store.saveProjection(name, { v: 1 }, { ACCT: 5 }, undefined);
        await rejectsValidation(store.saveProjection(name, { v: 2 }, { ACCT: 5 }, { ACCT: 5 }), 'applied');
        await rejectsValidation(
          store.saveProjection(name, { v: 2 }, { ACCT: 4 }, { ACCT: 5 }),
          'applied.ACCT',
        );
        await rejectsValidation(
          store.saveProjection(name, { v: 2 }, { EXEC: 1 }, { ACCT: 5 }),
          'applied.ACCT',
        );
        await rejectsValidation(
          store.saveProjection(name, { v: 2 }, { ACCT: 6.5 }, { ACCT: 5 }),
          'applied.ACCT',
        );
        await rejectsValidation(store.saveProjection(freshName('x'), { v: 1 }, {}, undefined), 'applied');
        assert.deepEqual(await store.loadProjection(name), { state: { v: 1 }, applied: { ACCT: 5 } });
      });

      test('state must be JSON: bigint is rejected (Decimals go as strings)', async () => {
        const name = freshName('json');
        await rejectsValidation(store.saveProjection(name, { size: 1n }, { ACCT: 1 }, undefined), 'state');
        assert.equal(await store.loadProjection(name), undefined);
      });

      test('projectionStoreOf gives the projector its load/save shape', async () => {
        const name = freshName('adapter');
        const projections = projectionStoreOf(store);
        assert.equal(await projections.load(name), undefined);
        const applied: AppliedSeqs = { ACCT: 10 };
        await projections.save(name, { n: 1 }, applied, undefined);
        assert.deepEqual(await projections.load(name), { state: { n: 1 }, applied });
        await assert.rejects(
          projections.save(name, { n: 2 }, { ACCT: 11 }, { ACCT: 9 }),
          ProjectionConflictError,
        );
        await projections.save(name, { n: 2 }, { ACCT: 11 }, applied);
        assert.deepEqual(await store.loadProjection(name), { state: { n: 2 }, applied: { ACCT: 11 } });
        // The libs/bus spelling of the same two operations.
        await projections.saveProjection(name, { n: 3 }, { ACCT: 12 }, { ACCT: 11 });
        assert.deepEqual(await projections.loadProjection(name), { state: { n: 3 }, applied: { ACCT: 12 } });
      });
    });

    test('a closed store refuses work with StateStoreClosedError', async () => {
      const other = await makeStore();
      try {
        await other.store.close();
        await other.store.close(); // idempotent
        await assert.rejects(other.store.allocateNonce(freshKey()), StateStoreClosedError);
        await assert.rejects(other.store.getIdempotencyKey('s', 'k'), StateStoreClosedError);
        await assert.rejects(other.store.loadProjection('p'), StateStoreClosedError);
      } finally {
        await other.cleanup();
      }
    });
  });
}
