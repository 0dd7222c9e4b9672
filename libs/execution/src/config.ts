/**
 * The `execution` config section: its fields (shared by the execution service and the
 * embedded runner) and their translation to engine options (checked again there).
 */
import { parsePositiveDecimal } from '@perpmesh/core';
import { decimalString, durationMs, listenHostSchema, portSchema } from '@perpmesh/runtime';
import { MARGIN_MODES } from '@perpmesh/venues';
import { z } from 'zod';
import { EXECUTION_DEFAULTS, type ExecutionOptions, resolveExecutionOptions } from './options.js';
import type { AccountSetting, DeadManSwitchSettings } from './venue-controls.js';

/** One leverage / margin-mode setting, applied at start before the account is ready. */
const accountSettingSchema = z
  .strictObject({
    venue: z.string().min(1),
    account: z.string().min(1),
    instrument: z.string().min(1),
    leverage: decimalString.optional(),
    marginMode: z.enum(MARGIN_MODES as [string, ...string[]]).optional(),
  })
  .refine((s) => s.leverage !== undefined || s.marginMode !== undefined, {
    error: 'set leverage, marginMode or both',
  });

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
  /**
   * The venues' dead-man switch (scheduled cancel-all, where a venue has one): if execution
   * does not refresh it within this long, the venue cancels the account's open orders.
   * 0 = off.
   */
  deadManSwitch: durationMs.default(0),
  /** How often the dead-man switch is refreshed (kept below a third of its deadline). */
  deadManSwitchRefresh: durationMs.default(20_000),
  /** Leverage and margin mode per venue, account and instrument, set at start. */
  accountSettings: z.array(accountSettingSchema).default([]),
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

/** The account settings of the section, with decimals parsed. */
export function executionAccountSettingsOf(s: Pick<ExecutionSection, 'accountSettings'>): AccountSetting[] {
  return s.accountSettings.map((a, i) => ({
    venue: a.venue,
    account: a.account,
    instrument: a.instrument,
    leverage:
      a.leverage === undefined
        ? undefined
        : parsePositiveDecimal(a.leverage, `execution.accountSettings[${i}].leverage`),
    marginMode: a.marginMode as AccountSetting['marginMode'],
  }));
}

/** The dead-man switch of the section; undefined when off. */
export function deadManSwitchOf(
  s: Pick<ExecutionSection, 'deadManSwitch' | 'deadManSwitchRefresh'>,
): DeadManSwitchSettings | undefined {
  return s.deadManSwitch > 0 ? { afterMs: s.deadManSwitch, refreshMs: s.deadManSwitchRefresh } : undefined;
}
