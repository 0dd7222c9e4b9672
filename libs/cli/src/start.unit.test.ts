import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventually } from '@perpmesh/testing';
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
