import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { eventually } from '@perpmesh/testing';
import { uncleanPreviousSession } from './embedded.js';
import { watchParent } from './start.js';

describe('watchParent (perpmesh start stops with the process that started it)', () => {
  test('calls back once when the parent pid changes', async () => {
    let parent = 4242;
    let calls = 0;
    const stop = watchParent(() => calls++, { intervalMs: 5, parentPid: () => parent });
    try {
      parent = 1; // re-parented to init: the starter is gone
      await eventually('the orphan callback', () => calls === 1, 2_000);
      parent = 7;
      await new Promise((r) => setImmediate(r));
      assert.equal(calls, 1);
    } finally {
      stop();
    }
  });

  test('is not armed when init started the process', () => {
    let calls = 0;
    const stop = watchParent(() => calls++, { intervalMs: 5, parentPid: () => 1 });
    stop();
    assert.equal(calls, 0);
  });
});

describe('uncleanPreviousSession (a start after kill -9 says what was left)', () => {
  test('names the newest session whose lock names a dead process; a clean or live one is not reported', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'perpmesh-unclean-'));
    try {
      assert.equal(uncleanPreviousSession(dataDir), undefined);
      const older = join(dataDir, 'sessions', '20260101T000000.000Z');
      const newest = join(dataDir, 'sessions', '20260102T000000.000Z');
      mkdirSync(join(older, 'events'), { recursive: true });
      writeFileSync(join(older, 'events', 'LOCK'), '999999');
      mkdirSync(join(newest, 'events'), { recursive: true });
      assert.equal(uncleanPreviousSession(dataDir), undefined, 'the newest session stopped cleanly');
      writeFileSync(join(newest, 'events', 'LOCK'), '4242');
      assert.deepEqual(
        uncleanPreviousSession(dataDir, () => false),
        { dir: newest, pid: 4242 },
      );
      assert.equal(
        uncleanPreviousSession(dataDir, () => true),
        undefined,
        'still running elsewhere',
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
