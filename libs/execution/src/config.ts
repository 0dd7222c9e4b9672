/**
 * The `execution` config section: its fields (shared by the execution service and the
 * embedded runner) and their translation to engine options (checked again there).
 */
import { parsePositiveDecimal } from '@perpmesh/core';
import {
  ADVERTISE_ADDRESS_PATTERN,
  decimalString,
  durationMs,
  listenHostSchema,
  portSchema,
} from '@perpmesh/runtime';
import { MARGIN_MODES } from '@perpmesh/venues';
import { z } from 'zod';
import { DEFAULT_EXEC_FORWARD_TIMEOUT_MS } from './forwarding.js';
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

/**
 * Strict-nonce API keys (Lighter) divided among execution replicas (nonce-ownership.ts): one
 * lease per key. The TTL bounds how long a dead replica's keys wait for a survivor.
 */
export const NONCE_KEY_DEFAULTS = { leaseTtlMs: 10_000, leaseRenewIntervalMs: 3_000, maxReplicas: 8 };

const nonceKeysSchema = z
  .strictObject({
    leaseTtl: durationMs.default(NONCE_KEY_DEFAULTS.leaseTtlMs),
    leaseRenewInterval: durationMs.default(NONCE_KEY_DEFAULTS.leaseRenewIntervalMs),
    maxReplicas: z.number().int().min(1).default(NONCE_KEY_DEFAULTS.maxReplicas),
  })
  .refine((k) => k.leaseRenewInterval < k.leaseTtl, {
    // Renewing no faster than it lapses would hand a key over while it is in use.
    error: 'leaseRenewInterval must be less than leaseTtl',
    path: ['leaseRenewInterval'],
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
  /** How long a PlaceOrder answer waits for fills its venue answer counts (README "Answered with its fills"). */
  fillAnswerWait: durationMs.default(EXECUTION_DEFAULTS.fillAnswerWaitMs),
  pendingClaimTakeover: durationMs.default(EXECUTION_DEFAULTS.pendingClaimTakeoverMs),
  notFoundAfter: durationMs.default(EXECUTION_DEFAULTS.notFoundAfterMs),
  rebuildLookback: durationMs.default(EXECUTION_DEFAULTS.rebuildLookbackMs),
  fillReconcileLookback: durationMs.default(EXECUTION_DEFAULTS.fillReconcileLookbackMs),
  terminalOrderRetention: durationMs.default(EXECUTION_DEFAULTS.terminalOrderRetentionMs),
  /** Finished orders kept in memory for GetOrder and duplicates, by count (beside the time bound above). */
  maxTerminalOrders: z.int().min(1).max(10_000_000).default(EXECUTION_DEFAULTS.maxTerminalOrders),
  /** GetOrder of a finished order no longer in memory reads the event log, at most this long. */
  orderLookupTimeout: durationMs.default(EXECUTION_DEFAULTS.orderLookupTimeoutMs),
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
  /** Replicas: the leases of the strict-nonce API keys (one sending replica per key). */
  nonceKeys: nonceKeysSchema.default({
    leaseTtl: NONCE_KEY_DEFAULTS.leaseTtlMs,
    leaseRenewInterval: NONCE_KEY_DEFAULTS.leaseRenewIntervalMs,
    maxReplicas: NONCE_KEY_DEFAULTS.maxReplicas,
  }),
  /**
   * Where the other replicas reach this one (a signed call for a key it owns is forwarded
   * here). Default grpcHost:grpcPort, the host name when grpcHost is a wildcard; in
   * Kubernetes the pod IP.
   */
  advertiseAddress: z.string().regex(ADVERTISE_ADDRESS_PATTERN, { error: 'expected host:port' }).optional(),
  /** Bound of one call forwarded to the replica owning its key (the caller's deadline, when sooner, wins). */
  forwardTimeout: durationMs.default(DEFAULT_EXEC_FORWARD_TIMEOUT_MS),
};

const executionSection = z.strictObject(executionSectionFields);
export type ExecutionSection = z.output<typeof executionSection>;

/** Engine options from the section; `streamPrefix` namespaces the EXEC stream name. */
export function executionOptionsOf(s: ExecutionSection, streamPrefix = ''): ExecutionOptions {
  return resolveExecutionOptions({
    idempotencyTtlMs: s.idempotencyTtl,
    duplicateWaitMs: s.duplicateWait,
    fillAnswerWaitMs: s.fillAnswerWait,
    pendingClaimTakeoverMs: s.pendingClaimTakeover,
    notFoundAfterMs: s.notFoundAfter,
    rebuildLookbackMs: s.rebuildLookback,
    fillReconcileLookbackMs: s.fillReconcileLookback,
    terminalOrderRetentionMs: s.terminalOrderRetention,
    maxTerminalOrders: s.maxTerminalOrders,
    orderLookupTimeoutMs: s.orderLookupTimeout,
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
