/**
 * `perpmesh.v1.ExecutionService` over the engine: wire requests are parsed here (errors name
 * the proto field), answers mapped with wire.ts. Status codes come from runtime's one error
 * edge (`grpcHandlers` → `toGrpcStatus`).
 */
import type {
  CancelAllOrdersRequest,
  CancelAllOrdersResponse,
  CancelOrderRequest,
  CancelOrderResponse,
  ExecutionServiceGetVenueReadinessRequest,
  ExecutionServiceServer,
  GetOrderRequest,
  ListOpenOrdersRequest,
  PlaceOrderRequest,
  PlaceOrderResponse,
  StreamOrderEventsRequest,
  StreamOrderEventsResponse,
} from '@perpmesh/contracts';
import { parseInstrumentId } from '@perpmesh/core';
import { grpcHandlers, type Logger, type PeerUnary } from '@perpmesh/runtime';
import type { ExecutionEngine, OrderLocator } from './engine.js';
import type { SignedCallRouter } from './forwarding.js';
import { correlationIdField, placeOrderCommandFromProto } from './validation.js';
import { orderToProto } from './wire.js';

function locatorOf(req: CancelOrderRequest | GetOrderRequest): OrderLocator {
  return {
    venue: req.venue,
    account: req.account,
    instrument: req.instrument ? parseInstrumentId(req.instrument, 'instrument') : undefined,
    clientOrderId: req.orderId?.$case === 'clientOrderId' ? req.orderId.value : undefined,
    venueOrderId: req.orderId?.$case === 'venueOrderId' ? req.orderId.value : undefined,
  };
}

/**
 * `router`: with strict-nonce keys divided among replicas, the signed calls (place, cancel,
 * cancel-all) of a key another replica owns go there (forwarding.ts); absent: all here.
 */
export function executionGrpcImplementation(
  engine: ExecutionEngine,
  logger: Logger,
  router?: SignedCallRouter,
): ExecutionServiceServer {
  const h = grpcHandlers({ logger });
  const signed: SignedCallRouter['call'] = (target, ctx, local, method, request) =>
    router === undefined ? local() : router.call(target, ctx, local, method, request);
  return {
    placeOrder: h.unary((req: PlaceOrderRequest, ctx) =>
      signed(
        req,
        ctx,
        async () => {
          const result = await engine.placeOrder(placeOrderCommandFromProto(req));
          return { order: orderToProto(result.order), replayed: result.replayed };
        },
        (c) => c.placeOrder.bind(c) as PeerUnary<PlaceOrderRequest, PlaceOrderResponse>,
        req,
      ),
    ),
    cancelOrder: h.unary((req: CancelOrderRequest, ctx) =>
      signed(
        req,
        ctx,
        async () => ({
          order: await engine.cancelOrderAnswer(locatorOf(req), correlationIdField(req.correlationId)),
        }),
        (c) => c.cancelOrder.bind(c) as PeerUnary<CancelOrderRequest, CancelOrderResponse>,
        req,
      ),
    ),
    cancelAllOrders: h.unary((req: CancelAllOrdersRequest, ctx) =>
      signed(
        req,
        ctx,
        async () => {
          const orders = await engine.cancelAllOrders({
            venue: req.venue,
            account: req.account,
            ...(req.instrument ? { instrument: parseInstrumentId(req.instrument, 'instrument') } : {}),
            correlationId: correlationIdField(req.correlationId),
          });
          return { orders: orders.map(orderToProto) };
        },
        (c) => c.cancelAllOrders.bind(c) as PeerUnary<CancelAllOrdersRequest, CancelAllOrdersResponse>,
        req,
      ),
    ),
    getOrder: h.unary(async (req: GetOrderRequest) => ({
      order: await engine.lookUpOrder(locatorOf(req)),
    })),
    listOpenOrders: h.unary(async (req: ListOpenOrdersRequest) => ({
      orders: engine
        .listOpenOrders({
          venue: req.venue || undefined,
          account: req.account || undefined,
          instrument: req.instrument || undefined,
        })
        .map(orderToProto),
    })),
    getVenueReadiness: h.unary(async (req: ExecutionServiceGetVenueReadinessRequest) => ({
      components: engine.portReadiness({ venue: req.venue, account: req.account }),
    })),
    streamOrderEvents: h.serverStream<StreamOrderEventsRequest, StreamOrderEventsResponse>(
      async function* (req, ctx) {
        for await (const item of engine.streamOrderEvents(
          { venue: req.venue || undefined, account: req.account || undefined },
          ctx.signal,
        )) {
          yield { eventId: item.eventId, tsEventMs: item.tsEventMs, event: item.event };
        }
      },
    ),
  };
}
