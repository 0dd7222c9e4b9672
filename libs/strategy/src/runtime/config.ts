/**
 * The `strategy` config section (services/strategy and the embedded runner read the same
 * fields) and its translation to runtime settings. Each instance is one strategy:
 *
 *   strategy:
 *     instances:
 *       - id: arb-1              # strategy id: subject token and client order id prefix
 *         kind: funding_arb      # a registered kind: funding_arb | grid | scalper
 *         mode: live             # live: orders go to the execution service; dry_run: to a recorder
 *         ...                    # the strategy's own config (libs/strategy/src/strategies/<name>/)
 *
 * Instances are validated by the strategy lib's `parseStrategyConfig` (the registry picks
 * the parser by kind); errors name the field (`strategy.instances[0].venues[1].venue`).
 * Durations take the config's duration strings (`"30s"`, `"48h"`) or a number of ms.
 */
import { ValidationError } from '@perpmesh/core';
import { durationMs, listenHostSchema, portSchema } from '@perpmesh/runtime';
import { z } from 'zod';
import { parseStrategyConfig, type StrategyConfig } from '../config.js';
import { alarmsSectionSchema } from './alarm-webhook.js';

export const STRATEGY_SERVICE = 'strategy';
export const DEFAULT_STRATEGY_GRPC_PORT = 50055;
export const DEFAULT_STRATEGY_HTTP_PORT = 9105;
export const STRATEGY_MODES = ['live', 'dry_run'] as const;
export type StrategyMode = (typeof STRATEGY_MODES)[number];

/**
 * The strategy service's defaults, in one place: the config section below declares its
 * defaults from them, and a runner built without a section (tests, the embedded runner)
 * gets the same values.
 */
export const STRATEGY_DEFAULTS = {
  grpcHost: '127.0.0.1',
  instance: '0',
  executionAddress: '127.0.0.1:50051',
  accountAddress: '127.0.0.1:50052',
  callTimeoutMs: 10_000,
  tickIntervalMs: 1_000,
  balancePollIntervalMs: 5_000,
  balanceStaleAfterMs: 15_000,
  leaseTtlMs: 15_000,
  leaseRenewIntervalMs: 5_000,
  retryIntervalMs: 2_000,
  stopCancelTimeoutMs: 10_000,
  decisionsKept: 500,
} as const;

export const strategySectionFields = {
  grpcHost: listenHostSchema.default(STRATEGY_DEFAULTS.grpcHost),
  grpcPort: portSchema.default(DEFAULT_STRATEGY_GRPC_PORT),
  instance: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected 1-64 letters, digits, "_" or "-"' })
    .default(STRATEGY_DEFAULTS.instance),
  /** Where the execution service's gRPC API is (live orders, open orders). */
  executionAddress: z.string().min(1).default(STRATEGY_DEFAULTS.executionAddress),
  /** Where the account service's gRPC API is (balances, positions). */
  accountAddress: z.string().min(1).default(STRATEGY_DEFAULTS.accountAddress),
  callTimeout: durationMs.default(STRATEGY_DEFAULTS.callTimeoutMs),
  /** A `tick` input this often: time-based rules fire without market data. */
  tickInterval: durationMs.default(STRATEGY_DEFAULTS.tickIntervalMs),
  /** Balances are re-read from the account service this often (events also update them). */
  balancePollInterval: durationMs.default(STRATEGY_DEFAULTS.balancePollIntervalMs),
  /** A balance older than this is stale (keep it equal to the account service's bound). */
  balanceStaleAfter: durationMs.default(STRATEGY_DEFAULTS.balanceStaleAfterMs),
  /** One active instance per strategy id: lease length and renewal period. */
  leaseTtl: durationMs.default(STRATEGY_DEFAULTS.leaseTtlMs),
  leaseRenewInterval: durationMs.default(STRATEGY_DEFAULTS.leaseRenewIntervalMs),
  /** Wait before a failed instance (or a standby) tries again. */
  retryInterval: durationMs.default(STRATEGY_DEFAULTS.retryIntervalMs),
  /** On stop, how long to wait for the execution service to confirm every own order canceled. */
  stopCancelTimeout: durationMs.default(STRATEGY_DEFAULTS.stopCancelTimeoutMs),
  /** Recent decisions kept per strategy for ListDecisions. */
  decisionsKept: z.int().min(1).max(10_000).default(STRATEGY_DEFAULTS.decisionsKept),
  instances: z.array(z.record(z.string(), z.unknown())).default([]),
  /** Where alarms go besides the decision log: `alarms.webhook` (alarm-webhook.ts). */
  alarms: alarmsSectionSchema,
};

const strategySection = z.strictObject(strategySectionFields);
export type StrategySection = z.output<typeof strategySection>;

export interface StrategyInstanceSpec {
  readonly id: string;
  readonly mode: StrategyMode;
  readonly config: StrategyConfig;
}

export interface StrategyRuntimeSettings {
  readonly tickIntervalMs: number;
  readonly balancePollIntervalMs: number;
  readonly balanceStaleAfterMs: number;
  readonly leaseTtlMs: number;
  readonly leaseRenewIntervalMs: number;
  readonly retryIntervalMs: number;
  readonly decisionsKept: number;
  /** On stop, how long to wait for every own order to be confirmed canceled (default: STRATEGY_DEFAULTS). */
  readonly stopCancelTimeoutMs?: number;
}

/** The runtime settings of a section left at its defaults. */
export const RUNTIME_DEFAULTS: StrategyRuntimeSettings = {
  tickIntervalMs: STRATEGY_DEFAULTS.tickIntervalMs,
  balancePollIntervalMs: STRATEGY_DEFAULTS.balancePollIntervalMs,
  balanceStaleAfterMs: STRATEGY_DEFAULTS.balanceStaleAfterMs,
  leaseTtlMs: STRATEGY_DEFAULTS.leaseTtlMs,
  leaseRenewIntervalMs: STRATEGY_DEFAULTS.leaseRenewIntervalMs,
  retryIntervalMs: STRATEGY_DEFAULTS.retryIntervalMs,
  decisionsKept: STRATEGY_DEFAULTS.decisionsKept,
  stopCancelTimeoutMs: STRATEGY_DEFAULTS.stopCancelTimeoutMs,
};

/** The section's settings; the lease times are checked here so errors name the config field. */
export function runtimeSettingsOf(s: StrategySection, field = 'strategy'): StrategyRuntimeSettings {
  if (s.leaseRenewInterval <= 0 || s.leaseRenewInterval >= s.leaseTtl) {
    // Renewing no faster than the lease lapses would hand it over while the instance still works.
    throw new ValidationError(
      `${field}.leaseRenewInterval`,
      `must be more than 0 and less than leaseTtl (${s.leaseTtl} ms), got ${s.leaseRenewInterval} ms`,
    );
  }
  if (s.retryInterval <= 0) {
    throw new ValidationError(`${field}.retryInterval`, `must be more than 0, got ${s.retryInterval} ms`);
  }
  return {
    tickIntervalMs: s.tickInterval,
    balancePollIntervalMs: s.balancePollInterval,
    balanceStaleAfterMs: s.balanceStaleAfter,
    leaseTtlMs: s.leaseTtl,
    leaseRenewIntervalMs: s.leaseRenewInterval,
    retryIntervalMs: s.retryInterval,
    decisionsKept: s.decisionsKept,
    stopCancelTimeoutMs: s.stopCancelTimeout,
  };
}

/** Validates the instances: `id` becomes the strategy id; ids are unique. */
export function parseStrategyInstances(
  raw: ReadonlyArray<Record<string, unknown>>,
  field = 'strategy.instances',
): StrategyInstanceSpec[] {
  const seen = new Set<string>();
  return raw.map((entry, i) => {
    const at = `${field}[${i}]`;
    const { id, mode, strategyId, ...rest } = entry;
    if (typeof id !== 'string')
      throw new ValidationError(`${at}.id`, `is required, got ${JSON.stringify(id)}`);
    if (strategyId !== undefined && strategyId !== id) {
      throw new ValidationError(`${at}.strategyId`, 'leave it out: the instance `id` is the strategy id');
    }
    const m = mode ?? 'live';
    if (typeof m !== 'string' || !(STRATEGY_MODES as readonly string[]).includes(m)) {
      throw new ValidationError(
        `${at}.mode`,
        `must be one of ${STRATEGY_MODES.join(', ')}, got ${JSON.stringify(m)}`,
      );
    }
    if (seen.has(id)) throw new ValidationError(`${at}.id`, `${JSON.stringify(id)} is listed twice`);
    seen.add(id);
    const config = parseStrategyConfig({ ...rest, strategyId: id }, at);
    return { id, mode: m as StrategyMode, config };
  });
}
