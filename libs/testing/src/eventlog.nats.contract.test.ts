import { after } from 'node:test';
import { type EventLog, NatsEventLog } from '@perpmesh/bus';
import { describeEventLogContract } from './eventlog.contract.js';
import { natsUrlForTests, stopTestServers } from './servers.js';

after(() => stopTestServers());

describeEventLogContract(
  'NatsEventLog (JetStream)',
  async ({ logger }) => {
    const servers = await natsUrlForTests();
    const opened: EventLog[] = [];
    const open = async () => {
      const log = await NatsEventLog.connect({ servers, name: 'eventlog-contract-test', logger });
      opened.push(log);
      return log;
    };
    return {
      log: await open(),
      reopen: open,
      cleanup: async () => {
        for (const log of opened) await log.close();
      },
    };
  },
  // Short ackWait so the crash case sees its unacked event come back quickly.
  { ackWaitMs: 1_000 },
);
