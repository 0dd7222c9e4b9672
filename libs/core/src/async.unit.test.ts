import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelayMs, DeadlineExceededError, errorText, sleep, withTimeout } from './async.js';

describe('async helpers', () => {
  it('errorText gives the message of an Error and the string of anything else', () => {
    assert.equal(errorText(new Error('boom')), 'boom');
    assert.equal(errorText('plain'), 'plain');
    assert.equal(errorText(42), '42');
  });

  it('sleep ends early when stop settles', async () => {
    let stopNow!: () => void;
    const stop = new Promise<void>((resolve) => {
      stopNow = resolve;
    });
    const slept = sleep(60_000, { stop, unref: true });
    stopNow();
    await slept;
  });

  it('withTimeout passes the value through, or fails naming what timed out', async () => {
    assert.equal(await withTimeout(Promise.resolve(7), 1_000, 'x'), 7);
    // withTimeout's timer never holds the process open: keep the loop alive for this test.
    const keepAlive = setTimeout(() => {}, 10_000);
    await assert.rejects(withTimeout(new Promise(() => {}), 5, 'fetchBalances'), (err: unknown) => {
      assert.ok(err instanceof DeadlineExceededError);
      assert.equal(err.code, 'DEADLINE_EXCEEDED');
      assert.match(err.message, /fetchBalances timed out after 5 ms/);
      return true;
    });
    clearTimeout(keepAlive);
  });
});

describe('backoffDelayMs', () => {
  it('doubles from the initial delay and stops at the cap', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, 100, 1_000)),
      [100, 200, 400, 800, 1_000, 1_000],
    );
  });

  it('never overflows after many failures, and a negative count waits the initial delay', () => {
    assert.equal(backoffDelayMs(10_000, 100, 1_000), 1_000);
    assert.equal(backoffDelayMs(-1, 100, 1_000), 100);
  });
});
