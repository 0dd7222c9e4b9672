/**
 * The execution service on NATS JetStream and Redis (the distributed setup), against the
 * paper exchange. Streams, subjects and keys are namespaced per run and removed after.
 */
import assert from 'node:assert/strict';
import { type EventLog, NatsEventLog } from '@perpmesh/bus';
import { namespaceFor, Subjects, streamSpecs } from '@perpmesh/contracts';
import { RedisStateStore } from '@perpmesh/state';
import { natsUrlForTests, redisUrlForTests, uniqueTestName } from '@perpmesh/testing';
import { Redis } from 'ioredis';
import { describeExecutionScenarios } from './scenarios.test-helper.js';

describeExecutionScenarios('NATS JetStream + Redis', async () => {
  const natsUrl = await natsUrlForTests();
  const redisUrl = await redisUrlForTests();
  const name = uniqueTestName('EXEC');
  const ns = namespaceFor(name);
  const specs = streamSpecs(ns);
  const log = await NatsEventLog.connect({ servers: natsUrl, name });
  await log.ensureStreams(specs);
  const keyPrefix = `pm:test:${name}:`;
  const state = await RedisStateStore.connect(redisUrl, { keyPrefix });
  const extra: { close(): Promise<void> }[] = [];
  return {
    log,
    state,
    subjects: new Subjects({ root: ns.subjectRoot }),
    execStream: `${ns.prefix}EXEC`,
    secondState: async () => {
      const s = await RedisStateStore.connect(redisUrl, { keyPrefix });
      extra.push(s);
      return s;
    },
    secondLog: async () => {
      const l: EventLog = await NatsEventLog.connect({ servers: natsUrl, name: `${name}-2` });
      extra.push(l);
      return l;
    },
    close: async () => {
      for (const x of extra) await x.close();
      for (const spec of specs) await log.deleteStream(spec.name);
      await log.close();
      await state.close();
      const admin = new Redis(redisUrl);
      try {
        let cursor = '0';
        do {
          const [next, keys] = await admin.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await admin.del(...keys);
        } while (cursor !== '0');
        assert.deepEqual(await admin.keys(`${keyPrefix}*`), [], 'no test keys left behind');
      } finally {
        admin.disconnect();
      }
    },
  };
});
