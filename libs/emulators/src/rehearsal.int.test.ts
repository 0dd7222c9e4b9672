/** startEmulators runs exactly the emulators it is given ports for, on one market of just those. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startEmulators } from './rehearsal.js';

describe('startEmulators', () => {
  test('only the venues named in ports run, each answering on its own URL', async () => {
    const set = await startEmulators({ seed: 7, ports: { lighter: 0, extended: 0 } });
    try {
      assert.deepEqual(Object.keys(set.venues).sort(), ['extended', 'lighter']);
      for (const running of Object.values(set.venues)) {
        const answer = await fetch(`${running.url}/`);
        assert.notEqual(answer.status, 0);
        await answer.body?.cancel();
      }
    } finally {
      await set.close();
    }
  });

  test('no ports: nothing runs and closing is a no-op', async () => {
    const set = await startEmulators({ seed: 7, ports: {} });
    assert.deepEqual(set.venues, {});
    await set.close();
  });
});
