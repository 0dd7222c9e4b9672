/**
 * Child process for embedded-restart.int.test.ts: publishes 5 events into a fresh data
 * dir, lets durable `proj` ack 3 of them, then dies by SIGKILL inside the 4th handler
 * (no close, no flush: a crash).
 */
import { EmbeddedEventLog } from '../embedded.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: embedded-writer.child.ts <dataDir>');
const log = await EmbeddedEventLog.open({ dataDir });
await log.ensureStreams([{ name: 'EXEC', subjects: ['exec.>'], maxAgeMs: 86_400_000 }]);
for (let i = 1; i <= 5; i++) {
  await log.publish({
    subject: 'exec.order.paper.main',
    id: `ev-${i}`,
    data: new TextEncoder().encode(`order ${i}`),
  });
}
await log.consume({ stream: 'EXEC', durable: 'proj' }, async (m) => {
  process.stdout.write(`DELIVERED ${m.seq}\n`);
  // Seqs 1-3 are acked (the cursor is on disk before the next delivery); die during 4.
  if (m.seq === 4) process.kill(process.pid, 'SIGKILL');
});
