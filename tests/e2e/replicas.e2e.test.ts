/**
 * Two execution replicas on one account of the strict-nonce venue (`paper-lighter`: every
 * nonce must be above the last one of the API key, a reused or lower one is refused).
 * Both place orders at the same time; a recording proxy in front of the paper-venue service
 * sees the nonce of every CreateOrder that was really sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { OrderStatus, type PlaceOrderResponse } from '@perpmesh/contracts';
import { freePort } from '@perpmesh/testing';
import type { PaperVenueClient } from '@perpmesh/venues';
import {
  BTC,
  E2eStack,
  type EventRecorder,
  type ExecutionClient,
  kindNames,
  newClientOrderId,
  orderEventsOf,
  orderRequest,
  placeOrder,
} from './harness.js';
import { RecordingVenueProxy } from './venue-proxy.js';

const ORDERS_PER_REPLICA = 12;

/** `perpmesh_nonce_resyncs_total` summed over its labels, from a replica's /metrics. */
async function nonceResyncs(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('perpmesh_nonce_resyncs_total'))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

describe('two execution replicas on one strict-nonce account', () => {
  let stack: E2eStack;
  let proxy: RecordingVenueProxy;
  let execEvents: EventRecorder;
  let lighter: PaperVenueClient;
  let clients: ExecutionClient[];

  before(async () => {
    const proxyPort = await freePort();
    stack = await E2eStack.create({ executionReplicas: 2, paperAddress: `127.0.0.1:${proxyPort}` });
    stack.paperVenue.start();
    await stack.paperVenue.waitReady();
    proxy = await RecordingVenueProxy.start(stack.paperAddress, proxyPort);
    stack.onClose(() => proxy.close());
    for (const replica of stack.executions) replica.start();
    await Promise.all(stack.executions.map((replica) => replica.waitReady()));
    execEvents = await stack.events(stack.filter('exec.>'));
    lighter = await stack.venue('paper-lighter');
    clients = [stack.executionClient(0), stack.executionClient(1)];
  });

  after(async () => {
    await stack?.close();
  });

  test('orders placed concurrently through both replicas never share a nonce and are all accepted', async (t) => {
    const nextNonceBefore = await lighter.fetchNextNonce!();
    const requests = clients.flatMap((client, replica) =>
      Array.from({ length: ORDERS_PER_REPLICA }, (_, i) => ({
        client,
        req: orderRequest({
          venue: 'paper-lighter',
          clientOrderId: newClientOrderId(`r${replica}`),
          price: String(40000 + replica * 100 + i),
        }),
      })),
    );
    const answers = await Promise.all(requests.map(({ client, req }) => placeOrder(client, req)));
    for (const [i, a] of answers.entries()) {
      assert.equal(a.replayed, false);
      assert.equal(
        a.order?.status,
        OrderStatus.ORDER_STATUS_ACCEPTED,
        `${requests[i]?.req.clientOrderId}: ${a.order?.reason}`,
      );
    }

    // What was really sent: every CreateOrder carried a nonce, and no nonce twice.
    const sent = proxy.sent.filter((s) => s.venue === 'paper-lighter');
    assert.ok(sent.length >= requests.length, `${sent.length} sends for ${requests.length} orders`);
    assert.ok(
      sent.every((s) => /^\d+$/.test(s.nonce) && s.apiKeyId === '4'),
      JSON.stringify(sent.slice(0, 3)),
    );
    const nonces = sent.map((s) => BigInt(s.nonce));
    const duplicates = nonces.filter((n, i) => nonces.indexOf(n) !== i);
    assert.deepEqual(duplicates, [], 'a nonce was sent twice');
    assert.ok(
      nonces.every((n) => n >= nextNonceBefore),
      'no nonce below the venue next nonce at the start',
    );
    // Sends beyond one per order are stale-nonce retries (a replica overtaken by the other),
    // each with a fresh nonce; the replicas count them.
    const resyncs = (await Promise.all(stack.executions.map((r) => nonceResyncs(r.httpUrl)))).reduce(
      (a, b) => a + b,
      0,
    );
    t.diagnostic(
      `${sent.length} CreateOrder sends for ${requests.length} orders, ${resyncs} stale-nonce retries`,
    );
    assert.equal(sent.length, requests.length + resyncs, `sends = orders + stale-nonce retries (${resyncs})`);

    // The venue holds each order once; the log has one SUBMITTED and one ACCEPTED per order.
    const open = (await lighter.fetchOpenOrders(BTC)).map((o) => o.clientOrderId);
    assert.deepEqual(
      [...open].sort(),
      requests.map((r) => r.req.clientOrderId).sort(),
      'the venue holds exactly these orders',
    );
    await execEvents.caughtUp(stack.stream('EXEC'));
    for (const { req } of requests) {
      assert.deepEqual(kindNames(orderEventsOf(execEvents, req.clientOrderId)), ['SUBMITTED', 'ACCEPTED']);
    }
    let maxNonce = 0n;
    for (const n of nonces) if (n > maxNonce) maxNonce = n;
    assert.ok((await lighter.fetchNextNonce!()) > maxNonce);
  });

  test('the same client_order_id through both replicas at once places one order', async () => {
    const req = orderRequest({
      venue: 'paper-lighter',
      clientOrderId: newClientOrderId('both'),
      price: '39000',
    });
    const answers: PlaceOrderResponse[] = await Promise.all(
      Array.from({ length: 8 }, (_, i) => placeOrder(clients[i % 2] as ExecutionClient, req)),
    );
    const ids = new Set(answers.map((a) => a.order?.venueOrderId ?? ''));
    assert.equal(ids.size, 1, [...ids].join(','));
    assert.ok(!ids.has(''));
    assert.equal(answers.filter((a) => !a.replayed).length, 1);
    assert.equal(proxy.sent.filter((s) => s.clientOrderId === req.clientOrderId).length, 1, 'sent once');
    const open = (await lighter.fetchOpenOrders(BTC)).filter((o) => o.clientOrderId === req.clientOrderId);
    assert.equal(open.length, 1);
    await execEvents.caughtUp(stack.stream('EXEC'));
    assert.deepEqual(kindNames(orderEventsOf(execEvents, req.clientOrderId)), ['SUBMITTED', 'ACCEPTED']);

    for (const replica of stack.executions) await replica.stop();
    await stack.paperVenue.stop();
  });
});
