/** Order fixtures shared by the execution unit tests. */
import { dec, type OrderRequest } from '@perpmesh/core';

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
