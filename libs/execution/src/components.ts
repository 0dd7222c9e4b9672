/**
 * The execution service as lifecycle components: the one wiring that
 * services/execution and the embedded `perpmesh start` both run.
 */
import {
  commonServiceDeps,
  composeService,
  type ServiceComponentsOptions,
  type ServiceComposition,
  type VenueAccess,
} from '@perpmesh/app';
import type { ServiceMetrics } from '@perpmesh/runtime';
import { EXECUTION_SERVICE, type ExecutionSection, executionOptionsOf } from './config.js';
import type { ExecutionTestHooks } from './engine.js';
import { buildExecutionService, type ExecutionService } from './service.js';

export const EXECUTION_PROTO = 'perpmesh/v1/execution.proto';
/** Execution places and cancels orders: it holds the accounts' trading keys. */
export const EXECUTION_VENUE_ACCESS: VenueAccess = 'trading';

export interface ExecutionComponentsOptions
  extends ServiceComponentsOptions<ExecutionSection, 'state' | 'venues'> {
  readonly metrics: ServiceMetrics;
  /** Test entrypoints only (services/execution crash-test-main.ts). */
  readonly hooks?: ExecutionTestHooks;
}

export function executionServiceComponents(
  options: ExecutionComponentsOptions,
): ServiceComposition<ExecutionService> {
  const { section } = options;
  return composeService({
    name: EXECUTION_SERVICE,
    venueAccess: EXECUTION_VENUE_ACCESS,
    protoFile: EXECUTION_PROTO,
    context: options,
    section,
    build: () =>
      buildExecutionService({
        ...commonServiceDeps(options),
        state: options.state(),
        venues: options.venues(),
        metrics: options.metrics,
        config: executionOptionsOf(section, options.streamPrefix),
        ...(options.hooks ? { hooks: options.hooks } : {}),
      }),
  });
}
