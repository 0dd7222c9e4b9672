/** Order fixtures shared by the execution unit tests. */
import { dec, type OrderRequest } from '@perpmesh/core';
import type { PlaceOrderRequest, VenueCapabilities, VenueOrder } from '@perpmesh/venues';

/** A limit buy of 0.01 BTC-USDC-PERP at 60000 (GTC) on paper/main; `patch` changes any field. */
export function limitOrderRequest(clientOrderId = 'c1', patch: Partial<OrderRequest> = {}): OrderRequest {
  return {
    clientOrderId,
    venue: 'paper',
    account: 'main',
    instrument: 'BTC-USDC-PERP',
    side: 'buy',
    type: 'limit',
    timeInForce: 'gtc',
    price: dec('60000'),
    size: dec('0.01'),
    reduceOnly: false,
    ...patch,
  };
}

/** Venue capabilities of a venue with a batch-free, duplicate-refusing order API; `patch` changes any. */
export const venueCapabilities = (patch: Partial<VenueCapabilities> = {}): VenueCapabilities => ({
  nonces: false,
  nonceFloorIsTimeMs: false,
  rejectsDuplicateClientOrderId: true,
  cancelAllOrders: true,
  postOnly: true,
  fok: true,
  ...patch,
});

/** The venue port's form of {@link limitOrderRequest}: the same order without venue and account. */
export function venueLimitRequest(clientOrderId: string): PlaceOrderRequest {
  const { venue: _venue, account: _account, ...order } = limitOrderRequest(clientOrderId);
  return order;
}

/** The venue's answer accepting `req`, unfilled, at `tsEventMs`. */
export function acceptedVenueOrder(req: PlaceOrderRequest, tsEventMs = 1_700_000_000_000): VenueOrder {
  return {
    clientOrderId: req.clientOrderId,
    venueOrderId: `v-${req.clientOrderId}`,
    instrument: req.instrument,
    side: req.side,
    type: req.type,
    timeInForce: req.timeInForce,
    size: req.size,
    filled: dec('0'),
    status: 'accepted',
    reduceOnly: false,
    tsEventMs,
  };
}
