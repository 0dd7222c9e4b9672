import assert from 'node:assert/strict';
import { access, appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileOutbox, InMemoryOutbox, type Outbox } from './outbox.js';
import { encodeAdds, scanOutboxJournal } from './outbox-format.js';

const m = (id: string, text = id) => ({
  subject: 'exec.order.paper.main',
  id,
  data: new TextEncoder().encode(text),
});

describe('outboxes', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'perpmesh-outbox-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function behaves(outbox: Outbox) {
    await outbox.add([m('a'), m('b')]);
    await outbox.add([{ ...m('c'), headers: { 'x-k': 'v' } }, m('a', 'again')]);
    await outbox.remove(['b', 'zzz']);
    const pending = await outbox.pending();
    assert.deepEqual(
      pending.map((e) => [e.id, new TextDecoder().decode(e.data), e.headers]),
      [
        ['a', 'a', undefined],
        ['c', 'c', { 'x-k': 'v' }],
      ],
    );
    assert.ok(pending.every((e) => e.addedAtMs === 1234));
  }

  test('InMemoryOutbox keeps added and not removed entries, once per id', () =>
    behaves(new InMemoryOutbox({ nowMs: () => 1234 })));

  test('FileOutbox keeps them across a reopen', async () => {
    const path = join(dir, 'reopen');
    const first = await FileOutbox.open(path, { nowMs: () => 1234 });
    await behaves(first);
    await first.close();
    const second = await FileOutbox.open(path);
    assert.deepEqual(
      (await second.pending()).map((e) => [e.id, e.addedAtMs]),
      [
        ['a', 1234],
        ['c', 1234],
      ],
    );
    await second.close();
  });

  const journalRecords = async (path: string) => {
    let records = 0;
    scanOutboxJournal(await readFile(join(path, 'outbox.journal')), path, () => {
      records++;
    });
    return records;
  };

  /** The ids pending in the outbox at `path`, read by a fresh open (then closed). */
  const pendingIdsAfterReopen = async (path: string) => {
    const reopened = await FileOutbox.open(path);
    try {
      return (await reopened.pending()).map((e) => e.id);
    } finally {
      await reopened.close();
    }
  };

  test('FileOutbox drops a torn last record (a crash mid-write) and keeps the rest', async () => {
    const path = join(dir, 'torn');
    const outbox = await FileOutbox.open(path);
    await outbox.add([m('whole')]);
    await outbox.close();
    const half = encodeAdds([m('half')], 1, () => {});
    await appendFile(join(path, 'outbox.journal'), half.subarray(0, half.length - 3));
    const reopened = await FileOutbox.open(path);
    assert.deepEqual(
      (await reopened.pending()).map((e) => e.id),
      ['whole'],
    );
    await reopened.add([m('after')]);
    await reopened.close();
    assert.deepEqual(await pendingIdsAfterReopen(path), ['whole', 'after']);
  });

  test('FileOutbox compacts its journal when removed lines pile up', async () => {
    const path = join(dir, 'compact');
    const outbox = await FileOutbox.open(path, { compactAfterLines: 10 });
    for (let i = 0; i < 30; i++) {
      await outbox.add([m(`e${i}`)]);
      await outbox.remove([`e${i}`]);
    }
    await outbox.add([m('live')]);
    const records = await journalRecords(path);
    assert.ok(records < 25, `journal compacted (${records} records)`);
    await outbox.close();
    assert.deepEqual(await pendingIdsAfterReopen(path), ['live']);
  });

  test('FileOutbox writes one add call as one record per message, read back after a reopen', async () => {
    const path = join(dir, 'batch');
    const outbox = await FileOutbox.open(path, { nowMs: () => 7 });
    const batch = Array.from({ length: 50 }, (_, i) => m(`b${i}`, `payload ${i}`));
    await outbox.add(batch);
    await outbox.remove(['b0', 'b1']);
    await outbox.close();
    assert.equal(await journalRecords(path), 51);
    const reopened = await FileOutbox.open(path);
    const pending = await reopened.pending();
    assert.deepEqual(
      pending.map((e) => [e.id, new TextDecoder().decode(e.data), e.addedAtMs]),
      batch.slice(2).map((b, i) => [b.id, `payload ${i + 2}`, 7]),
    );
    // Compacted on open: only the live records are left.
    assert.equal(await journalRecords(path), 48);
    await reopened.close();
  });

  test('FileOutbox: an id removed and added again is pending once, as the newest; a repeat inside one add counts once', async () => {
    const path = join(dir, 'readd');
    const outbox = await FileOutbox.open(path);
    await outbox.add([m('a'), m('b'), m('c')]);
    await outbox.remove(['a']);
    await outbox.add([m('a', 'second'), m('d'), m('d', 'repeat')]);
    const expected = [
      ['b', 'b'],
      ['c', 'c'],
      ['a', 'second'],
      ['d', 'd'],
    ];
    const read = (o: Outbox) =>
      o.pending().then((es) => es.map((e) => [e.id, new TextDecoder().decode(e.data)]));
    assert.deepEqual(await read(outbox), expected);
    await outbox.compact();
    assert.deepEqual(await read(outbox), expected);
    await outbox.close();
    assert.equal(await journalRecords(path), 4);
    const reopened = await FileOutbox.open(path);
    assert.deepEqual(await read(reopened), expected);
    await reopened.close();
  });

  /**
   * An outbox journal as builds before format version 2 wrote it (JSON lines, base64 data):
   * three adds (one with headers), a removal, and a torn last line from a crash.
   */
  const LEGACY_JOURNAL = [
    '{"a":{"s":"exec.order.paper.main","i":"old-1","d":"b25l","t":1000}}',
    '{"a":{"s":"exec.order.paper.main","i":"old-2","d":"dHdv","h":{"x-k":"v"},"t":1001}}',
    '{"a":{"s":"exec.order.paper.main","i":"old-3","d":"dGhyZWU=","t":1002}}',
    '{"r":["old-1"]}',
    '{"a":{"s":"exec.order.paper.main","i":"torn',
  ].join('\n');

  test('FileOutbox migrates an old JSON-lines journal: its pending entries are kept, new writes are binary', async () => {
    const path = join(dir, 'legacy');
    await mkdir(path, { recursive: true });
    await writeFile(join(path, 'outbox.jsonl'), LEGACY_JOURNAL);
    const outbox = await FileOutbox.open(path);
    const pending = (o: Outbox) =>
      o
        .pending()
        .then((es) => es.map((e) => [e.id, new TextDecoder().decode(e.data), e.headers, e.addedAtMs]));
    assert.deepEqual(await pending(outbox), [
      ['old-2', 'two', { 'x-k': 'v' }, 1001],
      ['old-3', 'three', undefined, 1002],
    ]);
    await assert.rejects(access(join(path, 'outbox.jsonl')), { code: 'ENOENT' });
    await outbox.add([m('new-1')]);
    await outbox.remove(['old-3']);
    await outbox.close();

    assert.deepEqual(await pendingIdsAfterReopen(path), ['old-2', 'new-1']);
  });

  test('FileOutbox after a crash between migrating and deleting the old journal: the same entries, once', async () => {
    const path = join(dir, 'legacy-crash');
    await mkdir(path, { recursive: true });
    await writeFile(join(path, 'outbox.jsonl'), LEGACY_JOURNAL);
    const migrated = await FileOutbox.open(path);
    await migrated.close();
    await writeFile(join(path, 'outbox.jsonl'), LEGACY_JOURNAL); // as if never deleted
    assert.deepEqual(await pendingIdsAfterReopen(path), ['old-2', 'old-3']);
  });

  test('FileOutbox migrates an old journal beside a new one whose record count equals the live entries', async () => {
    const path = join(dir, 'legacy-beside');
    const current = await FileOutbox.open(path);
    await current.add([m('x')]);
    await current.remove(['x']);
    await current.close();
    // Two records in the new journal, two live entries in the old one: a rewrite is due anyway.
    await writeFile(join(path, 'outbox.jsonl'), LEGACY_JOURNAL);
    await (await FileOutbox.open(path)).close();
    assert.deepEqual(await pendingIdsAfterReopen(path), ['old-2', 'old-3']);
  });
});
