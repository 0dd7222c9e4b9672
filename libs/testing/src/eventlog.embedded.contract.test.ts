import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedEventLog, type EventLog } from '@perpmesh/bus';
import { describeEventLogContract } from './eventlog.contract.js';

describeEventLogContract('EmbeddedEventLog', async ({ logger }) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'perpmesh-eventlog-'));
  const opened: EventLog[] = [];
  const open = async () => {
    const log = await EmbeddedEventLog.open({ dataDir, retentionIntervalMs: 0, logger });
    opened.push(log);
    return log;
  };
  return {
    log: await open(),
    reopen: open,
    cleanup: async () => {
      for (const log of opened) await log.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
