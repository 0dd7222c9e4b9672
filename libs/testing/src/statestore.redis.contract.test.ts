import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisStateStore } from '@perpmesh/state';
import { Redis } from 'ioredis';
import { redisUrlForTests, uniqueTestName } from './servers.js';
import { describeStateStoreContract } from './statestore.contract.js';
import { deleteRedisKeys } from './statestore.redis-cleanup.js';

describeStateStoreContract('RedisStateStore', async () => {
  const url = await redisUrlForTests();
  const keyPrefix = `pm:test:${uniqueTestName('STATE')}:`;
  const store = await RedisStateStore.connect(url, { keyPrefix });
  return {
    store,
    // Redis expires keys on its own clock: wait for real.
    advanceTimeMs: async (ms) => {
      await sleep(ms);
    },
    cleanup: async () => {
      await store.close();
      const admin = new Redis(url);
      try {
        await deleteRedisKeys(admin, store.keys.allPattern);
        assert.deepEqual(await admin.keys(store.keys.allPattern), [], 'no test keys left behind');
      } finally {
        admin.disconnect();
      }
    },
  };
});
