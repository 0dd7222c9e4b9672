/**
 * `perpmesh.v1.ExecutionService` over the engine: wire requests are parsed here (errors name
 * the proto field), answers mapped with wire.ts. Status codes come from runtime's one error
 * edge (`grpcHandlers` → `toGrpcStatus`).
 */
import type {
  CancelAllOrdersRequest,
  CancelOrderRequest,
  ExecutionServiceGetVenueReadinessRequest,
  ExecutionServiceServer,
  GetOrderRequest,
  ListOpenOrdersRequest,
  StreamOrderEventsRequest,
  StreamOrderEventsResponse,
} from '@perpmesh/contracts';
import { parseInstrumentId } from '@perpmesh/core';
import { grpcHandlers, type Logger } from '@perpmesh/runtime';
import type { ExecutionEngine, OrderLocator } from './engine.js';
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

export function executionGrpcImplementation(engine: ExecutionEngine, logger: Logger): ExecutionServiceServer {
  const h = grpcHandlers({ logger });
  return {
    placeOrder: h.unary(async (req) => {
      const result = await engine.placeOrder(placeOrderCommandFromProto(req));
      return { order: orderToProto(result.order), replayed: result.replayed };
    }),
    cancelOrder: h.unary(async (req: CancelOrderRequest) => ({
      order: orderToProto(await engine.cancelOrder(locatorOf(req), correlationIdField(req.correlationId))),
    })),
    cancelAllOrders: h.unary(async (req: CancelAllOrdersRequest) => {
      const orders = await engine.cancelAllOrders({
        venue: req.venue,
        account: req.account,
        ...(req.instrument ? { instrument: parseInstrumentId(req.instrument, 'instrument') } : {}),
        correlationId: correlationIdField(req.correlationId),
      });
      return { orders: orders.map(orderToProto) };
    }),
    getOrder: h.unary(async (req: GetOrderRequest) => ({
      order: orderToProto(engine.getOrder(locatorOf(req))),
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
