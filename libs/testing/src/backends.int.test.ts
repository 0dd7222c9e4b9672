/** The backend factory on both kinds: namespaced streams, a working store, nothing left behind. */
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { after, describe, test } from 'node:test';
import { EmbeddedEventLog, NatsEventLog, StreamNotFoundError } from '@perpmesh/bus';
import { Redis } from 'ioredis';
import { openTestBackend, TEST_BACKEND_KINDS } from './backends.js';
import { natsUrlForTests, redisUrlForTests, stopTestServers } from './servers.js';

after(() => stopTestServers());

for (const kind of TEST_BACKEND_KINDS) {
  describe(`openTestBackend('${kind}')`, () => {
    test('gives a namespaced log with the streams, a state store, and second handles on both', async () => {
      const a = await openTestBackend(kind, { prefix: 'BK' });
      const b = await openTestBackend(kind, { prefix: 'BK' });
      try {
        assert.notEqual(a.name, b.name);
        assert.equal(a.stream('EXEC'), `${a.streamPrefix}EXEC`);
        assert.ok(a.streams.some((s) => s.name === a.stream('EXEC')));
        const ack = await a.log.publish({
          subject: a.subjects.execFill('paper', 'main'),
          id: 'fill-1',
          data: new TextEncoder().encode('x'),
        });
        assert.deepEqual(ack, { stream: a.stream('EXEC'), seq: 1, duplicate: false });
        assert.equal((await b.log.streamInfo(b.stream('EXEC'))).lastSeq, 0, 'namespaces do not share');

        const second = await a.secondLog();
        assert.equal((await second.streamInfo(a.stream('EXEC'))).lastSeq, 1);
        assert.equal((await a.state.claimIdempotencyKey('test', 'k', 'v1', 60_000)).claimed, true);
        const otherState = await a.secondState();
        assert.equal(await otherState.getIdempotencyKey('test', 'k'), 'v1');
        assert.equal(await b.state.getIdempotencyKey('test', 'k'), undefined, 'stores do not share');
      } finally {
        await a.close();
        await b.close();
      }
      await a.close(); // safe twice
    });

    test('close() removes what the backend made', async () => {
      const backend = await openTestBackend(kind, { prefix: 'BK' });
      await backend.state.claimIdempotencyKey('test', 'k', 'v', 60_000);
      const stream = backend.stream('EXEC');
      const dataDir = backend.log instanceof EmbeddedEventLog ? backend.log.dataDir : undefined;
      await backend.close();
      if (dataDir !== undefined) {
        await assert.rejects(access(dataDir), { code: 'ENOENT' });
        return;
      }
      const log = await NatsEventLog.connect({ servers: await natsUrlForTests() });
      const redis = new Redis(await redisUrlForTests());
      try {
        await assert.rejects(log.streamInfo(stream), StreamNotFoundError);
        assert.deepEqual(await redis.keys(`pm:test:${backend.name}:*`), []);
      } finally {
        await log.close();
        redis.disconnect();
      }
    });
  });
}
