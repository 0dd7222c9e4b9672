/**
 * Child process for outbox-crash.int.test.ts: adds batches of messages to a FileOutbox
 * (several adds in flight at once, so writes are group-committed) and removes some, printing
 * `ADDED <first> <count>` / `REMOVED <id...>` once each call resolved, until it is SIGKILLed
 * (no close, no flush: a crash, possibly in the middle of a write).
 */
import { FileOutbox } from '../outbox.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: outbox-writer.child.ts <dir>');
const outbox = await FileOutbox.open(dir, { compactAfterLines: 500 });

/** The payload of message `n`: its number, repeated to a size that varies with it. */
const payloadOf = (n: number) => new TextEncoder().encode(`m${n};`.repeat(1 + (n % 97)));

let next = 0;
async function writer(): Promise<void> {
  for (;;) {
    const first = next;
    const count = 1 + (first % 37);
    next += count;
    const msgs = Array.from({ length: count }, (_, i) => ({
      subject: 'exec.order.paper.main',
      id: `m${first + i}`,
      data: payloadOf(first + i),
      ...((first + i) % 5 === 0 ? { headers: { 'x-n': String(first + i) } } : {}),
    }));
    await outbox.add(msgs);
    process.stdout.write(`ADDED ${first} ${count}\n`);
    // Every other batch is "acked" and forgotten.
    if (first % 2 === 0) {
      const ids = msgs.map((m) => m.id);
      await outbox.remove(ids);
      process.stdout.write(`REMOVED ${ids.join(' ')}\n`);
    }
  }
}
await Promise.all([writer(), writer(), writer()]);
