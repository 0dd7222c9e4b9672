/**
 * The two backends the account tests run on, in one place: the embedded log and store
 * (what `make run` uses) and NATS JetStream + Redis (the distributed deployment). Each call
 * gets its own namespace / data dir / key prefix and `close()` removes them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedEventLog, NatsEventLog } from '@perpmesh/bus';
import { namespaceFor, Subjects, streamSpecs } from '@perpmesh/contracts';
import { EmbeddedStateStore, RedisStateStore, type StateStore } from '@perpmesh/state';
import { natsUrlForTests, redisUrlForTests, uniqueTestName } from '@perpmesh/testing';
import { Redis } from 'ioredis';
import type { Backend } from './scenarios.test-helper.js';

export type StoreBackend = Backend & { readonly state: StateStore };

export async function embeddedBackend(): Promise<StoreBackend> {
  const dir = await mkdtemp(join(tmpdir(), 'pm-account-'));
  const ns = namespaceFor(uniqueTestName());
  const log = await EmbeddedEventLog.open({
    dataDir: join(dir, 'log'),
    fsync: 'never',
    retentionIntervalMs: 0,
  });
  await log.ensureStreams(streamSpecs(ns));
  const state = await EmbeddedStateStore.open({ dataDir: join(dir, 'state'), fsync: false });
  return {
    log,
    state,
    subjects: new Subjects({ root: ns.subjectRoot }),
    streamPrefix: ns.prefix,
    close: async () => {
      await log.close();
      await state.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function natsRedisBackend(): Promise<StoreBackend> {
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
}
