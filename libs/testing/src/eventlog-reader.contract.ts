/**
 * The read-only EventLogReader contract: one suite, run against the reader of every log
 * (eventlog-reader.embedded.contract.test.ts, eventlog-reader.nats.contract.test.ts). A
 * writer (the EventLog) owns the storage and keeps it open while the reader reads, as
 * `make run` does while `perpmesh replay` runs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type EventLog, type EventLogReader, type StoredMessage, StreamNotFoundError } from '@perpmesh/bus';
import { uniqueTestName } from './servers.js';
import { collectStored, textMessage } from './stored-messages.js';

export interface EventLogReaderFixture {
  /** The owning log (holds the embedded data dir's lock). */
  readonly writer: EventLog;
  /** A reader over the same storage, opened while the writer is open. */
  readonly reader: EventLogReader;
  /** Closes both and removes the storage. */
  cleanup(): Promise<void>;
}

const dec = new TextDecoder();

export function describeEventLogReaderContract(
  name: string,
  makeFixture: () => Promise<EventLogReaderFixture>,
): void {
  async function withStream(
    fn: (ctx: { writer: EventLog; reader: EventLogReader; stream: string; ns: string }) => Promise<void>,
  ): Promise<void> {
    const fx = await makeFixture();
    const ns = uniqueTestName('RD');
    try {
      await fx.writer.ensureStreams([{ name: ns, subjects: [`${ns}.>`], maxAgeMs: 3_600_000 }]);
      await fn({ writer: fx.writer, reader: fx.reader, stream: ns, ns });
    } finally {
      await fx.writer.deleteStream(ns).catch(() => {});
      await fx.cleanup();
    }
  }

  describe(`EventLogReader contract: ${name}`, () => {
    test('reads what the writer stored, in order, with subject, id, data, headers and time', () =>
      withStream(async ({ writer, reader, stream, ns }) => {
        await writer.publish(textMessage(`${ns}.a`, 'r-1', 'one'));
        await writer.publish(textMessage(`${ns}.b`, 'r-2', 'two', { 'content-type': 'text/plain' }));
        await writer.publish(textMessage(`${ns}.a`, 'r-3', 'three'));
        const got = await collectStored(reader.read({ stream }));
        assert.deepEqual(
          got.map((m) => [m.stream, m.seq, m.subject, m.id, dec.decode(m.data)]),
          [
            [stream, 1, `${ns}.a`, 'r-1', 'one'],
            [stream, 2, `${ns}.b`, 'r-2', 'two'],
            [stream, 3, `${ns}.a`, 'r-3', 'three'],
          ],
        );
        assert.deepEqual(got[1]?.headers, { 'content-type': 'text/plain' });
        const fromWriter = await collectStored(writer.read({ stream }));
        assert.deepEqual(
          got.map((m) => m.timestampMs),
          fromWriter.map((m) => m.timestampMs),
          'the stored times, as the writer reads them',
        );
        assert.deepEqual(await reader.streamInfo(stream), { firstSeq: 1, lastSeq: 3, messages: 3 });
        assert.ok((await reader.streamNames()).includes(stream));
      }));

    test('bounds by sequence, time and subject filter', () =>
      withStream(async ({ writer, reader, stream, ns }) => {
        for (let i = 1; i <= 6; i++)
          await writer.publish(textMessage(`${ns}.${i % 2 ? 'odd' : 'even'}`, `b-${i}`, `${i}`));
        const texts = async (it: AsyncIterable<StoredMessage>) =>
          (await collectStored(it)).map((m) => dec.decode(m.data));
        assert.deepEqual(await texts(reader.read({ stream, fromSeq: 2, toSeq: 4 })), ['2', '3', '4']);
        assert.deepEqual(await texts(reader.read({ stream, filterSubject: `${ns}.even` })), ['2', '4', '6']);
        const all = await collectStored(reader.read({ stream }));
        const t3 = all[2]?.timestampMs as number;
        const fromT3 = await collectStored(reader.read({ stream, fromTimeMs: t3 }));
        assert.ok(fromT3.every((m) => m.timestampMs >= t3) && fromT3.some((m) => m.seq === 3));
        assert.deepEqual(await texts(reader.read({ stream, fromSeq: 7 })), []);
      }));

    test('reads while the writer keeps appending; the writer is not disturbed', () =>
      withStream(async ({ writer, reader, stream, ns }) => {
        const total = 200;
        const publishing = (async () => {
          for (let i = 1; i <= total; i++) await writer.publish(textMessage(`${ns}.live`, `w-${i}`, `${i}`));
        })();
        let reads = 0;
        let done = false;
        publishing.finally(() => {
          done = true;
        });
        while (!done) {
          const got = await collectStored(reader.read({ stream }));
          // Whatever a read sees is a gap-free prefix of what was published.
          assert.deepEqual(
            got.map((m) => dec.decode(m.data)),
            got.map((_, i) => String(i + 1)),
          );
          reads++;
        }
        await publishing;
        assert.ok(reads > 0);
        const got = await collectStored(reader.read({ stream }));
        assert.equal(got.length, total);
        assert.equal((await writer.publish(textMessage(`${ns}.live`, 'w-after', 'after'))).seq, total + 1);
        assert.equal((await reader.streamInfo(stream)).lastSeq, total + 1);
      }));

    test('never creates a stream: a missing one is StreamNotFoundError and stays missing', async () => {
      const fx = await makeFixture();
      const missing = uniqueTestName('RDMISSING');
      try {
        await assert.rejects(fx.reader.streamInfo(missing), StreamNotFoundError);
        await assert.rejects(collectStored(fx.reader.read({ stream: missing })), StreamNotFoundError);
        assert.ok(!(await fx.reader.streamNames()).includes(missing));
        await assert.rejects(fx.writer.streamInfo(missing), StreamNotFoundError);
      } finally {
        await fx.cleanup();
      }
    });
  });
}
