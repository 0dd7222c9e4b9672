import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NoStreamForSubjectError, PublishFailedError } from './errors.js';
import {
  DEFAULT_PUBLISH_RETRY,
  publishWithRetry,
  retryAfterFailure,
  retryDelayMs,
  retrySpanMs,
} from './retry.js';

const msg = { id: 'evt-1', subject: 'exec.order.paper.main' };
const policy = { ...DEFAULT_PUBLISH_RETRY, maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 25 };

describe('publishWithRetry', () => {
  test('retries transient failures with backoff until the ack arrives', async () => {
    const waits: number[] = [];
    let calls = 0;
    const ack = await publishWithRetry(
      msg,
      async () => {
        calls++;
        if (calls < 3) throw new Error('timeout');
        return { seq: 7 };
      },
      () => 'retry',
      policy,
      { wait: async (ms) => void waits.push(ms) },
    );
    assert.deepEqual(ack, { seq: 7 });
    assert.equal(calls, 3);
    assert.deepEqual(waits, [10, 20]);
  });

  test('retryAfterFailure takes over after a first attempt made by the caller: same backoff and count', async () => {
    const waits: number[] = [];
    let calls = 0;
    const attempt = async () => {
      calls++;
      throw new Error('timeout');
    };
    await assert.rejects(
      retryAfterFailure(msg, new Error('first'), attempt, () => 'retry', policy, {
        wait: async (ms) => void waits.push(ms),
      }),
      (err: unknown) => err instanceof PublishFailedError && err.attempts === 4,
    );
    // The caller's attempt was the first of four: three more, after the same three delays.
    assert.equal(calls, 3);
    assert.deepEqual(waits, [10, 20, 25]);
  });

  test('gives up after maxAttempts with PublishFailedError naming the id and attempts', async () => {
    let calls = 0;
    const cause = new Error('disconnected');
    await assert.rejects(
      publishWithRetry(
        msg,
        async () => {
          calls++;
          throw cause;
        },
        () => 'retry',
        policy,
        { wait: async () => {} },
      ),
      (err: unknown) =>
        err instanceof PublishFailedError && err.id === 'evt-1' && err.attempts === 4 && err.cause === cause,
    );
    assert.equal(calls, 4);
  });

  test('a fatal failure is not retried', async () => {
    let calls = 0;
    await assert.rejects(
      publishWithRetry(
        msg,
        async () => {
          calls++;
          throw new Error('message too large');
        },
        () => 'fatal',
        policy,
        { wait: async () => {} },
      ),
      PublishFailedError,
    );
    assert.equal(calls, 1);
  });

  test('"no responders" becomes NoStreamForSubjectError after noStreamAttempts', async () => {
    let calls = 0;
    await assert.rejects(
      publishWithRetry(
        msg,
        async () => {
          calls++;
          throw new Error('503');
        },
        () => 'no-stream',
        { ...policy, noStreamAttempts: 2 },
        { wait: async () => {} },
      ),
      (err: unknown) => err instanceof NoStreamForSubjectError && err.subject === msg.subject,
    );
    assert.equal(calls, 2);
  });

  test('stops retrying once the log is closed', async () => {
    let calls = 0;
    await assert.rejects(
      publishWithRetry(
        msg,
        async () => {
          calls++;
          throw new Error('timeout');
        },
        () => 'retry',
        policy,
        { wait: async () => {}, stopped: () => calls >= 2 },
      ),
      PublishFailedError,
    );
    assert.equal(calls, 2);
  });

  test('the retry span counts every timeout and delay, and fits the default duplicate window', () => {
    assert.equal(retryDelayMs(policy, 1), 10);
    assert.equal(retryDelayMs(policy, 3), 25);
    assert.equal(retrySpanMs(policy), 4 * policy.ackTimeoutMs + 10 + 20 + 25);
    assert.ok(retrySpanMs(DEFAULT_PUBLISH_RETRY) < 10 * 60 * 1000);
  });

  test('"no responders" while the stream exists (an election): retried for the whole span, then PublishFailedError', async () => {
    let now = 0;
    let calls = 0;
    const lookups: string[] = [];
    const spanPolicy = { ...policy, ackTimeoutMs: 1_000, noStreamAttempts: 2 };
    await assert.rejects(
      publishWithRetry(
        msg,
        async () => {
          calls++;
          throw new Error('503');
        },
        () => 'no-stream',
        spanPolicy,
        {
          nowMs: () => now,
          wait: async (ms) => {
            now += ms;
          },
          streamExists: async (subject) => {
            lookups.push(subject);
            return true;
          },
        },
      ),
      (err: unknown) => err instanceof PublishFailedError && err.subject === msg.subject,
    );
    // Asked once; far more attempts than maxAttempts, all inside the span.
    assert.deepEqual(lookups, [msg.subject]);
    assert.ok(calls > spanPolicy.maxAttempts, `${calls} attempts`);
    assert.ok(now + spanPolicy.ackTimeoutMs <= retrySpanMs(spanPolicy), `${now} ms`);
  });

  test('"no responders" during an election ends when the leader answers', async () => {
    let calls = 0;
    const ack = await publishWithRetry(
      msg,
      async () => {
        calls++;
        if (calls < 8) throw new Error('503');
        return { seq: 9 };
      },
      () => 'no-stream',
      { ...policy, noStreamAttempts: 2 },
      { wait: async () => {}, streamExists: async () => true },
    );
    assert.deepEqual(ack, { seq: 9 });
    assert.equal(calls, 8);
  });

  test('"no responders" and the lookup says no stream stores the subject: NoStreamForSubjectError at once', async () => {
    let calls = 0;
    await assert.rejects(
      publishWithRetry(
        msg,
        async () => {
          calls++;
          throw new Error('503');
        },
        () => 'no-stream',
        { ...policy, noStreamAttempts: 2 },
        { wait: async () => {}, streamExists: async () => false },
      ),
      NoStreamForSubjectError,
    );
    assert.equal(calls, 2);
  });

  test('"no responders" and the lookup fails too: treated as an election, retried', async () => {
    let calls = 0;
    const ack = await publishWithRetry(
      msg,
      async () => {
        calls++;
        if (calls < 6) throw new Error('503');
        return { seq: 1 };
      },
      () => 'no-stream',
      { ...policy, noStreamAttempts: 2 },
      {
        wait: async () => {},
        streamExists: async () => {
          throw new Error('timeout');
        },
      },
    );
    assert.deepEqual(ack, { seq: 1 });
  });
});
