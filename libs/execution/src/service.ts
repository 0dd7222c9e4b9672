/**
 * `buildExecutionService(deps)`: the execution service as ports in, start/stop and a gRPC
 * registration out. No sockets, env or adapters here: the embedded runner passes the
 * embedded log/store and paper ports, the distributed main passes NATS, Redis and
 * PaperVenueClient ports (services/execution/src/main.ts).
 */
import { type ExecutionServiceServer, ExecutionServiceService } from '@perpmesh/contracts';
import { ExecutionEngine, type ExecutionEngineDeps } from './engine.js';
import { executionGrpcImplementation } from './grpc.js';

export type ExecutionServiceDeps = ExecutionEngineDeps;

export interface ExecutionService {
  /** Rebuild, follow the log, subscribe user streams, reconcile (see ExecutionEngine.start). */
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly grpc: {
    readonly definition: typeof ExecutionServiceService;
    readonly implementation: ExecutionServiceServer;
  };
  /** The engine, for in-process callers and queries (placeOrder, getOrder, listOpenOrders...). */
  readonly engine: ExecutionEngine;
}

export function buildExecutionService(deps: ExecutionServiceDeps): ExecutionService {
  const engine = new ExecutionEngine(deps);
  return {
    start: () => engine.start(),
    stop: () => engine.stop(),
    grpc: {
      definition: ExecutionServiceService,
      implementation: executionGrpcImplementation(engine, deps.logger),
    },
    engine,
  };
}
