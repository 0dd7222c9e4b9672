/**
 * `buildExecutionService(deps)`: the execution service as ports in, start/stop and a gRPC
 * registration out. No sockets, env or adapters here: the embedded runner passes the
 * embedded log/store and paper ports, the distributed main passes NATS, Redis and
 * PaperVenueClient ports (services/execution/src/main.ts).
 */
import { type ExecutionServiceServer, ExecutionServiceService } from '@perpmesh/contracts';
import { errorText } from '@perpmesh/core';
import { ReplicaAddresses, type StateStore } from '@perpmesh/state';
import { ExecutionEngine, type ExecutionEngineDeps } from './engine.js';
import { EXEC_ADDRESS_SCOPE, type ExecutionForwarding, ExecutionRouter } from './forwarding.js';
import { executionGrpcImplementation } from './grpc.js';
import { NonceKeyOwnership } from './nonce-ownership.js';

/**
 * Several replicas on one store: the strict-nonce API keys are divided among them
 * (nonce-ownership.ts) and signed calls of a key reach its owner (forwarding.ts).
 */
export interface ExecutionNonceLease {
  readonly store: StateStore;
  /** Unique per process (no '|'): `processLeaseHolder(...)`. */
  readonly holder: string;
  readonly ttlMs: number;
  readonly renewIntervalMs: number;
  readonly maxReplicas: number;
  /** How the others reach this replica; without it calls for keys owned elsewhere are UNAVAILABLE naming the owner. */
  readonly forward?: ExecutionForwarding;
}

export interface ExecutionServiceDeps extends Omit<ExecutionEngineDeps, 'nonceKeys'> {
  /** Absent: one process, every key signed with here. */
  readonly nonceLease?: ExecutionNonceLease;
}

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
  /** The strict-nonce keys' leases (several replicas); undefined in one process. */
  readonly nonceKeys?: NonceKeyOwnership;
}

export function buildExecutionService(deps: ExecutionServiceDeps): ExecutionService {
  const { nonceLease, ...engineDeps } = deps;
  if (nonceLease === undefined) {
    const engine = new ExecutionEngine(engineDeps);
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
  const ownership = new NonceKeyOwnership({
    store: nonceLease.store,
    holder: nonceLease.holder,
    ports: tradedPorts(deps),
    ttlMs: nonceLease.ttlMs,
    renewIntervalMs: nonceLease.renewIntervalMs,
    maxReplicas: nonceLease.maxReplicas,
    nowMs: deps.nowMs,
    logger: deps.logger.child({ component: 'execution-nonce-keys' }),
    health: deps.health,
  });
  const engine = new ExecutionEngine({ ...engineDeps, nonceKeys: ownership });
  // The account settings only a key's owner sets follow the key to its next owner.
  ownership.onKeyGained((port) => engine.nonceKeyGained(port));
  const { forward } = nonceLease;
  const addresses =
    forward === undefined ? undefined : new ReplicaAddresses(nonceLease.store, EXEC_ADDRESS_SCOPE);
  const forwarded = deps.metrics?.counter(
    'perpmesh_exec_forwarded_total',
    'Signed calls (place, cancel, cancel-all) forwarded to the replica owning their strict-nonce key',
    ['venue'],
  );
  const router = new ExecutionRouter(ownership, forward, addresses, (venue) => forwarded?.inc({ venue }));
  return {
    start: async () => {
      // Registered before the first round: the others can forward to us as soon as we own a key.
      if (forward?.address !== undefined) await addresses?.register(nonceLease.holder, forward.address);
      // Keys first: the engine's bring-up (account settings, dead-man switch) signs with the owned ones.
      await ownership.start();
      await engine.start();
    },
    stop: async () => {
      // The engine's placements in flight finish before the keys are given up.
      await engine.stop();
      await ownership.stop();
      if (forward?.address !== undefined) {
        await addresses?.unregister(nonceLease.holder, forward.address).catch((err: unknown) => {
          deps.logger.warn({ err: errorText(err) }, 'execution address unregister failed');
        });
      }
      router.close();
    },
    grpc: {
      definition: ExecutionServiceService,
      implementation: executionGrpcImplementation(engine, deps.logger, router),
    },
    engine,
    nonceKeys: ownership,
  };
}

/** The ports the engine trades (its `accounts`, default every port of the directory). */
function tradedPorts(deps: ExecutionServiceDeps) {
  const refs = deps.accounts ?? deps.venues.all().map((p) => ({ venue: p.venue, account: p.account }));
  return refs.map(({ venue, account }) => deps.venues.port(venue, account));
}
