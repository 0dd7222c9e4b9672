/**
 * ExecutionService over a real gRPC server on 127.0.0.1 (runtime's startGrpcServer, bearer
 * auth) with the generated client, on the embedded log and store and the paper exchange.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { credentials, type Metadata, type ServiceError, status } from '@grpc/grpc-js';
import {
  type CancelAllOrdersRequest,
  type CancelAllOrdersResponse,
  type CancelOrderRequest,
  type CancelOrderResponse,
  decodeEnvelope,
  type Envelope,
  ExecutionServiceClient,
  type GetOrderRequest,
  type GetOrderResponse,
  type ListOpenOrdersRequest,
  type ListOpenOrdersResponse,
  OrderStatus,
  OrderType,
  type PlaceOrderRequest,
  type PlaceOrderResponse,
  Side,
  type StreamOrderEventsResponse,
  TimeInForce,
} from '@perpmesh/contracts';
import {
  bearerAuthInterceptor,
  createLogger,
  type RunningGrpcServer,
  Secret,
  startGrpcServer,
} from '@perpmesh/runtime';
import { eventually, openTestBackend, type TestBackend } from '@perpmesh/testing';
import { BTC, type Exchange, newExchange, newService, type ServiceUnderTest } from './harness.test-helper.js';
import { cid } from './scenarios.test-helper.js';

const PROTO_ROOT = new URL('../../../proto/', import.meta.url).pathname;
const TOKEN = 'test-token-not-a-secret';

type Client = InstanceType<typeof ExecutionServiceClient>;

function call<Req, Res>(
  fn: (req: Req, cb: (err: ServiceError | null, res?: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res as Res))));
}

function statusOf(err: unknown): { code: number; field: string | undefined; details: string } {
  const e = err as ServiceError & { metadata?: Metadata };
  const field = e.metadata?.get('perpmesh-field')[0];
  return { code: e.code, field: typeof field === 'string' ? field : undefined, details: e.details };
}

describe('ExecutionService over gRPC', () => {
  let backend: TestBackend;
  let ex: Exchange;
  let svc: ServiceUnderTest;
  let server: RunningGrpcServer;
  let client: Client;
  let place: (req: PlaceOrderRequest) => Promise<PlaceOrderResponse>;

  const request = (patch: Partial<PlaceOrderRequest> = {}, price = '50000'): PlaceOrderRequest => ({
    clientOrderId: cid('g'),
    venue: 'paper',
    account: 'main',
    instrument: BTC,
    side: Side.SIDE_BUY,
    type: OrderType.ORDER_TYPE_LIMIT,
    timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
    price,
    size: '0.01',
    reduceOnly: false,
    correlationId: 'decision-1',
    ...patch,
  });

  before(async () => {
    backend = await openTestBackend('embedded', { prefix: 'EXECG' });
    ex = newExchange();
    svc = newService({ ...backend, directory: ex.directory });
    await svc.service.start();
    server = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      services: [svc.service.grpc],
      protoFiles: ['perpmesh/v1/execution.proto'],
      includeDirs: [PROTO_ROOT],
      authToken: new Secret(TOKEN),
      logger: createLogger({ service: 'execution', level: 'silent' }),
      health: svc.health,
    });
    client = new ExecutionServiceClient(server.address, credentials.createInsecure(), {
      interceptors: [bearerAuthInterceptor(new Secret(TOKEN))],
    });
    place = (req) => call(client.placeOrder.bind(client), req);
  });

  after(async () => {
    client.close();
    await server.close(100);
    await svc.service.stop();
    ex.hub.close();
    await backend.close();
  });

  test('a bad or missing token is UNAUTHENTICATED and reaches no venue', async () => {
    const before = ex.spy('paper').created.length;
    const wrong = new ExecutionServiceClient(server.address, credentials.createInsecure(), {
      interceptors: [bearerAuthInterceptor(new Secret('wrong'))],
    });
    const none = new ExecutionServiceClient(server.address, credentials.createInsecure());
    try {
      for (const c of [wrong, none]) {
        await assert.rejects(call(c.placeOrder.bind(c), request()), (err) => {
          assert.equal(statusOf(err).code, status.UNAUTHENTICATED);
          return true;
        });
      }
    } finally {
      wrong.close();
      none.close();
    }
    assert.equal(ex.spy('paper').created.length, before);
  });

  test('bad arguments are INVALID_ARGUMENT naming the field; the venue receives nothing', async () => {
    const spy = ex.spy('paper');
    const before = spy.created.length;
    const cases: [string, Partial<PlaceOrderRequest>][] = [
      ['instrument', { instrument: 'NOPE-USDC-PERP' }],
      ['size', { size: '-0.01' }],
      ['price', { price: '50000.05' }],
      ['client_order_id', { clientOrderId: '' }],
      ['venue', { venue: 'paper-nowhere' }],
      ['account', { account: 'nobody' }],
    ];
    for (const [field, patch] of cases) {
      await assert.rejects(place(request(patch)), (err) => {
        const s = statusOf(err);
        assert.equal(s.code, status.INVALID_ARGUMENT, `${field}: ${s.details}`);
        assert.equal(s.field, field, s.details);
        assert.match(s.details, new RegExp(`^${field}: `));
        return true;
      });
    }
    assert.equal(spy.created.length, before, 'nothing sent to the venue');
  });

  test('place, replay, get, list, stream and cancel', async () => {
    const events: StreamOrderEventsResponse[] = [];
    const stream = client.streamOrderEvents({ venue: 'paper', account: 'main' });
    stream.on('data', (m: StreamOrderEventsResponse) => events.push(m));
    const streamEnded = new Promise<void>((resolve) => {
      stream.on('error', () => resolve());
      stream.on('end', () => resolve());
    });
    await eventually('the stream is subscribed', () => svc.service.engine.openStreams === 1);

    const req = request();
    const first = await place(req);
    assert.equal(first.replayed, false);
    assert.equal(first.order?.status, OrderStatus.ORDER_STATUS_ACCEPTED);
    assert.equal(first.order?.price, '50000');
    assert.equal(first.order?.correlationId, 'decision-1');
    assert.notEqual(first.order?.venueOrderId, '');
    const again = await place(req);
    assert.equal(again.replayed, true);
    assert.equal(again.order?.venueOrderId, first.order?.venueOrderId);

    const got = await call<GetOrderRequest, GetOrderResponse>(client.getOrder.bind(client), {
      venue: 'paper',
      account: 'main',
      instrument: '',
      orderId: { $case: 'venueOrderId' as const, value: first.order!.venueOrderId },
    });
    assert.equal(got.order?.clientOrderId, req.clientOrderId);
    await assert.rejects(
      call<GetOrderRequest, GetOrderResponse>(client.getOrder.bind(client), {
        venue: 'paper',
        account: 'main',
        instrument: '',
        orderId: { $case: 'clientOrderId' as const, value: 'unknown-id' },
      }),
      (err) => statusOf(err).code === status.NOT_FOUND,
    );
    const open = await call<ListOpenOrdersRequest, ListOpenOrdersResponse>(
      client.listOpenOrders.bind(client),
      {
        venue: 'paper',
        account: '',
        instrument: BTC,
      },
    );
    assert.ok(open.orders.some((o) => o.clientOrderId === req.clientOrderId));

    const canceled = await call<CancelOrderRequest, CancelOrderResponse>(client.cancelOrder.bind(client), {
      venue: 'paper',
      account: 'main',
      instrument: BTC,
      orderId: { $case: 'clientOrderId' as const, value: req.clientOrderId },
    });
    assert.equal(canceled.order?.status, OrderStatus.ORDER_STATUS_CANCELED);

    const mine = () =>
      events.filter(
        (e) => e.event?.$case === 'orderEvent' && e.event.value.order?.clientOrderId === req.clientOrderId,
      );
    await eventually('stream delivers the order events', () => mine().length >= 4);
    assert.deepEqual(
      mine().map((e) => (e.event?.$case === 'orderEvent' ? e.event.value.order?.status : undefined)),
      [
        OrderStatus.ORDER_STATUS_SUBMITTED,
        OrderStatus.ORDER_STATUS_ACCEPTED,
        OrderStatus.ORDER_STATUS_CANCEL_REQUESTED,
        OrderStatus.ORDER_STATUS_CANCELED,
      ],
    );
    assert.ok(mine().every((e) => e.eventId.length === 36 && e.tsEventMs > 0));

    // A filled market order: its fill comes on the stream too.
    const market = request({
      type: OrderType.ORDER_TYPE_MARKET,
      timeInForce: TimeInForce.TIME_IN_FORCE_IOC,
      price: '',
    });
    const filled = await place(market);
    assert.equal(filled.order?.status, OrderStatus.ORDER_STATUS_FILLED);
    assert.equal(filled.order?.filledSize, '0.01');
    await eventually('the fill is streamed', () =>
      events.some((e) => e.event?.$case === 'fill' && e.event.value.clientOrderId === market.clientOrderId),
    );

    stream.cancel();
    await streamEnded;
    await eventually('the server side of the stream ends', () => svc.service.engine.openStreams === 0);
  });

  test("a cancel's events carry the canceling decision as correlation id; the placing one stays in the order", async () => {
    const eventsOf = async (clientOrderId: string): Promise<Envelope[]> => {
      const out: Envelope[] = [];
      for await (const m of backend.log.read({ stream: backend.stream('EXEC') })) {
        const e = decodeEnvelope(m.data);
        if (e.payload?.$case === 'orderEvent' && e.payload.value.order?.clientOrderId === clientOrderId) {
          out.push(e);
        }
      }
      return out;
    };
    // [status, envelope correlation_id, order payload correlation_id] of each order event.
    const correlations = async (clientOrderId: string, n: number) => {
      let events: Envelope[] = [];
      await eventually(`${n} order events of ${clientOrderId} in the log`, async () => {
        events = await eventsOf(clientOrderId);
        return events.length >= n;
      });
      return events.map((e) => [
        e.payload?.$case === 'orderEvent' ? e.payload.value.order?.status : undefined,
        e.correlationId,
        e.payload?.$case === 'orderEvent' ? e.payload.value.order?.correlationId : undefined,
      ]);
    };
    const one = request();
    await place(one);
    await call<CancelOrderRequest, CancelOrderResponse>(client.cancelOrder.bind(client), {
      venue: 'paper',
      account: 'main',
      instrument: BTC,
      orderId: { $case: 'clientOrderId' as const, value: one.clientOrderId },
      correlationId: 'decision-cancel',
    });
    assert.deepEqual(await correlations(one.clientOrderId, 4), [
      [OrderStatus.ORDER_STATUS_SUBMITTED, 'decision-1', 'decision-1'],
      [OrderStatus.ORDER_STATUS_ACCEPTED, 'decision-1', 'decision-1'],
      [OrderStatus.ORDER_STATUS_CANCEL_REQUESTED, 'decision-cancel', 'decision-1'],
      [OrderStatus.ORDER_STATUS_CANCELED, 'decision-cancel', 'decision-1'],
    ]);

    const all = request();
    await place(all);
    await call<CancelAllOrdersRequest, CancelAllOrdersResponse>(client.cancelAllOrders.bind(client), {
      venue: 'paper',
      account: 'main',
      instrument: '',
      correlationId: 'decision-cancel-all',
    });
    assert.deepEqual((await correlations(all.clientOrderId, 4)).slice(2), [
      [OrderStatus.ORDER_STATUS_CANCEL_REQUESTED, 'decision-cancel-all', 'decision-1'],
      [OrderStatus.ORDER_STATUS_CANCELED, 'decision-cancel-all', 'decision-1'],
    ]);

    // A cancel that names nothing (an operator's): the placing decision, as before.
    const operator = request();
    await place(operator);
    await call<CancelOrderRequest, CancelOrderResponse>(client.cancelOrder.bind(client), {
      venue: 'paper',
      account: 'main',
      instrument: BTC,
      orderId: { $case: 'clientOrderId' as const, value: operator.clientOrderId },
    });
    assert.deepEqual(
      (await correlations(operator.clientOrderId, 4)).map(([, correlation]) => correlation),
      ['decision-1', 'decision-1', 'decision-1', 'decision-1'],
    );

    await assert.rejects(
      call<CancelOrderRequest, CancelOrderResponse>(client.cancelOrder.bind(client), {
        venue: 'paper',
        account: 'main',
        instrument: BTC,
        orderId: { $case: 'clientOrderId' as const, value: one.clientOrderId },
        correlationId: 'has space',
      }),
      (err) => statusOf(err).code === status.INVALID_ARGUMENT && statusOf(err).field === 'correlation_id',
    );
  });

  test('cancel-all answers every open order of the account', async () => {
    const ids = [request(), request(), request()];
    for (const r of ids) await place(r);
    const res = await call<CancelAllOrdersRequest, CancelAllOrdersResponse>(
      client.cancelAllOrders.bind(client),
      {
        venue: 'paper',
        account: 'main',
        instrument: '',
      },
    );
    for (const r of ids) {
      const o = res.orders.find((x) => x.clientOrderId === r.clientOrderId);
      assert.equal(o?.status, OrderStatus.ORDER_STATUS_CANCELED, r.clientOrderId);
    }
    const open = await call<ListOpenOrdersRequest, ListOpenOrdersResponse>(
      client.listOpenOrders.bind(client),
      {
        venue: 'paper',
        account: 'main',
        instrument: '',
      },
    );
    assert.deepEqual(open.orders, []);
  });
});
