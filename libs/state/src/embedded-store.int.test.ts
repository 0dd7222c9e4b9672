/**
 * EmbeddedStateStore against the real filesystem: durability before return, reopen,
 * torn journal tails, compaction and the data dir lock. (The shared behaviour is in the
 * contract suite in libs/testing; a real process restart is in
 * libs/testing/src/statestore.embedded-restart.int.test.ts.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import {
  EmbeddedStoreLockedError,
  journalFile,
  LOCK_FILE,
  readDurableState,
  SNAPSHOT_FILE,
  StateStoreCorruptError,
} from './embedded-files.js';
import { EmbeddedStateStore } from './embedded-store.js';
import { type NonceKey, StateStoreBackendError } from './statestore.js';

const KEY: NonceKey = { venue: 'paper', account: 'main', apiKeyId: '0' };

/** What a process opening the dir right now would recover (snapshot + journal replay). */
async function durableNonce(dataDir: string, store: EmbeddedStateStore): Promise<bigint | undefined> {
  const { snapshot, records } = await readDurableState(dataDir);
  const k = store.keys.nonce(KEY);
  let next = snapshot.nonces[k] === undefined ? undefined : BigInt(snapshot.nonces[k]);
  for (const r of records) if (r.op === 'nonce' && r.k === k) next = BigInt(r.next);
  return next;
}

describe('EmbeddedStateStore persistence', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'pm-state-embedded-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test('a nonce is on disk before allocateNonce returns it', async () => {
    const store = await EmbeddedStateStore.open({ dataDir });
    try {
      for (let i = 0; i < 5; i++) {
        const nonce = await store.allocateNonce(KEY);
        assert.equal(await durableNonce(dataDir, store), nonce + 1n, `nonce ${nonce} recorded before return`);
      }
      const block = await store.allocateNonces(KEY, 50);
      assert.equal(await durableNonce(dataDir, store), block.last + 1n);
      const resynced = await store.resyncNonce(KEY, 1_000n);
      assert.equal(await durableNonce(dataDir, store), resynced);
    } finally {
      await store.close();
    }
  });

  test('idempotency claims and projections are on disk before the call returns', async () => {
    const store = await EmbeddedStateStore.open({ dataDir });
    try {
      await store.claimIdempotencyKey('orders', 'cid-1', 'order-1', 60_000);
      await store.saveProjection('acct', { balance: '1' }, { ACCT: 4 }, undefined);
      const { records } = await readDurableState(dataDir);
      assert.ok(records.some((r) => r.op === 'idem' && r.v === 'order-1'));
      assert.ok(
        records.some((r) => r.op === 'proj' && r.state === '{"balance":"1"}' && r.applied.ACCT === 4),
      );
    } finally {
      await store.close();
    }
  });

  test('close and reopen keeps nonces, claims (with their expiry) and projections', async () => {
    let nowMs = 1_000_000;
    const first = await EmbeddedStateStore.open({ dataDir, now: () => nowMs });
    await first.allocateNonces(KEY, 7);
    await first.claimIdempotencyKey('orders', 'long', 'order-1', 10_000);
    await first.claimIdempotencyKey('orders', 'short', 'order-2', 100);
    await first.saveProjection('acct', { balance: '12.5' }, { ACCT: 3 }, undefined);
    await first.close();

    nowMs += 500;
    const second = await EmbeddedStateStore.open({ dataDir, now: () => nowMs });
    try {
      assert.equal(await second.allocateNonce(KEY), 7n);
      assert.equal(await second.getIdempotencyKey('orders', 'long'), 'order-1');
      assert.equal(await second.getIdempotencyKey('orders', 'short'), undefined, 'expired while closed');
      assert.deepEqual(await second.loadProjection('acct'), {
        state: { balance: '12.5' },
        applied: { ACCT: 3 },
      });
      await assert.rejects(
        second.saveProjection('acct', {}, { ACCT: 4 }, { ACCT: 2 }),
        /PROJECTION_CONFLICT|expected/,
      );
    } finally {
      await second.close();
    }
  });

  test('a torn last journal line (crash mid-write) is dropped; the rest is recovered', async () => {
    const first = await EmbeddedStateStore.open({ dataDir });
    await first.allocateNonces(KEY, 3);
    await first.close();
    const { snapshot } = await readDurableState(dataDir);
    const journal = join(dataDir, journalFile(snapshot.journalGen));
    await appendFile(journal, '{"op":"nonce","k":"pm:nonce:paper:main:0","ne');
    const second = await EmbeddedStateStore.open({ dataDir });
    try {
      assert.equal(await second.allocateNonce(KEY), 3n);
    } finally {
      await second.close();
    }
  });

  test('a damaged complete journal line is refused, not silently skipped', async () => {
    const first = await EmbeddedStateStore.open({ dataDir });
    await first.allocateNonce(KEY);
    await first.close();
    const { snapshot } = await readDurableState(dataDir);
    const journal = join(dataDir, journalFile(snapshot.journalGen));
    await appendFile(journal, 'garbage\n{"op":"nonce","k":"x","next":"1"}\n');
    await assert.rejects(EmbeddedStateStore.open({ dataDir }), StateStoreCorruptError);
    await readFile(journal, 'utf8'); // still there for a human to look at
    // The failed open released the lock.
    assert.ok(!(await readdir(dataDir)).includes(LOCK_FILE));
  });

  test('compaction keeps one journal, bounded in size, and loses nothing', async () => {
    const compactAfterBytes = 4_096;
    const store = await EmbeddedStateStore.open({ dataDir, compactAfterBytes });
    let last = 0n;
    let applied = 0;
    for (let i = 0; i < 300; i++) {
      last = await store.allocateNonce(KEY);
      await store.claimIdempotencyKey('orders', `cid-${i}`, `order-${i}`, 60_000);
      if (i % 10 === 0) {
        await store.saveProjection(
          'acct',
          { i },
          { ACCT: applied + 1 },
          applied === 0 ? undefined : { ACCT: applied },
        );
        applied += 1;
      }
    }
    const files = await readdir(dataDir);
    const journals = files.filter((f) => f.startsWith('journal-'));
    assert.equal(journals.length, 1, `one journal generation, got ${journals.join(', ')}`);
    const { snapshot } = await readDurableState(dataDir);
    assert.ok(snapshot.journalGen > 2, 'compacted several times');
    const journalText = await readFile(join(dataDir, journals[0] as string), 'utf8');
    assert.ok(journalText.length <= compactAfterBytes);
    await store.close();

    const reopened = await EmbeddedStateStore.open({ dataDir });
    try {
      assert.equal(await reopened.allocateNonce(KEY), last + 1n);
      assert.equal(await reopened.getIdempotencyKey('orders', 'cid-0'), 'order-0');
      assert.equal(await reopened.getIdempotencyKey('orders', 'cid-299'), 'order-299');
      assert.deepEqual(await reopened.loadProjection('acct'), {
        state: { i: 290 },
        applied: { ACCT: applied },
      });
    } finally {
      await reopened.close();
    }
  });

  test('the snapshot is replaced atomically: no temp file is left and it parses', async () => {
    const store = await EmbeddedStateStore.open({ dataDir, compactAfterBytes: 512 });
    for (let i = 0; i < 50; i++) await store.allocateNonce(KEY);
    await store.close();
    const files = await readdir(dataDir);
    assert.ok(files.includes(SNAPSHOT_FILE));
    assert.ok(!files.some((f) => f.endsWith('.tmp')));
    JSON.parse(await readFile(join(dataDir, SNAPSHOT_FILE), 'utf8'));
  });

  test('one owner at a time: a second open fails while the first is open', async () => {
    const first = await EmbeddedStateStore.open({ dataDir });
    try {
      await assert.rejects(EmbeddedStateStore.open({ dataDir }), EmbeddedStoreLockedError);
    } finally {
      await first.close();
    }
    const again = await EmbeddedStateStore.open({ dataDir });
    await again.close();
  });

  test('a lock left by a dead process is taken over', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    await writeFile(join(dataDir, LOCK_FILE), dead.stdout);
    const store = await EmbeddedStateStore.open({ dataDir });
    try {
      assert.equal(await readFile(join(dataDir, LOCK_FILE), 'utf8'), String(process.pid));
    } finally {
      await store.close();
    }
  });

  test('a failed write is reported to its caller, and the store then refuses work', async () => {
    // compactAfterBytes 1: every batch starts a new journal file, so removing the dir fails the next write.
    const store = await EmbeddedStateStore.open({ dataDir, compactAfterBytes: 1 });
    assert.equal(await store.allocateNonce(KEY), 0n);
    await rm(dataDir, { recursive: true, force: true });
    await writeFile(dataDir, 'not a directory');
    await assert.rejects(store.allocateNonce(KEY), StateStoreBackendError);
    await assert.rejects(store.peekNonce(KEY), StateStoreBackendError, 'memory may be ahead of disk');
    await store.close();
    await rm(dataDir, { force: true });
  });
});
