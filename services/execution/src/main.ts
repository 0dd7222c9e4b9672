/**
 * The execution deployable: `node services/execution/dist/main.js [--config f] [--set k=v]`.
 * ExecutionService on gRPC (validation, idempotent PlaceOrder, nonces from Redis,
 * write-ahead exec events, reconciliation before ready); /healthz /readyz /metrics on HTTP.
 * Stateless: run several replicas behind one gRPC address.
 */
import {
  eventLogComponent,
  grpcComponent,
  httpComponent,
  namespacing,
  runIfEntryPoint,
  runServiceMain,
  Slot,
  stateStoreComponent,
  venuesComponent,
} from '@perpmesh/app';
import type { EventLog } from '@perpmesh/bus';
import { buildExecutionService, type ExecutionService, type ExecutionTestHooks } from '@perpmesh/execution';
import { createMetrics, HealthRegistry, type Logger, type ServiceComponent } from '@perpmesh/runtime';
import type { StateStore } from '@perpmesh/state';
import type { StaticVenueDirectory } from '@perpmesh/venues';
import {
  EXECUTION_SERVICE,
  type ExecutionServiceConfigFile,
  executionConfigSchema,
  executionOptionsOf,
} from './config.js';

export const EXECUTION_PROTO = 'perpmesh/v1/execution.proto';

export function buildComponents(
  config: ExecutionServiceConfigFile,
  logger: Logger,
  health = new HealthRegistry(),
  /** Test entrypoints only (crash-test-main.ts); main() never passes them. */
  hooks?: ExecutionTestHooks,
): ServiceComponent[] {
  const section = config.execution;
  const ns = namespacing(config);
  const options = executionOptionsOf(section, ns.streamPrefix);
  const metrics = createMetrics(EXECUTION_SERVICE);
  const source = `${EXECUTION_SERVICE}/${section.instance}`;
  const log = new Slot<EventLog>('event log');
  const state = new Slot<StateStore>('state store');
  const venues = new Slot<StaticVenueDirectory>('venues');
  const service = new Slot<ExecutionService>('execution service');
  return [
    httpComponent({ http: section.http, health, metrics: metrics.registry, logger }),
    eventLogComponent(config, source, log),
    stateStoreComponent(config, state),
    venuesComponent(config, venues, { callTimeoutMs: section.venueCallTimeout }),
    {
      name: 'execution',
      start: async () => {
        const s = buildExecutionService({
          log: log.get(),
          state: state.get(),
          venues: venues.get(),
          subjects: ns.subjects,
          health,
          logger,
          nowMs: Date.now,
          source,
          metrics,
          config: options,
          ...(hooks ? { hooks } : {}),
        });
        await s.start();
        service.set(s);
      },
      stop: () => service.peek()?.stop(),
    },
    grpcComponent({
      host: section.grpcHost,
      port: section.grpcPort,
      services: () => [service.get().grpc],
      protoFiles: [EXECUTION_PROTO],
      config,
      health,
      logger,
      onStarted: (grpc) => logger.info({ grpcAddress: grpc.address }, 'execution listening'),
    }),
  ];
}

export function main(argv?: readonly string[], hooks?: ExecutionTestHooks): Promise<number> {
  const health = new HealthRegistry();
  return runServiceMain({
    name: EXECUTION_SERVICE,
    schema: executionConfigSchema,
    ...(argv ? { argv } : {}),
    health,
    build: (config, logger) => buildComponents(config, logger, health, hooks),
  });
}

runIfEntryPoint(import.meta.url, EXECUTION_SERVICE, () => main());
