import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedEventLog, type EventLog } from '@perpmesh/bus';
import { describeEventLogContract } from './eventlog.contract.js';

/**
 * The contract three times: with the default in-memory window; with a window of 2 events, so
 * nearly every read, tail, consumer and time lookup goes back to the file through the index;
 * and with a window of 1 byte, so only the newest index block stays (the byte bound cuts the
 * window inside a block, not at its start).
 */
for (const [name, memory] of [
  ['EmbeddedEventLog', {}],
  ['EmbeddedEventLog (2 events in memory, the rest read from the file)', { memoryEntries: 2 }],
  ['EmbeddedEventLog (1 byte of events in memory: the newest block only)', { memoryBytes: 1 }],
] as const) {
  describeEventLogContract(name, async ({ logger }) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'perpmesh-eventlog-'));
    const opened: EventLog[] = [];
    const open = async () => {
      const log = await EmbeddedEventLog.open({
        dataDir,
        retentionIntervalMs: 0,
        logger,
        ...memory,
      });
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
}
