import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStateStore } from '@perpmesh/state';
import { describeStateStoreContract } from './statestore.contract.js';

describeStateStoreContract('EmbeddedStateStore', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'pm-state-contract-'));
  let nowMs = 1_767_225_600_000;
  const store = await EmbeddedStateStore.open({ dataDir, now: () => nowMs });
  return {
    store,
    advanceTimeMs: async (ms) => {
      nowMs += ms;
    },
    cleanup: async () => {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
