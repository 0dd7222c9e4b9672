/**
 * EmbeddedStateReader on real files: reads a store's projections while the store is open
 * (no lock, no writes), gives every saved state since the last compaction, and still
 * reads the current one after a compaction.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LOCK_FILE } from './embedded-files.js';
import { EmbeddedStateReader } from './embedded-reader.js';
import { EmbeddedStateStore } from './embedded-store.js';

test('EmbeddedStateReader: history and current state of a projection, while the owner runs', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'pm-state-reader-'));
  const store = await EmbeddedStateStore.open({ dataDir, fsync: false });
  try {
    await store.saveProjection('p', { size: '1' }, { EXEC: 3 }, undefined);
    await store.saveProjection('p', { size: '1.5' }, { EXEC: 7 }, { EXEC: 3 });
    await store.saveProjection('other', { x: 1 }, { ACCT: 1 }, undefined);
    const files = await readdir(dataDir);
    const lock = await readFile(join(dataDir, LOCK_FILE), 'utf8');
    const reader = await EmbeddedStateReader.open(dataDir);
    assert.deepEqual(await reader.projectionHistory('p'), [
      { state: { size: '1' }, applied: { EXEC: 3 } },
      { state: { size: '1.5' }, applied: { EXEC: 7 } },
    ]);
    assert.deepEqual(await reader.loadProjection('p'), { state: { size: '1.5' }, applied: { EXEC: 7 } });
    assert.equal(await reader.loadProjection('never'), undefined);
    // A record the owner is still writing (no newline yet) is not read, and not cut off.
    const journalName = (await readdir(dataDir)).find((f) => f.startsWith('journal-'));
    assert.ok(journalName);
    await appendFile(join(dataDir, journalName), '{"op":"proj","k":"pm:proj:p","state":"{\\"size');
    assert.deepEqual((await reader.loadProjection('p'))?.applied, { EXEC: 7 });
    assert.ok((await readFile(join(dataDir, journalName), 'utf8')).endsWith('size'));
    assert.deepEqual(await readdir(dataDir), files, 'the reader created no file');
    assert.equal(await readFile(join(dataDir, LOCK_FILE), 'utf8'), lock, 'the lock is the owner’s');
  } finally {
    await store.close().catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('EmbeddedStateReader: after a compaction the current state is read from the snapshot', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'pm-state-reader-'));
  const store = await EmbeddedStateStore.open({ dataDir, fsync: false, compactAfterBytes: 200 });
  try {
    let expected: { EXEC: number } | undefined;
    for (let i = 1; i <= 20; i++) {
      await store.saveProjection('p', { n: String(i) }, { EXEC: i }, expected);
      expected = { EXEC: i };
    }
    const reader = await EmbeddedStateReader.open(dataDir);
    const history = await reader.projectionHistory<{ n: string }>('p');
    assert.ok(history.length < 20, 'older states went with the compaction');
    assert.deepEqual(history[history.length - 1], { state: { n: '20' }, applied: { EXEC: 20 } });
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('EmbeddedStateReader: a missing directory is refused naming dataDir', async () => {
  await assert.rejects(EmbeddedStateReader.open(join(tmpdir(), `pm-missing-${process.pid}`)), /dataDir/);
});
