/**
 * @perpmesh/contracts: the wire contracts of perpmesh.
 *
 * - Generated protobuf messages, enums and grpc-js service definitions
 *   (`ExecutionServiceService`, `AccountServiceService`, `MarketDataServiceService`,
 *   `PaperVenueServiceService`, their `...Server` interfaces and `...Client`
 *   constructors), from proto/perpmesh/v1.
 *   Note: the proto enums `Side`, `OrderType`... are numeric wire enums; the domain
 *   types of the same names in @perpmesh/core are string unions. Map them with the
 *   `*ToProto` / `*FromProto` functions (mapping.ts) at the boundary.
 * - Every NATS subject and stream (subjects.ts), the event envelope (envelope.ts).
 */
export * from './envelope.js';
export * from './gen/perpmesh/v1/account.js';
export * from './gen/perpmesh/v1/common.js';
export * from './gen/perpmesh/v1/envelope.js';
export * from './gen/perpmesh/v1/execution.js';
export * from './gen/perpmesh/v1/market_data.js';
export * from './gen/perpmesh/v1/paper_venue.js';
export * from './gen/perpmesh/v1/strategy.js';
export * from './mapping.js';
export * from './publish.js';
export * from './subjects.js';
