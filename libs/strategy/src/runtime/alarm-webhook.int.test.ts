/**
 * The alarm webhook against a real HTTP receiver on 127.0.0.1: the funding-arb decider
 * forced one-legged and near liquidation over many ticks, every decision offered (twice,
 * as a re-publication would) to the sender: the receiver gets one message per incident and
 * state, the first POST answered 500 is retried, and the URL's token never reaches the log.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, test } from 'node:test';
import { createLogger, Secret } from '@perpmesh/runtime';
import { eventually } from '@perpmesh/testing';
import { spec } from '../decider-spec.js';
import { fullyFilled, orderUpdate, T0, tick } from '../fixtures.test-helper.js';
import { toStrategyDecisionRecord } from '../model.js';
import { A, arbConfig, B, market2 } from '../strategies/funding-arb/arb-fixtures.test-helper.js';
import { fundingArbDecider } from '../strategies/funding-arb/index.js';
import { type AlarmMessage, AlarmWebhook } from './alarm-webhook.js';

const WEBHOOK_TOKEN = 'hooks-secret-4b1d';

interface Receiver {
  readonly server: Server;
  readonly url: string;
  /** Every POST body received, with the status it was answered. */
  readonly received: Array<{ status: number; message: AlarmMessage; authorization: string | undefined }>;
}

/** Answers 500 to the first `failFirst` requests, then 200. */
async function startReceiver(failFirst: number): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = received.length < failFirst ? 500 : 200;
      received.push({
        status,
        message: JSON.parse(Buffer.concat(chunks).toString('utf8')) as AlarmMessage,
        authorization: req.headers.authorization,
      });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/hooks/${WEBHOOK_TOKEN}`, received };
}

/** The decisions of an arb whose long leg stays unfilled for 100 s (one-legged) at 5x (near liquidation). */
function alarmDecisions() {
  const decider = fundingArbDecider(
    arbConfig({
      legImbalanceBudgetNotionalSeconds: '100000000',
      orderTimeoutMs: 600_000,
      alarms: { minLiquidationDistanceBps: '2500', staleDataAfterMs: 3_600_000 },
    }),
  );
  const given = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
  const orders = Object.values(given.state.world.orders);
  const short = orders.find((o) => o.venue === A)!;
  const long = orders.find((o) => o.venue === B)!;
  const t = T0 + 31_000;
  const then = given.when([
    ...fullyFilled(short, t, '49999.5', '5'),
    orderUpdate(long, t, 'accepted'),
    ...Array.from({ length: 10 }, (_, i) => tick(t + (i + 1) * 10_000)),
    ...fullyFilled(long, t + 110_000, '50000.5', '5'),
    ...Array.from({ length: 10 }, (_, i) => tick(t + 111_000 + i * 1_000)),
  ]);
  return then.result.decisions.map((d) => toStrategyDecisionRecord(d, { dryRun: false }));
}

describe('alarm webhook (a receiver on 127.0.0.1)', () => {
  let receiver: Receiver | undefined;
  let webhook: AlarmWebhook | undefined;
  afterEach(async () => {
    await webhook?.close();
    await new Promise((resolve) => receiver?.server.close(resolve));
    receiver = undefined;
    webhook = undefined;
  });

  test('one message per incident (one-legged, liquidation distance), not one per tick; a 500 is retried', async () => {
    receiver = await startReceiver(1);
    const logged: string[] = [];
    const logger = createLogger({
      service: 'alarm-webhook-test',
      level: 'debug',
      destination: new Writable({
        write(chunk, _enc, done) {
          logged.push(String(chunk));
          done();
        },
      }),
    });
    webhook = new AlarmWebhook({
      url: new Secret(receiver.url, 'test'),
      token: new Secret('bearer-secret-77', 'test'),
      timeoutMs: 2_000,
      maxQueue: 50,
      maxAttempts: 5,
      retryInitialMs: 20,
      retryMaxMs: 200,
      logger,
    });
    const records = alarmDecisions();
    // Every decision, twice: a re-published decision is not a new incident.
    for (const r of [...records, ...records]) webhook.offer(r);

    const alarmRecords = records.filter(
      (r) => r.reasonCode.startsWith('alarm_') || r.reasonCode.startsWith('circuit_breaker'),
    );
    await eventually(
      'every alarm delivered',
      () => (webhook!.stats().delivered === alarmRecords.length ? true : undefined),
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    const delivered = receiver.received.filter((r) => r.status === 200).map((r) => r.message);
    const incidents = delivered.map((m) => `${m.alarm} ${m.state} ${m.inputs.venue ?? ''}`.trim()).sort();
    // The short leg alone: one-legged and near liquidation; once hedged, one-legged clears
    // and the long leg is near liquidation too. Twenty ticks, four messages.
    assert.deepEqual(incidents, [
      'liquidation_distance raised paper-a',
      'liquidation_distance raised paper-b',
      'one_legged cleared',
      'one_legged raised',
    ]);
    assert.equal(new Set(delivered.map((m) => m.key + m.state)).size, delivered.length, 'no repeats');
    // The first POST was answered 500 and sent again.
    assert.equal(receiver.received[0]!.status, 500);
    assert.equal(receiver.received.length, delivered.length + 1);
    assert.equal(receiver.received[1]!.message.decisionId, receiver.received[0]!.message.decisionId);
    assert.equal(webhook.stats().retries, 1);
    assert.equal(webhook.stats().duplicates, alarmRecords.length);
    assert.equal(receiver.received[0]!.authorization, 'Bearer bearer-secret-77');
    assert.ok(delivered.every((m) => m.text.includes(m.alarm) && m.strategyId === 'arb-1'));
    // The webhook URL carries its token: it is in no log line, nor is the bearer token.
    const log = logged.join('');
    assert.ok(log.includes('alarm webhook: retrying'), 'the retry is logged');
    assert.ok(!log.includes(WEBHOOK_TOKEN), 'the URL is never logged');
    assert.ok(!log.includes('bearer-secret-77'), 'the token is never logged');
  });

  test('close gives queued alarms a grace period, then stops', async () => {
    receiver = await startReceiver(0);
    webhook = new AlarmWebhook({
      url: new Secret(receiver.url, 'test'),
      timeoutMs: 1_000,
      maxQueue: 10,
      maxAttempts: 1,
      retryInitialMs: 10,
      retryMaxMs: 10,
      logger: createLogger({ service: 'alarm-webhook-test', level: 'silent' }),
    });
    const records = alarmDecisions().filter((r) => r.reasonCode.startsWith('alarm_'));
    for (const r of records) webhook.offer(r);
    await webhook.close(5_000);
    assert.equal(webhook.stats().delivered, records.length);
    webhook.offer(records[0]!);
    assert.equal(webhook.stats().queued, 0, 'a closed webhook takes nothing');
  });

  test('bounded queue and no blocking: a dead receiver loses the oldest beyond maxQueue, offer returns at once', async () => {
    receiver = await startReceiver(1_000_000);
    webhook = new AlarmWebhook({
      url: new Secret(receiver.url, 'test'),
      timeoutMs: 1_000,
      maxQueue: 2,
      maxAttempts: 2,
      retryInitialMs: 10,
      retryMaxMs: 10,
      logger: createLogger({ service: 'alarm-webhook-test', level: 'silent' }),
    });
    const records = alarmDecisions().filter((r) => r.reasonCode.startsWith('alarm_'));
    assert.ok(records.length >= 4);
    // offer only queues: it answers synchronously (nothing to await) while the receiver never answers.
    for (const r of records) assert.equal(webhook.offer(r), undefined, 'offer returns nothing to wait for');
    // The first is in flight; two wait; the rest pushed the oldest waiting ones out.
    assert.equal(webhook.stats().dropped, records.length - 3);
    await eventually(
      'the kept alarms are given up after maxAttempts',
      () => (webhook!.stats().failed === 3 ? true : undefined),
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    assert.equal(webhook.stats().delivered, 0);
    assert.equal(receiver.received.length, 6, 'three messages, two attempts each');
  });
});
