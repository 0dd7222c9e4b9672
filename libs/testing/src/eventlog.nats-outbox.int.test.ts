/**
 * NatsEventLog's publish durability on a real JetStream: retries with the same id when an
 * ack is lost, and the outbox that makes a restart resend what was never acknowledged.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileOutbox, NatsEventLog, NoStreamForSubjectError, type StoredMessage } from '@perpmesh/bus';
import { natsUrlForTests, stopTestServers, uniqueTestName } from './servers.js';

const data = (s: string) => new TextEncoder().encode(s);

/**
 * A TCP proxy to NATS that can hold back server->client bytes (acks) and release them in
 * order later, so an ack is "lost" (it arrives after the client gave up) without breaking
 * the protocol stream.
 */
class AckHoldingProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private held: { client: Socket; chunk: Buffer }[] = [];
  private releaseAfter: { needle: string; count: number } | undefined;
  private seen = 0;
  port = 0;

  async start(upstreamUrl: string): Promise<void> {
    const { hostname, port } = new URL(upstreamUrl);
    this.server = createServer((client) => {
      const upstream = netConnect(Number(port), hostname);
      this.sockets.add(client).add(upstream);
      client.on('data', (chunk) => {
        if (this.releaseAfter) {
          this.seen += chunk.toString('latin1').split(this.releaseAfter.needle).length - 1;
          if (this.seen >= this.releaseAfter.count) this.release();
        }
        upstream.write(chunk);
      });
      upstream.on('data', (chunk) => {
        if (this.releaseAfter) this.held.push({ client, chunk });
        else client.write(chunk);
      });
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
  }

  /** Holds every server->client byte until the client has sent `needle` `count` times. */
  holdUntilClientSends(needle: string, count: number): void {
    this.seen = 0;
    this.releaseAfter = { needle, count };
  }

  get timesSeen(): number {
    return this.seen;
  }

  private release(): void {
    this.releaseAfter = undefined;
    for (const { client, chunk } of this.held) client.write(chunk);
    this.held = [];
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

describe('NatsEventLog publish durability', () => {
  let servers: string;
  let dir: string;
  let admin: NatsEventLog;
  const ns = uniqueTestName('OUTBOX');
  const stream = ns;
  const later = `${ns}_LATER`;

  before(async () => {
    servers = await natsUrlForTests();
    dir = await mkdtemp(join(tmpdir(), 'perpmesh-outbox-int-'));
    admin = await NatsEventLog.connect({ servers });
    await admin.ensureStreams([{ name: stream, subjects: [`${ns}.>`], maxAgeMs: 3_600_000 }]);
  });
  after(async () => {
    await admin.deleteStream(stream).catch(() => {});
    await admin.deleteStream(later).catch(() => {});
    await admin.close();
    await rm(dir, { recursive: true, force: true });
    await stopTestServers();
  });

  async function ids(): Promise<string[]> {
    const out: StoredMessage[] = [];
    for await (const m of admin.read({ stream })) out.push(m);
    return out.map((m) => m.id);
  }

  test('a lost ack is retried with the same id and the event is stored once', async () => {
    const proxy = new AckHoldingProxy();
    await proxy.start(servers);
    const log = await NatsEventLog.connect({
      servers: `nats://127.0.0.1:${proxy.port}`,
      publishRetry: { ackTimeoutMs: 300, baseDelayMs: 20 },
    });
    try {
      const before = (await admin.streamInfo(stream)).lastSeq;
      const id = `${ns}-lost-ack`;
      // The first attempt lands but its ack is held past the timeout; the second attempt
      // (same id) releases the held bytes and gets its own ack.
      proxy.holdUntilClientSends(id, 2);
      const ack = await log.publish({ subject: `${ns}.retry`, id, data: data('once') });
      assert.equal(proxy.timesSeen, 2, 'published twice');
      assert.deepEqual(ack, { stream, seq: before + 1, duplicate: true });
      assert.equal((await ids()).filter((x) => x === id).length, 1);
    } finally {
      await log.close();
      await proxy.stop();
    }
  });

  test('a restart resends what was never acked, and JetStream stores each event once', async () => {
    const outboxDir = join(dir, 'restart');
    const e = (n: number) => ({ subject: `${ns}.outbox`, id: `${ns}-ob-${n}`, data: data(`e${n}`) });
    // First run: three events recorded in the outbox; only the first reached the stream
    // (its ack was lost), then the process died.
    const dying = await FileOutbox.open(outboxDir);
    await dying.add([e(1), e(2), e(3)]);
    await admin.publish(e(1));
    await dying.close();

    const outbox = await FileOutbox.open(outboxDir);
    const log = await NatsEventLog.connect({ servers, outbox });
    try {
      assert.deepEqual(log.startupResend, { resent: 3, duplicates: 1, failed: [] });
      assert.deepEqual(await outbox.pending(), []);
      const stored = (await ids()).filter((x) => x.startsWith(`${ns}-ob-`));
      assert.deepEqual(stored, [e(1).id, e(2).id, e(3).id]);

      // Acked publishes leave the outbox; a further restart resends nothing.
      await log.publish(e(4));
      assert.deepEqual(await outbox.pending(), []);
    } finally {
      await log.close();
      await outbox.close();
    }
    const outbox2 = await FileOutbox.open(outboxDir);
    const log2 = await NatsEventLog.connect({ servers, outbox: outbox2 });
    assert.deepEqual(log2.startupResend, { resent: 0, duplicates: 0, failed: [] });
    await log2.close();
    await outbox2.close();
  });

  test('a publish that fails stays in the outbox and is delivered by a later resend', async () => {
    const outbox = await FileOutbox.open(join(dir, 'failed'));
    const log = await NatsEventLog.connect({ servers, outbox, publishRetry: { baseDelayMs: 10 } });
    try {
      const msg = { subject: `${later}.x`, id: `${ns}-later-1`, data: data('wait for me') };
      await assert.rejects(log.publish(msg), NoStreamForSubjectError);
      assert.deepEqual(
        (await outbox.pending()).map((p) => p.id),
        [msg.id],
      );
      await log.ensureStreams([{ name: later, subjects: [`${later}.>`], maxAgeMs: 3_600_000 }]);
      assert.deepEqual(await log.resendPending(), { resent: 1, duplicates: 0, failed: [] });
      assert.deepEqual(await outbox.pending(), []);
      assert.deepEqual(await log.streamInfo(later), { firstSeq: 1, lastSeq: 1, messages: 1 });
    } finally {
      await log.close();
      await outbox.close();
    }
  });

  test('ensureStreams refuses a duplicate window shorter than the publish retry span', async () => {
    await assert.rejects(
      admin.ensureStreams([
        { name: `${ns}_SHORT`, subjects: [`${ns}_SHORT.>`], maxAgeMs: 60_000, duplicateWindowMs: 1_000 },
      ]),
      /streams\[0\]\.duplicateWindowMs: must cover the publish retry span/,
    );
  });
});
