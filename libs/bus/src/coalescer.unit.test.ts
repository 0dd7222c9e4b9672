import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PublishCoalescer } from './coalescer.js';
import { PublishBatchError, PublishFailedError } from './errors.js';
import type { OutgoingMessage, PublishAck } from './eventlog.js';

const msg = (id: string): OutgoingMessage => ({
  subject: 'exec.order.paper.main',
  id,
  data: new TextEncoder().encode(id),
});

/** A log that records its calls; `failIds` are not stored (a PublishBatchError names them). */
class FakeLog {
  readonly calls: string[][] = [];
  #seq = 0;
  failIds = new Set<string>();
  failAll: Error | undefined;

  async publish(m: OutgoingMessage): Promise<PublishAck> {
    this.calls.push(['publish', m.id]);
    if (this.failAll) throw this.failAll;
    if (this.failIds.has(m.id)) throw new PublishFailedError(m.id, m.subject, 1);
    return { stream: 'EXEC', seq: ++this.#seq, duplicate: false };
  }

  async publishBatch(msgs: readonly OutgoingMessage[]): Promise<PublishAck[]> {
    this.calls.push(['batch', ...msgs.map((m) => m.id)]);
    if (this.failAll) throw this.failAll;
    const acks = msgs.map((m) =>
      this.failIds.has(m.id) ? undefined : { stream: 'EXEC', seq: ++this.#seq, duplicate: false },
    );
    const failures = msgs.flatMap((m, index) =>
      this.failIds.has(m.id) ? [{ index, id: m.id, error: new PublishFailedError(m.id, m.subject, 1) }] : [],
    );
    if (failures.length > 0) throw new PublishBatchError(failures, acks);
    return acks as PublishAck[];
  }
}

describe('PublishCoalescer', () => {
  test('publishes of one turn leave as one batch; each caller gets its own ack', async () => {
    const log = new FakeLog();
    const flushed: number[] = [];
    const coalescer = new PublishCoalescer(log, { onFlush: (n) => flushed.push(n) });
    const acks = await Promise.all(['a', 'b', 'c'].map((id) => coalescer.publish(msg(id))));
    assert.deepEqual(log.calls, [['batch', 'a', 'b', 'c']]);
    assert.deepEqual(flushed, [3]);
    assert.deepEqual(
      acks.map((a) => a.seq),
      [1, 2, 3],
    );
  });

  test('a turn with one message uses publish; publishes of later turns form new batches', async () => {
    const log = new FakeLog();
    const coalescer = new PublishCoalescer(log);
    await coalescer.publish(msg('a'));
    await Promise.all([coalescer.publish(msg('b')), coalescer.publish(msg('c'))]);
    assert.deepEqual(log.calls, [
      ['publish', 'a'],
      ['batch', 'b', 'c'],
    ]);
  });

  test('a turn larger than maxBatch is split', async () => {
    const log = new FakeLog();
    const coalescer = new PublishCoalescer(log, { maxBatch: 2 });
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => coalescer.publish(msg(id))));
    assert.deepEqual(log.calls, [
      ['batch', 'a', 'b'],
      ['batch', 'c', 'd'],
      ['publish', 'e'],
    ]);
  });

  test('only the callers whose message was not stored get an error, each their own', async () => {
    const log = new FakeLog();
    log.failIds = new Set(['b']);
    const coalescer = new PublishCoalescer(log);
    const results = await Promise.allSettled(['a', 'b', 'c'].map((id) => coalescer.publish(msg(id))));
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    const failed = results[1] as PromiseRejectedResult;
    assert.ok(failed.reason instanceof PublishFailedError);
    assert.equal((failed.reason as PublishFailedError).id, 'b');
  });

  test('a batch that failed as a whole fails every caller with that error', async () => {
    const log = new FakeLog();
    log.failAll = new Error('log closed');
    const coalescer = new PublishCoalescer(log);
    const results = await Promise.allSettled(['a', 'b'].map((id) => coalescer.publish(msg(id))));
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.equal((r as PromiseRejectedResult).reason, log.failAll);
    }
  });

  test('a log that throws at once (not a rejected promise) fails its callers, not the process', async () => {
    const closed = new Error('event log closed');
    const coalescer = new PublishCoalescer({
      publish: () => {
        throw closed;
      },
      publishBatch: () => {
        throw closed;
      },
    });
    await assert.rejects(coalescer.publish(msg('a')), closed);
    const results = await Promise.allSettled(['b', 'c'].map((id) => coalescer.publish(msg(id))));
    assert.deepEqual(
      results.map((r) => r.status === 'rejected' && r.reason === closed),
      [true, true],
    );
  });

  test('maxBatch must be a whole number >= 1', () => {
    assert.throws(() => new PublishCoalescer(new FakeLog(), { maxBatch: 0 }), /maxBatch/);
  });
});
