/**
 * Three execution replicas on one account of the strict-nonce venue (`paper-lighter`: every
 * nonce must be above the last one of the API key, a reused or lower one is refused),
 * behind one round-robin gRPC client (grpc-js `round_robin` over the three addresses, as a
 * Kubernetes headless Service or a client-side balancer spreads calls). Orders go out at the
 * same time; a recording proxy in front of the paper-venue service sees the nonce of every
 * CreateOrder that was really sent, in arrival order. The key has one owner replica
 * (libs/execution nonce-ownership.ts): the others forward its orders there, so the venue
 * sees each order once, its nonces strictly increasing, no stale-nonce refusal.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { OrderStatus, type PlaceOrderRequest, type PlaceOrderResponse } from '@perpmesh/contracts';
import { eventually, freePort } from '@perpmesh/testing';
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

const REPLICAS = 3;
const ORDERS = 36;

/** A counter of a replica's /metrics summed over its labels (optionally only lines containing `label`). */
async function counterSum(httpUrl: string, name: string, label = ''): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name) && l.includes(label))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

describe('three execution replicas behind a round-robin client, one strict-nonce account', () => {
  let stack: E2eStack;
  let proxy: RecordingVenueProxy;
  let execEvents: EventRecorder;
  let lighter: PaperVenueClient;
  let balanced: ExecutionClient;

  before(async () => {
    const proxyPort = await freePort();
    stack = await E2eStack.create({ executionReplicas: REPLICAS, paperAddress: `127.0.0.1:${proxyPort}` });
    stack.paperVenue.start();
    await stack.paperVenue.waitReady();
    proxy = await RecordingVenueProxy.start(stack.paperAddress, proxyPort);
    stack.onClose(() => proxy.close());
    for (const replica of stack.executions) replica.start();
    await Promise.all(stack.executions.map((replica) => replica.waitReady()));
    execEvents = await stack.events(stack.filter('exec.>'));
    lighter = await stack.venue('paper-lighter');
    balanced = stack.roundRobinExecutionClient();
  });

  after(async () => {
    await stack?.close();
  });

  test('orders placed concurrently through the round-robin client reach every replica, never share a nonce, and are all accepted', async (t) => {
    const nextNonceBefore = await lighter.fetchNextNonce!();
    const order = (prefix: string, i: number) =>
      orderRequest({
        venue: 'paper-lighter',
        clientOrderId: newClientOrderId(prefix),
        price: String(40000 + i),
      });
    const placedBy = () =>
      Promise.all(
        stack.executions.map((r) => counterSum(r.httpUrl, 'perpmesh_orders_placed_total', 'paper-lighter')),
      );
    // A replica that does not own the key forwards the order to the one that does.
    const forwardedBy = () =>
      Promise.all(
        stack.executions.map((r) => counterSum(r.httpUrl, 'perpmesh_exec_forwarded_total', 'paper-lighter')),
      );
    const takenBy = async () => {
      const [placed, forwarded] = await Promise.all([placedBy(), forwardedBy()]);
      return placed.map((n, i) => n + (forwarded[i] ?? 0));
    };
    // round_robin spreads calls over the connections that are up: one order at a time until
    // the balancer has reached every replica, then the burst.
    const warmUp: PlaceOrderRequest[] = [];
    await eventually(
      'the round-robin client reaches every replica',
      async () => {
        const req = order('warm', warmUp.length);
        // Counted once placed: while the key's ownership settles between the replicas a call
        // is UNAVAILABLE ("ownership is moving") and nothing is sent.
        await placeOrder(balanced, req);
        warmUp.push(req);
        return (await takenBy()).every((n) => n > 0);
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    const before = await placedBy();
    const forwardedBefore = await forwardedBy();
    const burst = Array.from({ length: ORDERS }, (_, i) => ({ req: order(`rr${i}`, 100 + i) }));
    const answers = await Promise.all(burst.map(({ req }) => placeOrder(balanced, req)));
    const inBurst = (await placedBy()).map((n, i) => n - (before[i] ?? 0));
    const forwardedInBurst = (await forwardedBy()).map((n, i) => n - (forwardedBefore[i] ?? 0));
    t.diagnostic(
      `after ${warmUp.length} warm-up order(s), the burst's orders placed per replica: ${inBurst.join(', ')}; forwarded: ${forwardedInBurst.join(', ')}`,
    );
    assert.equal(
      inBurst.reduce((a, b) => a + b, 0),
      ORDERS,
    );
    assert.equal(
      inBurst.filter((n) => n > 0).length,
      1,
      `one replica (the key's owner) placed: ${inBurst.join(', ')}`,
    );
    assert.ok(
      inBurst.every((n, i) => n > 0 || (forwardedInBurst[i] ?? 0) > 0),
      `every replica took orders of the burst (placed or forwarded): ${inBurst.join(', ')} / ${forwardedInBurst.join(', ')}`,
    );
    const requests = [...warmUp.map((req) => ({ req })), ...burst];
    for (const [i, a] of answers.entries()) {
      assert.equal(a.replayed, false);
      assert.equal(
        a.order?.status,
        OrderStatus.ORDER_STATUS_ACCEPTED,
        `${burst[i]?.req.clientOrderId}: ${a.order?.reason}`,
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
    // One sender for the key: no replica overtakes another, so no stale-nonce refusal.
    const resyncs = (
      await Promise.all(stack.executions.map((r) => counterSum(r.httpUrl, 'perpmesh_nonce_resyncs_total')))
    ).reduce((a, b) => a + b, 0);
    t.diagnostic(
      `${sent.length} CreateOrder sends for ${requests.length} orders, ${resyncs} stale-nonce retries`,
    );
    assert.equal(resyncs, 0, 'no stale-nonce refusal');
    assert.equal(sent.length, requests.length, 'each order sent once');
    assert.ok(
      nonces.every((n, i) => i === 0 || n > (nonces[i - 1] as bigint)),
      'the nonces reached the venue strictly increasing',
    );

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

  test('the same client_order_id through every replica at once places one order', async () => {
    const req = orderRequest({
      venue: 'paper-lighter',
      clientOrderId: newClientOrderId('both'),
      price: '39000',
    });
    const answers: PlaceOrderResponse[] = await Promise.all(
      Array.from({ length: 9 }, () => placeOrder(balanced, req)),
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
