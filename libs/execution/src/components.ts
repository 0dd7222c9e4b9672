/**
 * The execution service as lifecycle components: the one wiring that
 * services/execution and the embedded `perpmesh start` both run.
 */
import {
  composeService,
  type ServiceComposition,
  type ServiceContext,
  type VenueAccess,
} from '@perpmesh/app';
import type { ServiceMetrics } from '@perpmesh/runtime';
import type { StateStore } from '@perpmesh/state';
import type { StaticVenueDirectory } from '@perpmesh/venues';
import { EXECUTION_SERVICE, type ExecutionSection, executionOptionsOf } from './config.js';
import type { ExecutionTestHooks } from './engine.js';
import { buildExecutionService, type ExecutionService } from './service.js';

export const EXECUTION_PROTO = 'perpmesh/v1/execution.proto';
/** Execution places and cancels orders: it holds the accounts' trading keys. */
export const EXECUTION_VENUE_ACCESS: VenueAccess = 'trading';

export interface ExecutionComponentsOptions extends ServiceContext {
  readonly section: ExecutionSection;
  readonly state: () => StateStore;
  readonly venues: () => StaticVenueDirectory;
  readonly metrics: ServiceMetrics;
  /** Test entrypoints only (services/execution crash-test-main.ts). */
  readonly hooks?: ExecutionTestHooks;
}

export function executionServiceComponents(
  options: ExecutionComponentsOptions,
): ServiceComposition<ExecutionService> {
  const { section, health, logger } = options;
  return composeService({
    name: EXECUTION_SERVICE,
    venueAccess: EXECUTION_VENUE_ACCESS,
    protoFile: EXECUTION_PROTO,
    context: options,
    section,
    build: () =>
      buildExecutionService({
        log: options.log(),
        state: options.state(),
        venues: options.venues(),
        subjects: options.subjects,
        health,
        logger,
        nowMs: options.nowMs ?? Date.now,
        source: options.source,
        metrics: options.metrics,
        config: executionOptionsOf(section, options.streamPrefix),
        ...(options.hooks ? { hooks: options.hooks } : {}),
      }),
  });
}
