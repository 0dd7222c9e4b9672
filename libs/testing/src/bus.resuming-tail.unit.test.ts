/**
 * ResumingTail (libs/bus/src/resuming-tail.ts) with fake consumers. Lives here, not in libs/bus,
 * because it waits with `eventually` (libs/testing depends on libs/bus).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type OpenedTailConsumer, ResumingTail, type TailConsumerMessages } from '@perpmesh/bus';
import { eventually } from './eventually.js';

interface Msg {
  readonly seq: number;
}

/** A consumer whose events and heartbeats the test pushes. */
class FakeConsumer implements TailConsumerMessages<Msg>, OpenedTailConsumer<Msg> {
  readonly messages = this;
  readonly #events: Msg[] = [];
  readonly #statuses: { type: string }[] = [];
  #waiters: (() => void)[] = [];
  closed = false;
  removed = false;

  constructor(readonly startSeq: number) {}

  push(...seqs: number[]): void {
    for (const seq of seqs) this.#events.push({ seq });
    this.#wakeAll();
  }
  heartbeat(): void {
    this.#statuses.push({ type: 'heartbeat' });
    this.#wakeAll();
  }
  #wakeAll(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
  #sleep(): Promise<void> {
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
  async close(): Promise<void> {
    this.closed = true;
    this.#wakeAll();
  }
  async remove(): Promise<void> {
    this.removed = true;
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<Msg> {
    for (;;) {
      const next = this.#events.shift();
      if (next) yield next;
      else if (this.closed) return;
      else await this.#sleep();
    }
  }
  status(): AsyncIterable<{ type: string }> {
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const next = self.#statuses.shift();
          if (next) yield next;
          else if (self.closed) return;
          else await self.#sleep();
        }
      },
    };
  }
}

function harness(options: { firstSeq?: number; failOpens?: unknown[] } = {}) {
  let now = 1_000;
  const firstSeq = options.firstSeq ?? 1;
  const opened: FakeConsumer[] = [new FakeConsumer(firstSeq)];
  const failures = [...(options.failOpens ?? [])];
  const waits: number[] = [];
  const resumes: { startSeq: number; silentMs: number }[] = [];
  const tail = new ResumingTail<Msg>({
    first: opened[0] as FakeConsumer,
    firstSeq,
    open: async (startSeq) => {
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
      const c = new FakeConsumer(startSeq);
      opened.push(c);
      return c;
    },
    silenceMs: 40,
    retryMaxMs: 1_000,
    isFatal: (err) => err instanceof Error && err.message === 'stream not found',
    onResume: (info) => resumes.push(info),
    nowMs: () => now,
    wait: async (ms) => void waits.push(ms),
  });
  const delivered: number[] = [];
  const done = (async () => {
    for await (const m of tail) delivered.push(m.seq);
  })();
  return {
    tail,
    opened,
    delivered,
    done,
    waits,
    resumes,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('ResumingTail', () => {
  // The tail's silence timer is unref'd (a NATS connection keeps a real process alive): keep
  // this one alive while the tests wait on it.
  let keepAlive: NodeJS.Timeout;
  before(() => {
    keepAlive = setInterval(() => {}, 1_000);
  });
  after(() => clearInterval(keepAlive));

  test('after a silence, a new consumer continues from the sequence after the last delivered', async () => {
    const h = harness();
    h.opened[0]?.push(1, 2);
    await eventually('1 and 2 delivered', () => h.delivered.length === 2 || undefined, 2_000);
    h.advance(41);
    await eventually('a second consumer', () => h.opened[1], 2_000);
    assert.equal(h.opened[1]?.startSeq, 3);
    assert.ok(h.opened[0]?.closed && h.opened[0].removed, 'the silent consumer is closed and removed');
    h.opened[1]?.push(3, 4);
    await eventually('3 and 4 delivered', () => h.delivered.length === 4 || undefined, 2_000);
    assert.deepEqual(h.delivered, [1, 2, 3, 4]);
    assert.deepEqual(h.resumes, [{ startSeq: 3, silentMs: 41 }]);
    await h.tail.close();
    await h.done;
    assert.ok(h.opened[1]?.removed, 'close removes the current consumer');
  });

  test('heartbeats count as heard; nothing delivered yet: the new consumer starts at firstSeq', async () => {
    const h = harness({ firstSeq: 17 });
    h.advance(30);
    h.opened[0]?.heartbeat();
    // The heartbeat is read asynchronously: wait until a later silence is measured from it.
    await eventually(
      'the heartbeat is heard, then a silence of 41 ms after it resumes',
      async () => {
        if (h.resumes.length === 0) h.advance(1);
        return h.resumes[0];
      },
      2_000,
    );
    assert.equal(h.resumes[0]?.startSeq, 17);
    assert.ok(
      (h.resumes[0]?.silentMs ?? 0) < 71,
      `silence measured from the heartbeat: ${h.resumes[0]?.silentMs}`,
    );
    assert.equal(h.opened[1]?.startSeq, 17);
    await h.tail.close();
    await h.done;
  });

  test('failed opens are retried with a bounded backoff; a fatal one ends the tail with it', async () => {
    const timeout = new Error('timeout');
    const h = harness({ failOpens: [timeout, timeout, timeout, timeout, timeout, timeout] });
    h.advance(41);
    await eventually('the replacement opens', () => h.opened[1], 2_000);
    assert.deepEqual(h.waits, [250, 500, 1_000, 1_000, 1_000, 1_000]);
    await h.tail.close();
    await h.done;

    const fatal = new Error('stream not found');
    const f = harness({ failOpens: [timeout, fatal] });
    f.advance(41);
    await assert.rejects(f.done, /stream not found/);
  });

  test('a consumer that ends on its own ends the tail (the caller sees it closed)', async () => {
    const h = harness();
    h.opened[0]?.push(1);
    await h.opened[0]?.close();
    await h.done;
    assert.deepEqual(h.delivered, [1]);
    assert.equal(h.opened.length, 1, 'no replacement');
  });
});
