/**
 * The embedded log's memory stays bounded while the log grows (issue 15, finding 6): only the
 * newest `memoryEntries` events per stream (and a few blocks being read) are held; older ones
 * are read back from the file, identical, through the sparse index, also after a reopen and
 * after compaction moved every byte.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { withTimeout } from '@perpmesh/core';
import { EmbeddedEventLog } from './embedded.js';
import type { StoredMessage } from './eventlog.js';

const payload = (i: number) => new TextEncoder().encode(`event ${i} ${'x'.repeat(i % 97)}`);
const text = (d: Uint8Array) => new TextDecoder().decode(d);

async function all(log: EmbeddedEventLog, opts: { fromSeq?: number; filterSubject?: string } = {}) {
  const out: StoredMessage[] = [];
  for await (const m of log.read({ stream: 'S', ...opts })) out.push(m);
  return out;
}

const eventsInMemory = (log: EmbeddedEventLog) =>
  log.memoryUse().find((m) => m.stream === 'S')?.eventsInMemory ?? 0;

describe('EmbeddedEventLog: bounded memory', () => {
  let root: string;
  let n = 0;
  const freshDir = () => join(root, `d${n++}`);
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'perpmesh-embedded-memory-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('events held in memory stay bounded while the log grows; every event reads back identical', async () => {
    const dataDir = freshDir();
    const memoryEntries = 50;
    // The window, one trim batch (256) and the cached blocks (4 x 256): independent of the log's size.
    const bound = memoryEntries + 256 + 4 * 256;
    const open = () =>
      EmbeddedEventLog.open({ dataDir, fsync: 'never', retentionIntervalMs: 0, memoryEntries });
    let log = await open();
    await log.ensureStreams([{ name: 'S', subjects: ['s.>'], maxAgeMs: 0 }]);
    const total = 5_000;
    let peak = 0;
    for (let i = 1; i <= total; i += 100) {
      await log.publishBatch(
        Array.from({ length: 100 }, (_, k) => ({
          subject: (i + k) % 3 === 0 ? 's.three' : 's.other',
          id: `e${i + k}`,
          data: payload(i + k),
        })),
      );
      peak = Math.max(peak, eventsInMemory(log));
    }
    assert.ok(peak <= bound, `at most ${bound} events in memory while publishing ${total}, saw ${peak}`);

    const check = async (what: string) => {
      const read = await all(log);
      assert.equal(read.length, total, what);
      read.forEach((m, i) => {
        assert.equal(m.seq, i + 1);
        assert.equal(text(m.data), text(payload(i + 1)), `${what}: seq ${m.seq}`);
      });
      const threes = await all(log, { fromSeq: 1_000, filterSubject: 's.three' });
      assert.deepEqual(
        threes.map((m) => m.seq),
        Array.from({ length: total }, (_, i) => i + 1).filter((s) => s >= 1_000 && s % 3 === 0),
        `${what}: filtered read from the middle`,
      );
      assert.ok(
        eventsInMemory(log) <= bound,
        `${what}: ${eventsInMemory(log)} events in memory after a full read`,
      );
    };
    await check('after publishing');
    // A tail from the start walks the file through the index, too.
    const tailed: number[] = [];
    const expected = Math.floor(total / 3);
    let allTailed!: () => void;
    const tailedAll = new Promise<void>((resolve) => {
      allTailed = resolve;
    });
    const tail = await log.tail('s.three', { from: { startSeq: 1 } }, async (m) => {
      tailed.push(m.seq);
      if (tailed.length === expected) allTailed();
    });
    await withTimeout(tailedAll, 20_000, `tail of ${expected} events`);
    await tail.stop();
    assert.equal(tailed.at(-1), total - (total % 3));
    await log.close();

    log = await open();
    assert.ok(eventsInMemory(log) <= bound, `after a reopen: ${eventsInMemory(log)} events in memory`);
    await check('after a reopen');
    await log.close();
  });

  test('large events: the window is bounded by bytes as well as by count', async () => {
    const dataDir = freshDir();
    const eventBytes = 1_000;
    const memoryBytes = 20_000;
    const big = (i: number) => new TextEncoder().encode(`${i} `.padEnd(eventBytes, 'y'));
    // Count alone would hold all of them (memoryEntries 4,096 > total): the bytes bound holds
    // ~20 events plus the newest index block (256), which always stays in memory.
    const bound = 256 + Math.ceil((memoryBytes * 1.25) / eventBytes) + 1;
    const open = () =>
      EmbeddedEventLog.open({
        dataDir,
        fsync: 'never',
        retentionIntervalMs: 0,
        memoryEntries: 4_096,
        memoryBytes,
      });
    let log = await open();
    await log.ensureStreams([{ name: 'S', subjects: ['s.>'], maxAgeMs: 0 }]);
    const total = 2_000;
    let peak = 0;
    for (let i = 1; i <= total; i += 50) {
      await log.publishBatch(
        Array.from({ length: 50 }, (_, k) => ({ subject: 's.big', id: `b${i + k}`, data: big(i + k) })),
      );
      peak = Math.max(peak, eventsInMemory(log));
    }
    assert.ok(peak <= bound, `at most ${bound} events of ${eventBytes} bytes in memory, saw ${peak}`);
    const check = async (what: string) => {
      const read = await all(log);
      assert.deepEqual(
        read.map((m) => text(m.data)),
        Array.from({ length: total }, (_, i) => text(big(i + 1))),
        what,
      );
    };
    await check('after publishing');
    await log.close();
    log = await open();
    assert.ok(eventsInMemory(log) <= bound, `after a reopen: ${eventsInMemory(log)} events in memory`);
    await check('after a reopen');
    await log.close();
  });

  test('memoryBytes must be a whole number >= 0', async () => {
    await assert.rejects(EmbeddedEventLog.open({ dataDir: freshDir(), memoryBytes: -1 }), /memoryBytes/);
  });

  test('compaction with publishes under way: every offset moves with its bytes', async () => {
    const dataDir = freshDir();
    let now = 1_000_000;
    const log = await EmbeddedEventLog.open({
      dataDir,
      fsync: 'never',
      retentionIntervalMs: 0,
      memoryEntries: 10,
      nowMs: () => now,
    });
    await log.ensureStreams([{ name: 'S', subjects: ['s.>'], maxAgeMs: 10_000, duplicateWindowMs: 1_000 }]);
    for (let i = 1; i <= 1_500; i++) await log.publish({ subject: 's.x', id: `old${i}`, data: payload(i) });
    now += 6_000;
    for (let i = 1_501; i <= 2_000; i++)
      await log.publish({ subject: 's.x', id: `new${i}`, data: payload(i) });
    now += 5_000; // the first 1500 are 11 s old: dropped, and the file compacted
    const during = Array.from({ length: 300 }, (_, k) =>
      log.publish({ subject: 's.x', id: `during${k}`, data: payload(2_001 + k) }),
    );
    await Promise.all([log.applyRetention(), ...during]);
    assert.deepEqual(await log.streamInfo('S'), { firstSeq: 1_501, lastSeq: 2_300, messages: 800 });
    const read = await all(log);
    assert.deepEqual(
      read.map((m) => text(m.data)),
      Array.from({ length: 800 }, (_, i) => text(payload(1_501 + i))),
    );
    const fromTime = [];
    for await (const m of log.read({ stream: 'S', fromTimeMs: now - 5_000 })) fromTime.push(m.seq);
    assert.equal(fromTime[0], 1_501);
    await log.close();
  });
});
