/**
 * Embedded-only behaviour beyond the shared contract: files, clock, retention, locking.
 * Lives here, not in libs/bus, because it waits with `eventually` and libs/testing
 * depends on libs/bus (a reference back would be a cycle).
 */
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ConsumerConfigError,
  CorruptLogError,
  DataDirLockedError,
  EmbeddedEventLog,
  type StoredMessage,
  StreamConfigError,
} from '@perpmesh/bus';
import { eventually } from './eventually.js';

const data = (s: string) => new TextEncoder().encode(s);
const text = (d: Uint8Array) => new TextDecoder().decode(d);

async function all(log: EmbeddedEventLog, stream = 'S'): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  for await (const m of log.read({ stream })) out.push(m);
  return out;
}

describe('EmbeddedEventLog', () => {
  let root: string;
  let n = 0;
  const freshDir = () => join(root, `d${n++}`);
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'perpmesh-embedded-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('a reopen keeps events, dedupe ids and consumer cursors', async () => {
    const dataDir = freshDir();
    const log = await EmbeddedEventLog.open({ dataDir });
    await log.ensureStreams([{ name: 'S', subjects: ['s.>'], maxAgeMs: 0 }]);
    await log.publishBatch([1, 2, 3].map((i) => ({ subject: 's.x', id: `e${i}`, data: data(`${i}`) })));
    const seen: number[] = [];
    const h = await log.consume({ stream: 'S', durable: 'd' }, async (m) => {
      seen.push(m.seq);
    });
    await eventually('2 acks', () => seen.length >= 3);
    await h.stop();
    await log.close();

    const reopened = await EmbeddedEventLog.open({ dataDir });
    assert.deepEqual(
      (await all(reopened)).map((m) => text(m.data)),
      ['1', '2', '3'],
    );
    assert.deepEqual(await reopened.publish({ subject: 's.x', id: 'e3', data: data('dup') }), {
      stream: 'S',
      seq: 3,
      duplicate: true,
    });
    await reopened.publish({ subject: 's.x', id: 'e4', data: data('4') });
    const after: number[] = [];
    const h2 = await reopened.consume({ stream: 'S', durable: 'd' }, async (m) => {
      after.push(m.seq);
    });
    await eventually('the new event', () => after.length >= 1);
    await h2.stop();
    assert.deepEqual(after, [4]);
    await reopened.close();
  });

  test('ids are de-duplicated only within the duplicate window, also after a reopen', async () => {
    const dataDir = freshDir();
    let now = 1_000_000;
    const open = () => EmbeddedEventLog.open({ dataDir, nowMs: () => now, retentionIntervalMs: 0 });
    let log = await open();
    await log.ensureStreams([{ name: 'S', subjects: ['s.>'], maxAgeMs: 0, duplicateWindowMs: 1_000 }]);
    assert.equal((await log.publish({ subject: 's.x', id: 'a', data: data('1') })).seq, 1);
    now += 999;
    assert.equal((await log.publish({ subject: 's.x', id: 'a', data: data('1') })).duplicate, true);
    await log.close();
    log = await open();
    assert.equal((await log.publish({ subject: 's.x', id: 'a', data: data('1') })).duplicate, true);
    now += 2;
    assert.deepEqual(await log.publish({ subject: 's.x', id: 'a', data: data('1') }), {
      stream: 'S',
      seq: 2,
      duplicate: false,
    });
    await log.close();
  });

  test('retention drops old events, compacts the file, and sequences never restart', async () => {
    const dataDir = freshDir();
    let now = 10_000;
    const open = () => EmbeddedEventLog.open({ dataDir, nowMs: () => now, retentionIntervalMs: 0 });
    let log = await open();
    await log.ensureStreams([{ name: 'S', subjects: ['s.>'], maxAgeMs: 1_000 }]);
    for (let i = 1; i <= 3; i++) await log.publish({ subject: 's.x', id: `old${i}`, data: data('o') });
    now += 600;
    for (let i = 4; i <= 5; i++) await log.publish({ subject: 's.x', id: `new${i}`, data: data('n') });
    now += 500; // the first three are 1100 ms old
    await log.applyRetention();
    assert.deepEqual(await log.streamInfo('S'), { firstSeq: 4, lastSeq: 5, messages: 2 });
    assert.deepEqual(
      (await all(log)).map((m) => m.seq),
      [4, 5],
    );
    const file = join(dataDir, 'streams', 'S', 'log.jsonl');
    assert.equal((await readFile(file, 'utf8')).trim().split('\n').length, 3, 'base line + 2 events');
    await log.close();

    now += 5_000; // everything expired; reopen applies retention
    log = await open();
    assert.deepEqual(await log.streamInfo('S'), { firstSeq: 6, lastSeq: 5, messages: 0 });
    await log.close();
    log = await open();
    assert.equal((await log.publish({ subject: 's.x', id: 'later', data: data('l') })).seq, 6);
    await log.close();
  });

  test('a torn last line is dropped; a damaged line in the middle is refused', async () => {
    const dataDir = freshDir();
    let log = await EmbeddedEventLog.open({ dataDir });
    await log.ensureStreams([{ name: 'S', subjects: ['s.>'], maxAgeMs: 0 }]);
    await log.publish({ subject: 's.x', id: 'a', data: data('1') });
    await log.close();
    const file = join(dataDir, 'streams', 'S', 'log.jsonl');
    await appendFile(file, '{"q":2,"t":1,"s":"s.x","i":"b","d":"');
    log = await EmbeddedEventLog.open({ dataDir });
    assert.deepEqual(await log.streamInfo('S'), { firstSeq: 1, lastSeq: 1, messages: 1 });
    assert.equal((await log.publish({ subject: 's.x', id: 'b', data: data('2') })).seq, 2);
    await log.close();

    const lines = (await readFile(file, 'utf8')).split('\n');
    lines[0] = '{"q":1,"t":1,"s":"s.x",garbage';
    await writeFile(file, lines.join('\n'));
    await assert.rejects(EmbeddedEventLog.open({ dataDir }), CorruptLogError);
  });

  test('one owner per data dir', async () => {
    const dataDir = freshDir();
    const log = await EmbeddedEventLog.open({ dataDir });
    await assert.rejects(EmbeddedEventLog.open({ dataDir }), DataDirLockedError);
    await log.close();
    const again = await EmbeddedEventLog.open({ dataDir });
    await again.close();
  });

  test('stream specs are validated: overlapping subjects, duplicate window over maxAge', async () => {
    const log = await EmbeddedEventLog.open({ dataDir: freshDir() });
    await log.ensureStreams([{ name: 'MD', subjects: ['md.>'], maxAgeMs: 0 }]);
    await assert.rejects(
      log.ensureStreams([{ name: 'MD2', subjects: ['md.book.*'], maxAgeMs: 0 }]),
      StreamConfigError,
    );
    await assert.rejects(
      log.ensureStreams([{ name: 'X', subjects: ['x.>'], maxAgeMs: 1_000, duplicateWindowMs: 5_000 }]),
      /streams\[0\]\.duplicateWindowMs/,
    );
    await log.close();
  });

  test('maxDeliver gives up on an event and moves on; one live consumer per durable', async () => {
    const quiet = { warn: () => {}, error: () => {} };
    const log = await EmbeddedEventLog.open({ dataDir: freshDir(), logger: quiet });
    await log.ensureStreams([{ name: 'S', subjects: ['s.>'], maxAgeMs: 0 }]);
    await log.publish({ subject: 's.x', id: 'poison', data: data('p') });
    await log.publish({ subject: 's.x', id: 'fine', data: data('f') });
    const seen: [number, number][] = [];
    const h = await log.consume({ stream: 'S', durable: 'd', maxDeliver: 2, nakDelayMs: 1 }, async (m) => {
      seen.push([m.seq, m.deliveryCount]);
      if (m.seq === 1) throw new Error('poison');
    });
    await assert.rejects(
      log.consume({ stream: 'S', durable: 'd' }, async () => {}),
      ConsumerConfigError,
    );
    await eventually('seq 2', () => seen.some(([s]) => s === 2));
    await h.stop();
    assert.deepEqual(seen, [
      [1, 1],
      [1, 2],
      [2, 1],
    ]);
    await log.close();
  });

  test('concurrent publishes share fsyncs yet each gets its own seq and line', async () => {
    const dataDir = freshDir();
    const log = await EmbeddedEventLog.open({ dataDir });
    await log.ensureStreams([{ name: 'S', subjects: ['s.>'], maxAgeMs: 0 }]);
    const acks = await Promise.all(
      Array.from({ length: 200 }, (_, i) => log.publish({ subject: 's.x', id: `c${i}`, data: data(`${i}`) })),
    );
    assert.deepEqual(
      acks.map((a) => a.seq).sort((a, b) => a - b),
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    await log.close();
    const lines = (await readFile(join(dataDir, 'streams', 'S', 'log.jsonl'), 'utf8')).trim().split('\n');
    assert.equal(lines.length, 200);
  });

  test('a handler cannot change the stored bytes', async () => {
    const log = await EmbeddedEventLog.open({ dataDir: freshDir() });
    await log.ensureStreams([{ name: 'S', subjects: ['s.>'], maxAgeMs: 0 }]);
    await log.publish({ subject: 's.x', id: 'a', data: data('abc') });
    const [first] = await all(log);
    first?.data.fill(0);
    assert.equal(text((await all(log))[0]?.data as Uint8Array), 'abc');
    await log.close();
  });
});
