/** The account service on NATS JetStream and Redis (the distributed deployment). */
import { NatsEventLog } from '@perpmesh/bus';
import { namespaceFor, Subjects, streamSpecs } from '@perpmesh/contracts';
import { RedisStateStore } from '@perpmesh/state';
import { natsUrlForTests, redisUrlForTests, uniqueTestName } from '@perpmesh/testing';
import { Redis } from 'ioredis';
import { describeAccountScenarios } from './scenarios.test-helper.js';

describeAccountScenarios('NATS JetStream + Redis', async () => {
  const name = uniqueTestName();
  const ns = namespaceFor(name);
  const specs = streamSpecs(ns);
  const log = await NatsEventLog.connect({ servers: await natsUrlForTests(), name });
  await log.ensureStreams(specs);
  const redisUrl = await redisUrlForTests();
  const keyPrefix = `pm:test:${name}:`;
  const state = await RedisStateStore.connect(redisUrl, { keyPrefix });
  return {
    log,
    state,
    subjects: new Subjects({ root: ns.subjectRoot }),
    streamPrefix: ns.prefix,
    close: async () => {
      for (const spec of specs) await log.deleteStream(spec.name);
      await log.close();
      await state.close();
      const redis = new Redis(redisUrl, { lazyConnect: true });
      await redis.connect();
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await redis.del(...keys);
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
});
