import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DataDirLockedError, EmbeddedEventLog, EmbeddedLogReader } from '@perpmesh/bus';
import { describeEventLogReaderContract } from './eventlog-reader.contract.js';
import { collectStored } from './stored-messages.js';

describeEventLogReaderContract('EmbeddedLogReader', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'perpmesh-reader-'));
  const writer = await EmbeddedEventLog.open({ dataDir, fsync: 'never', retentionIntervalMs: 0 });
  const reader = await EmbeddedLogReader.open(dataDir);
  return {
    writer,
    reader,
    cleanup: async () => {
      await reader.close();
      await writer.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});

test('EmbeddedLogReader: needs no lock, writes nothing, leaves a line in progress alone', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'perpmesh-reader-'));
  try {
    const writer = await EmbeddedEventLog.open({ dataDir, fsync: 'never', retentionIntervalMs: 0 });
    await writer.ensureStreams([{ name: 'S', subjects: ['s.>'], maxAgeMs: 0 }]);
    await writer.publish({ subject: 's.a', id: 'x-1', data: new Uint8Array([1]) });
    await writer.close();
    // A live process (pid 1, never us) holds the lock: a writer is refused, a reader is not.
    await writeFile(join(dataDir, 'LOCK'), '1');
    await assert.rejects(EmbeddedEventLog.open({ dataDir }), DataDirLockedError);
    // A line the owner is still writing (no newline yet): not an event, and not cut off.
    const file = join(dataDir, 'streams', 'S', 'log.jsonl');
    await appendFile(file, '{"q":2,"t":1,"s":"s.a","i":"x-2","d":"Ag');
    const before = await readFile(file);
    const reader = await EmbeddedLogReader.open(dataDir);
    assert.deepEqual(
      (await collectStored(reader.read({ stream: 'S' }))).map((m) => m.id),
      ['x-1'],
    );
    assert.deepEqual(await reader.streamInfo('S'), { firstSeq: 1, lastSeq: 1, messages: 1 });
    await reader.close();
    assert.deepEqual(await readFile(file), before, 'the stream file is untouched');
    assert.equal(await readFile(join(dataDir, 'LOCK'), 'utf8'), '1', 'the lock is untouched');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('EmbeddedLogReader: a directory without a log is refused, naming dataDir, and not created', async () => {
  const missing = join(tmpdir(), `perpmesh-reader-missing-${process.pid}`);
  await assert.rejects(EmbeddedLogReader.open(missing), /dataDir/);
  await assert.rejects(stat(missing), { code: 'ENOENT' });
});
