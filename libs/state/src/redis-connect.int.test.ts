import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { withTimeout } from '@perpmesh/core';
import { Redis } from 'ioredis';
import { RedisStateStore } from './redis-store.js';
import { StateStoreBackendError } from './statestore.js';

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('RedisStateStore.connect', () => {
  test('an unreachable Redis fails with StateStoreBackendError, without the password in the message', async () => {
    const port = await closedPort();
    await assert.rejects(
      RedisStateStore.connect(`redis://bench:s3cret-pass@127.0.0.1:${port}/2`, { connectTimeoutMs: 1_000 }),
      (err: unknown) => {
        assert.ok(err instanceof StateStoreBackendError);
        assert.equal(err.code, 'STATE_STORE_BACKEND');
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}/2`));
        assert.ok(!err.message.includes('s3cret'), 'no password in the message');
        return true;
      },
    );
  });
});

describe('RedisStateStore.close during an outage', () => {
  test('returns at once while Redis is gone (quit would wait for the reconnect)', async () => {
    const url = process.env.REDIS_URL;
    if (!url) throw new Error('REDIS_URL is not set: this test needs Redis');
    const target = new URL(url);
    // A proxy to Redis that stops listening: Redis gone, as during a redis-server restart.
    const sockets = new Set<Socket>();
    const proxy = createServer((client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { port } = proxy.address() as { port: number };
    // The store's own reconnect policy, on a client we can watch.
    const client = new Redis(`redis://127.0.0.1:${port}`, {
      lazyConnect: true,
      retryStrategy: (times) => Math.min(times * 50, 2_000),
    });
    client.on('error', () => undefined);
    await client.connect();
    const store = new RedisStateStore(client, {
      keyPrefix: `pm:test:close_${randomBytes(3).toString('hex')}:`,
      ownsClient: true,
    });
    const reconnecting = once(client, 'reconnecting');
    proxy.close();
    for (const socket of sockets) socket.destroy();
    await reconnecting;
    // ioredis would wait ~10 s of reconnects before failing the QUIT: the guard is far below.
    await withTimeout(store.close(), 3_000, 'close while Redis is gone');
  });
});

describe('RedisStateStore auto-pipelining', () => {
  const url = process.env.REDIS_URL;
  for (const autoPipelining of [true, false]) {
    test(`autoPipelining ${autoPipelining}: concurrent claims and nonces, issued in one tick, answer as one at a time would`, async (t) => {
      if (!url) return t.skip('REDIS_URL is not set');
      const keyPrefix = `pm:test:pipelining_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}:`;
      const store = await RedisStateStore.connect(url, { keyPrefix, autoPipelining });
      const admin = new Redis(url);
      try {
        const key = { venue: 'paper', account: 'main', apiKeyId: 'k1' };
        // All issued before any answer: with auto-pipelining they leave in one write.
        const [claims, nonces, again] = await Promise.all([
          Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              store.claimIdempotencyKey('orders', `c${i}`, `v${i}`, 60_000),
            ),
          ),
          Promise.all(Array.from({ length: 20 }, () => store.allocateNonce(key))),
          Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              store.claimIdempotencyKey('orders', `c${i}`, 'later', 60_000),
            ),
          ),
        ]);
        assert.ok(claims.every((c) => c.claimed));
        assert.deepEqual(
          again,
          claims.map((_, i) => ({ claimed: false, existingValue: `v${i}` })),
        );
        // Issue order is kept on the one connection: consecutive nonces, in the order asked.
        assert.deepEqual(
          nonces,
          nonces.map((_, i) => (nonces[0] as bigint) + BigInt(i)),
        );
      } finally {
        await store.close();
        const keys = await admin.keys(`${keyPrefix}*`);
        if (keys.length > 0) await admin.del(...keys);
        admin.disconnect();
      }
    });
  }
});

describe('RedisStateStore nonces on either kind of connection', () => {
  const url = process.env.REDIS_URL;
  test('a connect() store (INCRBY) and a store on a plain caller client (the script) share one exact counter beyond 2^53', async (t) => {
    if (!url) return t.skip('REDIS_URL is not set');
    const keyPrefix = `pm:test:exact_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}:`;
    const connected = await RedisStateStore.connect(url, { keyPrefix });
    const plain = new Redis(url); // integer replies as JS numbers: inexact past 2^53
    const onPlain = new RedisStateStore(plain, { keyPrefix });
    try {
      const key = { venue: 'paper', account: 'main', apiKeyId: 'exact' };
      const big = 2n ** 62n + 3n;
      await connected.resyncNonce(key, big);
      const values = [
        await connected.allocateNonce(key),
        await onPlain.allocateNonce(key),
        ...(await Promise.all([connected.allocateNonce(key), onPlain.allocateNonce(key)])),
      ];
      assert.deepEqual(
        [...values].sort((a, b) => (a < b ? -1 : 1)),
        [big, big + 1n, big + 2n, big + 3n],
      );
      assert.deepEqual(await connected.allocateNonces(key, 3), { first: big + 4n, last: big + 6n, count: 3 });
      assert.equal(await onPlain.peekNonce(key), big + 7n);
    } finally {
      await connected.close();
      await onPlain.close();
      const keys = await plain.keys(`${keyPrefix}*`);
      if (keys.length > 0) await plain.del(...keys);
      plain.disconnect();
    }
  });
});
