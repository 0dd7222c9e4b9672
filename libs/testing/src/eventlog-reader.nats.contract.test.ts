import { after } from 'node:test';
import { NatsEventLog, NatsLogReader } from '@perpmesh/bus';
import { describeEventLogReaderContract } from './eventlog-reader.contract.js';
import { natsUrlForTests, stopTestServers } from './servers.js';

after(() => stopTestServers());

describeEventLogReaderContract('NatsLogReader (JetStream)', async () => {
  const servers = await natsUrlForTests();
  const writer = await NatsEventLog.connect({ servers, name: 'eventlog-reader-test-writer' });
  const reader = await NatsLogReader.connect({ servers, name: 'eventlog-reader-test' });
  return {
    writer,
    reader,
    cleanup: async () => {
      await reader.close();
      await writer.close();
    },
  };
});
