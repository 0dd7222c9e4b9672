/**
 * The generated grpc-js definitions work end to end under ESM: a server on 127.0.0.1
 * serves ExecutionService (unary + server stream), a generated client calls it, and
 * the full method paths are the ones the proto package fixes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { credentials, Server, ServerCredentials, type ServiceError } from '@grpc/grpc-js';
import {
  AccountServiceService,
  ExecutionServiceClient,
  type ExecutionServiceServer,
  ExecutionServiceService,
  MarketDataServiceService,
  Order,
  OrderEventKind,
  OrderStatus,
  type PlaceOrderResponse,
  Side,
  type StreamOrderEventsResponse,
} from './index.js';

const unimplemented = (_call: unknown, callback: (err: Error) => void) =>
  callback(new Error('unimplemented'));

describe('grpc-js service definitions', () => {
  const server = new Server();
  let client: InstanceType<typeof ExecutionServiceClient>;

  before(async () => {
    const impl: ExecutionServiceServer = {
      placeOrder: (call, callback) => {
        const r = call.request;
        callback(null, {
          order: Order.fromPartial({
            clientOrderId: r.clientOrderId,
            venue: r.venue,
            account: r.account,
            instrument: r.instrument,
            side: r.side,
            price: r.price,
            size: r.size,
            filledSize: '0',
            status: OrderStatus.ORDER_STATUS_SUBMITTED,
          }),
          replayed: false,
        });
      },
      cancelOrder: unimplemented,
      cancelAllOrders: unimplemented,
      getOrder: unimplemented,
      listOpenOrders: unimplemented,
      getVenueReadiness: unimplemented,
      streamOrderEvents: (call) => {
        for (let i = 0; i < 3; i++) {
          call.write({
            eventId: `e${i}`,
            tsEventMs: 1_000 + i,
            event: {
              $case: 'orderEvent',
              value: {
                kind: OrderEventKind.ORDER_EVENT_KIND_ACCEPTED,
                order: Order.fromPartial({ clientOrderId: `c${i}`, venue: call.request.venue }),
                reason: '',
              },
            },
          });
        }
        call.end();
      },
    };
    server.addService(ExecutionServiceService, impl);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    client = new ExecutionServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  });

  after(() => {
    client?.close();
    server.forceShutdown();
  });

  test('method paths are /perpmesh.v1.<Service>/<Method>', () => {
    assert.equal(ExecutionServiceService.placeOrder.path, '/perpmesh.v1.ExecutionService/PlaceOrder');
    assert.equal(ExecutionServiceService.streamOrderEvents.responseStream, true);
    assert.equal(
      AccountServiceService.getAccountSummary.path,
      '/perpmesh.v1.AccountService/GetAccountSummary',
    );
    assert.equal(
      MarketDataServiceService.getVenueStatus.path,
      '/perpmesh.v1.MarketDataService/GetVenueStatus',
    );
  });

  test('a unary call carries decimals as text and enums as numbers', async () => {
    const response = await new Promise<PlaceOrderResponse>((resolve, reject) =>
      client.placeOrder(
        {
          clientOrderId: 'c-1',
          venue: 'paper',
          account: 'main',
          instrument: 'BTC-USDC-PERP',
          side: Side.SIDE_BUY,
          type: 0,
          timeInForce: 0,
          price: '64000.123456789012345678',
          size: '0.000001',
          reduceOnly: false,
          correlationId: '',
        },
        (err: ServiceError | null, res: PlaceOrderResponse) => (err ? reject(err) : resolve(res)),
      ),
    );
    assert.equal(response.order?.price, '64000.123456789012345678');
    assert.equal(response.order?.size, '0.000001');
    assert.equal(response.order?.side, Side.SIDE_BUY);
    assert.equal(response.order?.status, OrderStatus.ORDER_STATUS_SUBMITTED);
  });

  test('a server stream delivers every message in order', async () => {
    const received: StreamOrderEventsResponse[] = [];
    const stream = client.streamOrderEvents({ venue: 'paper', account: '' });
    for await (const message of stream) received.push(message as StreamOrderEventsResponse);
    assert.deepEqual(
      received.map((m) => m.eventId),
      ['e0', 'e1', 'e2'],
    );
    const first = received[0]?.event;
    assert.equal(first?.$case, 'orderEvent');
    assert.equal(first?.$case === 'orderEvent' ? first.value.order?.venue : undefined, 'paper');
  });
});
