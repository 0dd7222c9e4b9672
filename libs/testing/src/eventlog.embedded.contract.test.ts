import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedEventLog, type EventLog } from '@perpmesh/bus';
import { describeEventLogContract } from './eventlog.contract.js';

/**
 * The contract twice: with the default in-memory window, and with a window of 2 events, so
 * nearly every read, tail, consumer and time lookup goes back to the file through the index.
 */
for (const [name, memoryEntries] of [
  ['EmbeddedEventLog', undefined],
  ['EmbeddedEventLog (2 events in memory, the rest read from the file)', 2],
] as const) {
  describeEventLogContract(name, async ({ logger }) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'perpmesh-eventlog-'));
    const opened: EventLog[] = [];
    const open = async () => {
      const log = await EmbeddedEventLog.open({
        dataDir,
        retentionIntervalMs: 0,
        logger,
        ...(memoryEntries === undefined ? {} : { memoryEntries }),
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
