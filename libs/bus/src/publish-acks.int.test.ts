import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import {
  ClosedConnectionError,
  connect,
  type NatsConnection,
  NoRespondersError,
  TimeoutError,
} from '@nats-io/transport-node';
import { NoStreamForSubjectError } from './errors.js';
import { NatsEventLog, type PublishAcksMode } from './nats.js';
import { loadNats } from './nats-modules.js';
import { PublishAcks } from './publish-acks.js';

const servers = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const tag = `pa${process.pid}${Date.now().toString(36)}`;
const stream = `PUBACKS_${tag}`;
const subject = `pubacks.${tag}`;
const data = new TextEncoder().encode('event');

describe('PublishAcks: JetStream publish-acks on one reply subscription (real NATS)', () => {
  let nc: NatsConnection;
  before(async () => {
    await loadNats(); // PublishAcks is made by NatsEventLog.connect, which loads nats.js first
    nc = await connect({ servers, noAsyncTraces: true });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`${subject}.>`], storage: StorageType.Memory });
  });
  after(async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
  });

  test('each publish gets its own ack; the same id again is a duplicate of the same sequence', async () => {
    const acks = new PublishAcks(nc);
    try {
      const ids = Array.from({ length: 20 }, () => randomUUID());
      const first = await Promise.all(ids.map((id) => acks.publish(`${subject}.a`, data, id, 5_000)));
      assert.equal(new Set(first.map((a) => a.seq)).size, ids.length);
      assert.ok(first.every((a) => a.stream === stream && !a.duplicate));
      const again = await acks.publish(`${subject}.a`, data, ids[3] as string, 5_000);
      assert.deepEqual(again, { stream, seq: first[3]?.seq, duplicate: true });
      assert.equal(acks.waiting, 0);
    } finally {
      acks.close();
    }
  });

  test('a subject no stream listens on is NoRespondersError', async () => {
    const acks = new PublishAcks(nc);
    try {
      await assert.rejects(acks.publish(`nostream.${tag}`, data, randomUUID(), 5_000), NoRespondersError);
    } finally {
      acks.close();
    }
  });

  test('no ack within the timeout is TimeoutError (a plain subscriber that never answers)', async () => {
    const silent = nc.subscribe(`silent.${tag}`, { callback: () => {} });
    await nc.flush();
    const acks = new PublishAcks(nc);
    try {
      await assert.rejects(acks.publish(`silent.${tag}`, data, randomUUID(), 150), TimeoutError);
      assert.equal(acks.waiting, 0);
    } finally {
      acks.close();
      silent.unsubscribe();
    }
  });

  test('close() rejects what still waits with ClosedConnectionError, and later publishes too', async () => {
    const silent = nc.subscribe(`silent2.${tag}`, { callback: () => {} });
    await nc.flush();
    const acks = new PublishAcks(nc);
    const waiting = acks.publish(`silent2.${tag}`, data, randomUUID(), 60_000);
    acks.close();
    await assert.rejects(waiting, ClosedConnectionError);
    await assert.rejects(acks.publish(`${subject}.a`, data, randomUUID(), 5_000), ClosedConnectionError);
    silent.unsubscribe();
  });

  test('the connection closing rejects what still waits', async () => {
    const own = await connect({ servers, noAsyncTraces: true });
    const silent = own.subscribe(`silent3.${tag}`, { callback: () => {} });
    await own.flush();
    const acks = new PublishAcks(own);
    const waiting = acks.publish(`silent3.${tag}`, data, randomUUID(), 60_000);
    await own.close();
    await assert.rejects(waiting, ClosedConnectionError);
    silent.unsubscribe();
  });

  for (const mode of ['shared', 'nats-js'] satisfies PublishAcksMode[]) {
    test(`NatsEventLog (${mode}): stored once per id, and a subject without a stream is NoStreamForSubjectError`, async () => {
      const log = await NatsEventLog.connect({
        servers,
        publishAcks: mode,
        publishRetry: { baseDelayMs: 1, maxDelayMs: 1 },
      });
      try {
        const id = randomUUID();
        const first = await log.publish({ subject: `${subject}.b`, id, data });
        const again = await log.publish({ subject: `${subject}.b`, id, data });
        assert.equal(first.duplicate, false);
        assert.deepEqual(again, { ...first, duplicate: true });
        await assert.rejects(
          log.publish({ subject: `nostream.${tag}`, id: randomUUID(), data }),
          NoStreamForSubjectError,
        );
      } finally {
        await log.close();
      }
    });
  }

  test('a switch that is neither mode is refused, naming it', async () => {
    await assert.rejects(
      NatsEventLog.connect({ servers, publishAcks: 'fast' as PublishAcksMode }),
      /publishAcks.*"shared" or "nats-js"/,
    );
  });
});
