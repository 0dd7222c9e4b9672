import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openWithRetry, TailOpenError } from './resuming-tail.js';

/** A fake clock: waiting moves it, so the deadline is exact and the test never sleeps. */
function fakeClock() {
  let now = 0;
  const waits: number[] = [];
  return {
    waits,
    nowMs: () => now,
    wait: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
  };
}

class Fatal extends Error {}

test('openWithRetry: transient failures are retried with a doubling, capped backoff until one opens', async () => {
  const clock = fakeClock();
  let calls = 0;
  const retries: number[] = [];
  const opened = await openWithRetry(
    async () => {
      calls++;
      if (calls < 5) throw new Error('timeout');
      return 'consumer';
    },
    {
      what: 'opening a consumer',
      isFatal: (err) => err instanceof Fatal,
      retryMaxMs: 1_000,
      deadlineMs: 30_000,
      onRetry: (_err, attempt) => retries.push(attempt),
      ...clock,
    },
  );
  assert.equal(opened, 'consumer');
  assert.equal(calls, 5);
  assert.deepEqual(clock.waits, [250, 500, 1_000, 1_000]);
  assert.deepEqual(retries, [1, 2, 3, 4]);
});

test('openWithRetry: a fatal error ends the attempts at once', async () => {
  const clock = fakeClock();
  let calls = 0;
  await assert.rejects(
    openWithRetry(
      async () => {
        calls++;
        throw new Fatal('stream not found');
      },
      { what: 'x', isFatal: (err) => err instanceof Fatal, retryMaxMs: 1_000, deadlineMs: 30_000, ...clock },
    ),
    Fatal,
  );
  assert.equal(calls, 1);
  assert.deepEqual(clock.waits, []);
});

test('openWithRetry: past the deadline the last error is thrown, naming what and how many attempts', async () => {
  const clock = fakeClock();
  let calls = 0;
  await assert.rejects(
    openWithRetry(
      async () => {
        calls++;
        throw new Error(`timeout ${calls}`);
      },
      {
        what: 'opening a consumer on EXEC (tail on exec.>)',
        isFatal: () => false,
        retryMaxMs: 1_000,
        deadlineMs: 3_000,
        ...clock,
      },
    ),
    (err: unknown) => {
      assert.ok(err instanceof TailOpenError);
      assert.equal(
        err.message,
        `opening a consumer on EXEC (tail on exec.>): timeout ${calls} (${calls} attempts)`,
      );
      assert.equal(err.attempts, calls);
      return true;
    },
  );
  // 250 + 500 + 1000 + 1000 = 2750 <= 3000; the next wait would pass the deadline.
  assert.deepEqual(clock.waits, [250, 500, 1_000, 1_000]);
  assert.equal(calls, 5);
});
