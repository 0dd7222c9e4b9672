import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelayMs, DeadlineExceededError, errorText, raceStop, sleep, withTimeout } from './async.js';

/** A stop promise that never settles by itself and counts the reactions put on it. */
function countedStop(): {
  stop: Promise<void>;
  settle: () => void;
  fail: (err: Error) => void;
  reactions: () => number;
} {
  let settle!: () => void;
  let fail!: (err: Error) => void;
  const stop = new Promise<void>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  let reactions = 0;
  const then = stop.then.bind(stop);
  // Promise.race and .then both go through `then`: every reaction is counted.
  // biome-ignore lint/suspicious/noThenProperty: counting the reactions put on the promise is the point
  stop.then = ((...args: Parameters<typeof then>) => {
    reactions += 1;
    return then(...args);
  }) as typeof stop.then;
  return { stop, settle, fail, reactions: () => reactions };
}

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

  it('waiting on one long-lived stop promise over and over leaves one reaction on it, not one per wait', async () => {
    const { stop, reactions } = countedStop();
    for (let i = 0; i < 1_000; i++) await sleep(0, { stop });
    for (let i = 0; i < 1_000; i++) assert.equal(await raceStop(Promise.resolve(i), stop), i);
    assert.ok(reactions() <= 1, `${reactions()} reactions on the stop promise`);
  });

  it('raceStop settles as its promise does, or as stop does when stop comes first', async () => {
    await assert.rejects(raceStop(Promise.reject(new Error('inner')), new Promise(() => {})), /inner/);
    const a = countedStop();
    const pending = [raceStop(new Promise(() => {}), a.stop), sleep(60_000, { stop: a.stop, unref: true })];
    a.settle();
    assert.deepEqual(await Promise.all(pending), [undefined, undefined]);
    // Already stopped: a new wait ends at once.
    assert.equal(await raceStop(new Promise(() => {}), a.stop), undefined);
    await sleep(60_000, { stop: a.stop, unref: true });
    const b = countedStop();
    const failing = raceStop(new Promise(() => {}), b.stop);
    b.fail(new Error('stop failed'));
    await assert.rejects(failing, /stop failed/);
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
