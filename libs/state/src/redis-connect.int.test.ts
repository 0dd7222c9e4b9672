import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
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
