/**
 * Child process for eventlog.nats-crash.int.test.ts: runs a projector on JetStream whose
 * store writes state + seq to a file, then prints SAVED and hangs before the ack can go
 * out; the test SIGKILLs it there.
 */
import { NatsEventLog, runProjector } from '@perpmesh/bus';
import { FileProjectionStore } from './eventlog.file-projection-store.js';

const [servers, stream, stateFile] = process.argv.slice(2);
if (!servers || !stream || !stateFile)
  throw new Error('usage: eventlog.crash-child.ts <url> <stream> <stateFile>');
const inner = new FileProjectionStore(stateFile);
const log = await NatsEventLog.connect({ servers, name: 'eventlog-crash-child' });
await runProjector<{ total: number }>({
  log,
  name: 'totals',
  consume: { stream, durable: 'totals', ackWaitMs: 1_000 },
  initialState: () => ({ total: 0 }),
  apply: (s, m) => ({ total: s.total + Number(new TextDecoder().decode(m.data)) }),
  store: {
    loadProjection: (n) => inner.loadProjection(n),
    async saveProjection(n, state, applied, expected) {
      await inner.saveProjection(n, state, applied, expected);
      process.stdout.write(`SAVED ${JSON.stringify(applied)}\n`);
      await new Promise(() => {}); // wait here for SIGKILL: state written, never acked
    },
  },
});
