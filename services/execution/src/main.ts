/**
 * The execution deployable: `node services/execution/dist/main.js [--config f] [--set k=v]`.
 * ExecutionService on gRPC (validation, idempotent PlaceOrder, nonces from Redis,
 * write-ahead exec events, reconciliation before ready); /healthz /readyz /metrics on HTTP.
 * Stateless: run several replicas behind one gRPC address; each strict-nonce API key
 * (Lighter) is signed with by one replica at a time, the others forward its calls there.
 */
import { randomBytes } from 'node:crypto';
import { deployableComponents, runIfEntryPoint, runServiceMain } from '@perpmesh/app';
import {
  EXECUTION_VENUE_ACCESS,
  type ExecutionTestHooks,
  executionServiceComponents,
} from '@perpmesh/execution';
import { createMetrics, HealthRegistry, type Logger, type ServiceComponent } from '@perpmesh/runtime';
import { processLeaseHolder } from '@perpmesh/state';
import { EXECUTION_SERVICE, type ExecutionServiceConfigFile, executionConfigSchema } from './config.js';

export { EXECUTION_PROTO } from '@perpmesh/execution';

export function buildComponents(
  config: ExecutionServiceConfigFile,
  logger: Logger,
  health = new HealthRegistry(),
  /** Test entrypoints only (crash-test-main.ts); main() never passes them. */
  hooks?: ExecutionTestHooks,
): ServiceComponent[] {
  const section = config.execution;
  const metrics = createMetrics(EXECUTION_SERVICE);
  const source = `${EXECUTION_SERVICE}/${section.instance}`;
  return deployableComponents(config, {
    source,
    logger,
    health,
    http: section.http,
    metrics: metrics.registry,
    stateStore: true,
    venues: { access: EXECUTION_VENUE_ACCESS, callTimeoutMs: section.venueCallTimeout },
    service: (deps) =>
      executionServiceComponents({
        ...deps,
        section,
        source,
        // Unique per process; a restart after a crash proves its holder dead and takes its keys at once.
        leaseHolder: processLeaseHolder(`${source} ${randomBytes(3).toString('hex')}`),
        health,
        metrics,
        logger,
        grpc: {
          config,
          onStarted: (grpc) => logger.info({ grpcAddress: grpc.address }, 'execution listening'),
        },
        ...(hooks ? { hooks } : {}),
      }),
  });
}

export function main(argv?: readonly string[], hooks?: ExecutionTestHooks): Promise<number> {
  return runServiceMain({
    name: EXECUTION_SERVICE,
    schema: executionConfigSchema,
    argv,
    build: (config, logger, health) => buildComponents(config, logger, health, hooks),
  });
}

runIfEntryPoint(import.meta.url, EXECUTION_SERVICE, () => main());
