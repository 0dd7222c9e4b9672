/**
 * A Redis that stops answering while its connections stay open (SIGSTOP): every store call
 * fails within the command timeout with an error naming the operation, and after the thaw
 * the same store answers again without a restart (the silent connection was dropped and
 * reconnected). Without the timeout every call below waits forever (the deadlines fail).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { withTimeout } from '@perpmesh/core';
import { RedisStateStore, StateStoreBackendError } from '@perpmesh/state';
import { eventually, FrozenServer, SilentCutProxy } from '@perpmesh/testing';

const COMMAND_TIMEOUT_MS = 500;
/** Far above the command timeout, far below "forever": a call that outlives it hung. */
const CALL_DEADLINE_MS = 10_000;

describe('RedisStateStore on a frozen redis-server', () => {
  let server: FrozenServer;
  let store: RedisStateStore;
  before(async () => {
    server = await FrozenServer.start('redis');
    store = await RedisStateStore.connect(server.url, {
      keyPrefix: 'pm:test:frozen:',
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    });
  });
  after(async () => {
    await store?.close();
    await server?.stop();
  });

  const key = { venue: 'paper', account: 'main', apiKeyId: 'frozen' };
  const calls: ReadonlyArray<readonly [operation: string, call: () => Promise<unknown>]> = [
    ['ping', () => store.ping()],
    ['nonce allocate', () => store.allocateNonce(key)],
    ['nonce allocate', () => store.allocateNonces(key, 3, { floor: 10n })],
    ['nonce resync', () => store.resyncNonce(key, 100n)],
    ['nonce peek', () => store.peekNonce(key)],
    ['idempotency claim', () => store.claimIdempotencyKey('orders', 'c2', 'v2', 60_000)],
    ['idempotency get', () => store.getIdempotencyKey('orders', 'c1')],
    ['idempotency update', () => store.updateIdempotencyValue('orders', 'c1', 'v1', 'v1b')],
    ['idempotency release', () => store.releaseIdempotencyKey('orders', 'c1', 'v1')],
    ['projection load', () => store.loadProjection('positions')],
    ['projection save', () => store.saveProjection('positions', { n: 2 }, { EXEC: 2 }, { EXEC: 1 })],
  ];

  test('every call fails with a named error within the timeout; after the thaw the same store answers', async () => {
    assert.deepEqual(await store.claimIdempotencyKey('orders', 'c1', 'v1', 60_000), { claimed: true });
    await store.saveProjection('positions', { n: 1 }, { EXEC: 1 }, undefined);
    const before = await store.allocateNonce(key);

    await server.freeze();
    // Twice: the first round on the open connection, the second after the client gave up on
    // it and reconnects (the kernel still accepts connections into a frozen server's backlog).
    for (const round of [1, 2]) {
      for (const [operation, call] of calls) {
        await withTimeout(
          assert.rejects(call(), (err: unknown) => {
            assert.ok(err instanceof StateStoreBackendError, `round ${round} ${operation}: ${String(err)}`);
            assert.match(err.message, new RegExp(`^redis ${operation} failed`));
            return true;
          }),
          CALL_DEADLINE_MS,
          `round ${round}: ${operation} on a frozen Redis`,
        );
      }
    }
    // A call that timed out has an unknown outcome: one the frozen server still had in its
    // socket buffer may run after the thaw. Nothing below depends on which did.
    const timedOut = await withTimeout(
      store.peekNonce(key).catch((err: unknown) => err),
      CALL_DEADLINE_MS,
      'peek on a frozen Redis',
    );
    assert.ok(timedOut instanceof StateStoreBackendError);
    assert.match(
      timedOut.message,
      new RegExp(`no answer within ${COMMAND_TIMEOUT_MS} ms \\(outcome unknown\\)`),
    );

    await server.thaw();
    const next = await eventually('the store answering after the thaw', () => store.peekNonce(key), 20_000);
    assert.ok(next > before, 'the counter only moves forward');
    assert.ok((await store.allocateNonce(key)) >= next);
    assert.notEqual(await store.getIdempotencyKey('orders', 'c1'), undefined);
    assert.ok((await store.loadProjection<{ n: number }>('positions')) !== undefined);
    assert.deepEqual(await store.claimIdempotencyKey('orders', 'after-thaw', 'v', 60_000), { claimed: true });
  });

  test('a connection cut silently (half-open) is replaced: calls fail named meanwhile, a new connection answers after the heal', async () => {
    const { proxy, url } = await SilentCutProxy.start(Number(new URL(server.url).port), 'redis');
    const cutStore = await RedisStateStore.connect(url, {
      keyPrefix: 'pm:test:frozen-cut:',
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    });
    try {
      const before = await cutStore.allocateNonce(key);
      proxy.partition();
      await withTimeout(
        assert.rejects(cutStore.peekNonce(key), StateStoreBackendError),
        CALL_DEADLINE_MS,
        'peek on a cut connection',
      );
      proxy.heal();
      // The old connection never speaks again (the proxy dropped it for good): only a store
      // that leaves it and connects anew answers.
      const next = await eventually(
        'the store answering on a new connection',
        () => cutStore.peekNonce(key),
        20_000,
      );
      assert.ok(next >= before, 'the counter only moves forward');
    } finally {
      await cutStore.close();
      await proxy.close();
    }
  });
});
