/**
 * The `execution` config section: its fields (shared by the execution service and the
 * embedded runner) and their translation to engine options (checked again there).
 */
import { durationMs, listenHostSchema, portSchema } from '@perpmesh/runtime';
import { z } from 'zod';
import { EXECUTION_DEFAULTS, type ExecutionOptions, resolveExecutionOptions } from './options.js';

export const EXECUTION_SERVICE = 'execution';
export const DEFAULT_EXECUTION_GRPC_PORT = 50051;
export const DEFAULT_EXECUTION_HTTP_PORT = 9101;

export const executionSectionFields = {
  grpcHost: listenHostSchema,
  grpcPort: portSchema.default(DEFAULT_EXECUTION_GRPC_PORT),
  instance: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected 1-64 letters, digits, "_" or "-"' })
    .default('0'),
  venueCallTimeout: durationMs.default(10_000),
  idempotencyTtl: durationMs.default(EXECUTION_DEFAULTS.idempotencyTtlMs),
  duplicateWait: durationMs.default(EXECUTION_DEFAULTS.duplicateWaitMs),
  pendingClaimTakeover: durationMs.default(EXECUTION_DEFAULTS.pendingClaimTakeoverMs),
  notFoundAfter: durationMs.default(EXECUTION_DEFAULTS.notFoundAfterMs),
  rebuildLookback: durationMs.default(EXECUTION_DEFAULTS.rebuildLookbackMs),
  fillReconcileLookback: durationMs.default(EXECUTION_DEFAULTS.fillReconcileLookbackMs),
  terminalOrderRetention: durationMs.default(EXECUTION_DEFAULTS.terminalOrderRetentionMs),
  housekeepingInterval: durationMs.default(EXECUTION_DEFAULTS.housekeepingIntervalMs),
};

const executionSection = z.strictObject(executionSectionFields);
export type ExecutionSection = z.output<typeof executionSection>;

/** Engine options from the section; `streamPrefix` namespaces the EXEC stream name. */
export function executionOptionsOf(s: ExecutionSection, streamPrefix = ''): ExecutionOptions {
  return resolveExecutionOptions({
    idempotencyTtlMs: s.idempotencyTtl,
    duplicateWaitMs: s.duplicateWait,
    pendingClaimTakeoverMs: s.pendingClaimTakeover,
    notFoundAfterMs: s.notFoundAfter,
    rebuildLookbackMs: s.rebuildLookback,
    fillReconcileLookbackMs: s.fillReconcileLookback,
    terminalOrderRetentionMs: s.terminalOrderRetention,
    housekeepingIntervalMs: s.housekeepingInterval,
    execStream: `${streamPrefix}EXEC`,
  });
}
