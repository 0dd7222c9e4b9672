/**
 * The execution service on the embedded event log and state store (the `make run` setup),
 * against the paper exchange.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedEventLog } from '@perpmesh/bus';
import { namespaceFor, Subjects, streamSpecs } from '@perpmesh/contracts';
import { EmbeddedStateStore } from '@perpmesh/state';
import { describeExecutionScenarios } from './scenarios.test-helper.js';

describeExecutionScenarios('embedded log + embedded store', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pm-exec-'));
  const log = await EmbeddedEventLog.open({
    dataDir: join(dir, 'log'),
    fsync: 'never',
    retentionIntervalMs: 0,
  });
  const ns = namespaceFor('exec');
  await log.ensureStreams(streamSpecs(ns));
  const state = await EmbeddedStateStore.open({ dataDir: join(dir, 'state'), fsync: false });
  return {
    log,
    state,
    subjects: new Subjects({ root: ns.subjectRoot }),
    execStream: `${ns.prefix}EXEC`,
    // One process: the replicas share the instances (a second open would be locked out).
    secondState: async () => state,
    secondLog: async () => log,
    close: async () => {
      await log.close();
      await state.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
