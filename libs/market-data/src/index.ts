/**
 * @perpmesh/market-data: order books, trades, funding and venue readiness from venue
 * ports onto the event log (md.*), sharded across replicas, and the MarketDataService
 * gRPC API over them.
 */

export * from './book-sync.js';
export * from './components.js';
export * from './config.js';
export * from './conflation.js';
export * from './errors.js';
export * from './feed.js';
export * from './funding.js';
export * from './grpc.js';
export * from './handover.js';
export * from './leases.js';
export * from './publisher.js';
export * from './routing.js';
export * from './service.js';
export * from './shard.js';
export * from './venue-readiness.js';
