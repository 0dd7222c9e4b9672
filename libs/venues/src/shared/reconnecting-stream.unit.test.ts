import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ReadinessComponent } from '../port.js';
import {
  ReconnectingStream,
  type ReconnectingStreamOptions,
  type StreamAttemptSink,
} from './reconnecting-stream.js';

/** A transport under the test's hand: every attempt is recorded; retries wait for `fireRetry()`. */
class Harness {
  readonly attempts: { sink: StreamAttemptSink<string>; cancelled: boolean }[] = [];
  readonly delivered: string[] = [];
  readonly changes: ReadinessComponent[] = [];
  readonly retries: { ms: number; fn: () => void; cancelled: boolean }[] = [];
  closedCalls = 0;
  /** Messages `deliver` refuses (malformed). */
  readonly bad = new Set<string>();

  options(extra: Partial<ReconnectingStreamOptions<string>> = {}): ReconnectingStreamOptions<string> {
    return {
      component: 'market stream',
      label: 'market stream BTC-USDC-PERP',
      source: 'test server',
      open: (sink) => {
        const attempt = { sink, cancelled: false };
        this.attempts.push(attempt);
        return {
          cancel: () => {
            attempt.cancelled = true;
          },
        };
      },
      deliver: (message) => {
        if (this.bad.has(message)) throw new Error(`cannot read ${message}`);
        this.delivered.push(message);
      },
      initialDelayMs: 100,
      maxDelayMs: 1_000,
      onChange: (state) => this.changes.push(state),
      onClosed: () => {
        this.closedCalls += 1;
      },
      schedule: (fn, ms) => {
        const retry = { ms, fn, cancelled: false };
        this.retries.push(retry);
        return () => {
          retry.cancelled = true;
        };
      },
      ...extra,
    };
  }

  get last(): StreamAttemptSink<string> {
    const attempt = this.attempts.at(-1);
    assert.ok(attempt, 'an attempt was opened');
    return attempt.sink;
  }

  fireRetry(): void {
    const retry = this.retries.at(-1);
    assert.ok(retry && !retry.cancelled, 'a retry is pending');
    retry.fn();
  }
}

async function started(h: Harness): Promise<ReconnectingStream<string>> {
  const stream = new ReconnectingStream(h.options());
  const starting = stream.start();
  h.last.subscribed();
  await starting;
  return stream;
}

describe('ReconnectingStream', () => {
  test('start resolves on subscribe; the state says subscribing, then subscribed', async () => {
    const h = new Harness();
    const stream = new ReconnectingStream(h.options());
    const starting = stream.start();
    assert.deepEqual(stream.state, {
      component: 'market stream',
      ready: false,
      reason: 'market stream BTC-USDC-PERP: subscribing to test server',
    });
    h.last.subscribed();
    await starting;
    assert.deepEqual(stream.state, {
      component: 'market stream',
      ready: true,
      reason: 'market stream BTC-USDC-PERP: subscribed to test server',
    });
    h.last.data('a');
    assert.deepEqual(h.delivered, ['a']);
  });

  test('a failed first attempt rejects with the transport error and closes without retrying', async () => {
    const h = new Harness();
    const stream = new ReconnectingStream(h.options());
    const starting = stream.start();
    h.last.ended('disconnected from test server: NOT_FOUND', new Error('no such venue'));
    await assert.rejects(starting, /no such venue/);
    assert.equal(stream.closed, true);
    assert.equal(h.closedCalls, 1);
    assert.equal(h.retries.length, 0);
  });

  test('an open() that throws fails the first attempt the same way', async () => {
    const h = new Harness();
    const stream = new ReconnectingStream(
      h.options({
        open: () => {
          throw new Error('socket refused');
        },
      }),
    );
    await assert.rejects(stream.start(), /socket refused/);
    assert.equal(stream.closed, true);
  });

  test('a break after subscribe is not ready with the reason and the delay, then re-subscribes', async () => {
    const h = new Harness();
    const stream = await started(h);
    h.last.ended('disconnected from test server: UNAVAILABLE');
    assert.deepEqual(stream.state, {
      component: 'market stream',
      ready: false,
      reason:
        'market stream BTC-USDC-PERP: disconnected from test server: UNAVAILABLE; re-subscribing in 100 ms',
    });
    assert.equal(h.attempts.length, 1, 'no new attempt before the delay');
    h.fireRetry();
    assert.equal(h.attempts.length, 2);
    h.last.subscribed();
    assert.equal(stream.state.ready, true);
    h.last.data('after');
    assert.deepEqual(h.delivered, ['after']);
    assert.deepEqual(
      h.changes.map((c) => c.ready),
      [true, false, true],
    );
  });

  test('backoff doubles per failed re-subscribe up to the cap, and resets after a subscribe', async () => {
    const h = new Harness();
    await started(h);
    h.last.ended('down');
    for (let i = 0; i < 5; i += 1) {
      h.fireRetry();
      h.last.ended('still down');
    }
    assert.deepEqual(
      h.retries.map((r) => r.ms),
      [100, 200, 400, 800, 1_000, 1_000],
    );
    h.fireRetry();
    h.last.subscribed();
    h.last.ended('down again');
    assert.equal(h.retries.at(-1)?.ms, 100, 'a successful subscribe resets the backoff');
  });

  test('a malformed message drops the attempt and re-subscribes; the stale attempt is ignored', async () => {
    const h = new Harness();
    const stream = await started(h);
    h.bad.add('garbage');
    const broken = h.last;
    broken.data('garbage');
    assert.equal(h.attempts[0]?.cancelled, true, 'the attempt is cancelled');
    assert.match(
      stream.state.reason,
      /malformed event from test server: cannot read garbage; re-subscribing in 100 ms/,
    );
    // What the cancelled attempt reports afterwards changes nothing.
    broken.data('late');
    broken.ended('cancelled');
    assert.equal(h.retries.length, 1, 'one retry, not two');
    assert.deepEqual(h.delivered, []);
  });

  test('a malformed message before the first subscribe fails start, with no retry', async () => {
    const h = new Harness();
    h.bad.add('garbage');
    const stream = new ReconnectingStream(h.options());
    const starting = stream.start();
    h.last.data('garbage');
    await assert.rejects(starting, /cannot read garbage/);
    assert.equal(h.attempts[0]?.cancelled, true);
    assert.equal(stream.closed, true);
    assert.equal(h.retries.length, 0);
  });

  test('an attempt that ends while it is being opened is not kept as the current one', async () => {
    const h = new Harness();
    let cancelled = 0;
    const stream = new ReconnectingStream(
      h.options({
        open: (sink) => {
          sink.subscribed();
          sink.ended('dropped at once');
          return {
            cancel: () => {
              cancelled += 1;
            },
          };
        },
      }),
    );
    await stream.start();
    assert.match(stream.state.reason, /dropped at once; re-subscribing in 100 ms/);
    await stream.close();
    assert.equal(cancelled, 0, 'close does not cancel an attempt that already ended');
  });

  test('close during backoff cancels the retry and opens nothing more', async () => {
    const h = new Harness();
    const stream = await started(h);
    h.last.ended('down');
    await stream.close();
    assert.equal(h.retries[0]?.cancelled, true);
    assert.equal(h.closedCalls, 1);
    // Even a retry that fires anyway (a timer already due) opens nothing.
    h.retries[0]?.fn();
    assert.equal(h.attempts.length, 1);
  });

  test('close cancels the running attempt once; its late reports are ignored', async () => {
    const h = new Harness();
    const stream = await started(h);
    await stream.close();
    await stream.close();
    assert.equal(h.attempts[0]?.cancelled, true);
    assert.equal(h.closedCalls, 1);
    h.attempts[0]?.sink.ended('cancelled');
    h.attempts[0]?.sink.data('late');
    assert.equal(h.retries.length, 0);
    assert.deepEqual(h.delivered, []);
  });
});
