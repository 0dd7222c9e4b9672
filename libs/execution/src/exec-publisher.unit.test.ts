import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type EventLog,
  type OutgoingMessage,
  type PublishAck,
  PublishBatchError,
  PublishFailedError,
} from '@perpmesh/bus';
import { type Envelope, subjects } from '@perpmesh/contracts';
import { createLogger, HealthRegistry } from '@perpmesh/runtime';
import { EVENT_LOG_COMPONENT, ExecPublisher } from './exec-log.js';
import { limitOrderRequest } from './fixtures.test-helper.js';
import { newTrackedOrder, snapshotOf, type TrackedOrder } from './orders.js';
import { transitionOrder } from './venue-reports.js';
import { orderEventEnvelope } from './wire.js';

const T0 = 1_700_000_000_000;

function order(clientOrderId: string): TrackedOrder {
  return newTrackedOrder(limitOrderRequest(clientOrderId), '', T0, 'USDC');
}

function submitted(o: TrackedOrder): Envelope {
  return orderEventEnvelope(snapshotOf(o), {
    source: 'execution/test',
    tsInitMs: T0,
    tsEventMs: T0,
    cancelRound: false,
  });
}

/** Records each call to the log as the ids it carried; `failIds` are not stored. */
class RecordingLog {
  readonly calls: string[][] = [];
  failIds = new Set<string>();
  #seq = 0;

  #ack(m: OutgoingMessage): PublishAck | undefined {
    return this.failIds.has(m.id) ? undefined : { stream: 'EXEC', seq: ++this.#seq, duplicate: false };
  }

  async publish(m: OutgoingMessage): Promise<PublishAck> {
    this.calls.push([m.id]);
    const ack = this.#ack(m);
    if (!ack) throw new PublishFailedError(m.id, m.subject, 1);
    return ack;
  }

  async publishBatch(msgs: readonly OutgoingMessage[]): Promise<PublishAck[]> {
    this.calls.push(msgs.map((m) => m.id));
    const acks = msgs.map((m) => this.#ack(m));
    const failures = msgs.flatMap((m, index) =>
      acks[index] ? [] : [{ index, id: m.id, error: new PublishFailedError(m.id, m.subject, 1) }],
    );
    if (failures.length > 0) throw new PublishBatchError(failures, acks);
    return acks as PublishAck[];
  }
}

function publisher(log: RecordingLog, batchPublishes: boolean) {
  const health = new HealthRegistry();
  const p = new ExecPublisher({
    log: log as unknown as EventLog,
    subjects,
    health,
    logger: createLogger({ service: 'execution', level: 'silent' }),
    onPublishFailure: () => undefined,
    track: (promise) => promise,
    batchPublishes,
  });
  return { p, health };
}

describe('ExecPublisher batching', () => {
  test("concurrent orders' events leave as one batch; each order learns its own event was stored", async () => {
    const log = new RecordingLog();
    const { p } = publisher(log, true);
    const [a, b] = [order('a'), order('b')];
    const [ea, eb] = [submitted(a), submitted(b)];
    assert.deepEqual(await Promise.all([p.publish(a, [ea]), p.publish(b, [eb])]), [true, true]);
    assert.deepEqual(log.calls, [[ea.id, eb.id]]);
  });

  test('without batching each event is its own publish', async () => {
    const log = new RecordingLog();
    const { p } = publisher(log, false);
    const [a, b] = [order('a'), order('b')];
    const [ea, eb] = [submitted(a), submitted(b)];
    await Promise.all([p.publish(a, [ea]), p.publish(b, [eb])]);
    assert.deepEqual(log.calls, [[ea.id], [eb.id]]);
  });

  test('an event the log did not store fails only its order, which is queued for retry', async () => {
    const log = new RecordingLog();
    const { p, health } = publisher(log, true);
    const [a, b] = [order('a'), order('b')];
    const [ea, eb] = [submitted(a), submitted(b)];
    log.failIds = new Set([eb.id]);
    assert.deepEqual(await Promise.all([p.publish(a, [ea]), p.publish(b, [eb])]), [true, false]);
    assert.equal(p.backlog, 1);
    assert.equal(health.component(EVENT_LOG_COMPONENT)?.ready, false);
    log.failIds.clear();
    await p.retryUnpublished();
    assert.equal(p.backlog, 0);
    assert.equal(health.component(EVENT_LOG_COMPONENT)?.ready, true);
  });

  test("one order's events stay in order: the second leaves after the first is stored", async () => {
    const log = new RecordingLog();
    const { p } = publisher(log, true);
    const a = order('a');
    const first = submitted(a);
    const accepted = transitionOrder(
      snapshotOf(a),
      { kind: 'accepted', venueOrderId: 'v1', tsEventMs: T0 + 1 },
      { ctx: { source: 'execution/test', tsInitMs: T0 + 1 } },
    );
    assert.ok(accepted.kind === 'changed');
    const second = accepted.envelopes[0] as Envelope;
    assert.equal(await p.publish(a, [first, second]), true);
    assert.deepEqual(log.calls, [[first.id], [second.id]]);
  });
});
