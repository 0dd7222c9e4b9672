/** The account service on the embedded event log and state store (what `make run` uses). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedEventLog } from '@perpmesh/bus';
import { namespaceFor, Subjects, streamSpecs } from '@perpmesh/contracts';
import { EmbeddedStateStore } from '@perpmesh/state';
import { uniqueTestName } from '@perpmesh/testing';
import { describeAccountScenarios } from './scenarios.test-helper.js';

describeAccountScenarios('embedded log + embedded store', async () => {
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
});
