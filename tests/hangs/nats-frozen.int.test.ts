/**
 * A nats-server that stops answering while its connections stay open (SIGSTOP): publishes
 * during the freeze fail with a named error within the publish timeout (never acknowledged, so
 * nothing acknowledged can be lost), the client notices the dead connection by its pings and
 * reconnects, and after the thaw a tail opened before the freeze delivers what is published
 * then. Without the ping settings (nats.js' default: 2 min x 2) the connection is not dropped
 * for minutes and the deadlines below fail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NatsEventLog, NatsLogReader, type StoredMessage } from '@perpmesh/bus';
import { withTimeout } from '@perpmesh/core';
import { eventually, FrozenServer, SilentCutProxy } from '@perpmesh/testing';

const STREAM = 'HANGS';

const PUBLISH_DEADLINE_MS = 15_000;
/** A shutdown that outlives this hung (the flush it waits for never got a PONG). */
const CLOSE_DEADLINE_MS = 10_000;

const message = (id: string) => ({ subject: 'hangs.events', id, data: new TextEncoder().encode(id) });

async function openLog(servers: string): Promise<NatsEventLog> {
  const log = await NatsEventLog.connect({
    servers,
    name: 'hangs-test',
    pingIntervalMs: 500,
    maxPingsOut: 2,
    publishRetry: { ackTimeoutMs: 500, maxAttempts: 2, baseDelayMs: 50 },
  });
  await log.ensureStreams([{ name: STREAM, subjects: ['hangs.>'], maxAgeMs: 0 }]);
  return log;
}

/**
 * A tail open and an event delivered; then `silence()`: a publish fails with a named error
 * within its deadline; then `speak()`: publishes are acknowledged again, the tail delivers
 * them, and every acknowledged event is stored.
 */
async function outage(
  log: NatsEventLog,
  silence: () => Promise<void> | void,
  speak: () => Promise<void> | void,
): Promise<void> {
  const seen: string[] = [];
  const tail = await log.tail('hangs.>', { from: 'new' }, async (msg: StoredMessage) => {
    seen.push(msg.id);
  });
  try {
    const acked: string[] = [`before-${Date.now()}`];
    await log.publish(message(acked[0] as string));
    await eventually('the tail delivering before the outage', () => seen.includes(acked[0] as string));

    await silence();
    await withTimeout(
      assert.rejects(log.publish(message(`silent-${Date.now()}`)), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, /hangs\.events/);
        return true;
      }),
      PUBLISH_DEADLINE_MS,
      'a publish to a silent nats-server',
    );

    await speak();
    await eventually(
      'a publish acknowledged after the outage',
      async () => {
        const id = `after-${Date.now()}-${acked.length}`;
        await log.publish(message(id));
        acked.push(id);
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const last = acked.at(-1) as string;
    await eventually(
      'the tail delivering what was published after the outage',
      () => seen.includes(last),
      30_000,
    );
    const stored = new Set<string>();
    for await (const msg of log.read({ stream: STREAM })) stored.add(msg.id);
    for (const id of acked) assert.ok(stored.has(id), `acknowledged ${id} is stored`);
  } finally {
    await tail.stop();
  }
}

describe('NatsEventLog on a nats-server that stops answering', () => {
  let server: FrozenServer;
  before(async () => {
    server = await FrozenServer.start('nats');
  });
  after(async () => {
    await server?.stop();
  });

  test('frozen (SIGSTOP) then thawed: publishes fail named meanwhile, the tail delivers after the thaw', async () => {
    const log = await openLog(server.url);
    try {
      await outage(
        log,
        () => server.freeze(),
        () => server.thaw(),
      );
    } finally {
      await log.close();
    }
  });

  test('close() while the server is frozen returns (its flush is bounded)', async () => {
    const log = await openLog(server.url);
    let closed = false;
    try {
      const tail = await log.tail('hangs.>', { from: 'new' }, async () => undefined);
      await server.freeze();
      // Witness that the client has been on the silent server for a while (its pings, every
      // 500 ms, gone unanswered: the connection dropped and a reconnect into the frozen
      // server waiting): a close then used to wait ~19 s for the flush's PONG.
      for (let i = 0; i < 3; i++) await assert.rejects(log.publish(message(`closing-${Date.now()}-${i}`)));
      await tail.stop();
      await withTimeout(log.close(), CLOSE_DEADLINE_MS, 'close on a frozen nats-server');
      closed = true;
    } finally {
      await server.thaw();
      // A failed test must not leave a connection reconnecting forever (the file would never end).
      if (!closed) await log.close();
    }
  });

  test('a connection cut silently (half-open): the pings drop it, a new one carries publishes and the tail', async () => {
    const { proxy, url } = await SilentCutProxy.start(Number(new URL(server.url).port), 'nats');
    const log = await openLog(url);
    try {
      await outage(
        log,
        () => proxy.partition(),
        () => proxy.heal(),
      );
    } finally {
      await log.close();
      await proxy.close();
    }
  });

  test('the log reader (replay) leaves a silently cut connection too and reads again after the heal', async () => {
    const { proxy, url } = await SilentCutProxy.start(Number(new URL(server.url).port), 'nats');
    const log = await openLog(server.url);
    const reader = await NatsLogReader.connect({
      servers: url,
      name: 'hangs-reader',
      pingIntervalMs: 500,
      maxPingsOut: 2,
    });
    try {
      assert.ok((await reader.streamNames()).includes(STREAM));
      proxy.partition();
      await assert.rejects(withTimeout(reader.streamNames(), 3_000, 'streamNames on a cut connection'));
      proxy.heal();
      // Without pings the dead connection stays for minutes (nats.js' default: 2 min x 2) and
      // every read on it times out. With them it is dropped within ~1.5 s; a reconnect begun
      // while still cut waits out nats.js' 20 s handshake timeout, then the next one works.
      await eventually(
        'the reader answering on a new connection',
        async () => (await reader.streamNames()).includes(STREAM),
        { timeoutMs: 45_000, intervalMs: 250 },
      );
    } finally {
      await reader.close();
      await log.close();
      await proxy.close();
    }
  });
});
