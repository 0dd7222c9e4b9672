import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileOutbox, InMemoryOutbox, type Outbox } from './outbox.js';

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

  test('FileOutbox drops a torn last line (a crash mid-write) and keeps the rest', async () => {
    const path = join(dir, 'torn');
    const outbox = await FileOutbox.open(path);
    await outbox.add([m('whole')]);
    await outbox.close();
    await appendFile(join(path, 'outbox.jsonl'), '{"a":{"s":"exec.x","i":"half');
    const reopened = await FileOutbox.open(path);
    assert.deepEqual(
      (await reopened.pending()).map((e) => e.id),
      ['whole'],
    );
    await reopened.add([m('after')]);
    await reopened.close();
    const again = await FileOutbox.open(path);
    assert.deepEqual(
      (await again.pending()).map((e) => e.id),
      ['whole', 'after'],
    );
    await again.close();
  });

  test('FileOutbox compacts its journal when removed lines pile up', async () => {
    const path = join(dir, 'compact');
    const outbox = await FileOutbox.open(path, { compactAfterLines: 10 });
    for (let i = 0; i < 30; i++) {
      await outbox.add([m(`e${i}`)]);
      await outbox.remove([`e${i}`]);
    }
    await outbox.add([m('live')]);
    const lines = (await readFile(join(path, 'outbox.jsonl'), 'utf8')).trim().split('\n');
    assert.ok(lines.length < 25, `journal compacted (${lines.length} lines)`);
    await outbox.close();
    const reopened = await FileOutbox.open(path);
    assert.deepEqual(
      (await reopened.pending()).map((e) => e.id),
      ['live'],
    );
    await reopened.close();
  });
});
