import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventuallyTimeoutError, eventually } from './eventually.js';

describe('eventually', () => {
  it('returns the first value the probe gives', async () => {
    let n = 0;
    assert.equal(await eventually('n reaches 3', () => (++n >= 3 ? n : undefined), { intervalMs: 1 }), 3);
  });

  it('treats false as not yet and true as done', async () => {
    let n = 0;
    assert.equal(await eventually('two probes', () => ++n >= 2, { intervalMs: 1 }), true);
  });

  it('fails naming what never happened and the last error', async () => {
    await assert.rejects(
      eventually(
        'the fill',
        () => {
          throw new Error('no such order');
        },
        { timeoutMs: 30, intervalMs: 5 },
      ),
      (err: unknown) => {
        assert.ok(err instanceof EventuallyTimeoutError);
        assert.match(err.message, /waiting for the fill: no such order/);
        return true;
      },
    );
  });
});
