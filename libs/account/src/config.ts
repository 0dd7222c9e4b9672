/**
 * The account service's settings, with their defaults, in one place. The deployable's
 * config parser (services/account/src/config.ts) reads YAML/env into this shape; the
 * embedded runner and tests pass it directly. `resolveAccountSettings` validates and
 * fills defaults; errors name the field.
 */
import { type Decimal, parseDecimal, ValidationError } from '@perpmesh/core';
import {
  ADVERTISE_ADDRESS_PATTERN,
  decimalString,
  durationMs,
  listenHostSchema,
  portSchema,
} from '@perpmesh/runtime';
import { z } from 'zod';
import { DEFAULT_ACCOUNT_FORWARD_TIMEOUT_MS } from './forwarding.js';

export interface AccountSettings {
  /** How often balances, positions and open orders are fetched from every venue account. 0 = never (tests call `refresh()`). */
  readonly pollIntervalMs: number;
  /** A balance older than this (service clock minus its as-of) is reported stale. */
  readonly balanceStaleAfterMs: number;
  /** A position not confirmed by the venue, marked or changed for this long is reported stale. */
  readonly positionStaleAfterMs: number;
  /** A disagreement between projection and venue is reported once it lasts this long. */
  readonly driftGraceMs: number;
  /** Position sizes differing by at most this (base units) agree. */
  readonly driftSizeTolerance: Decimal;
  /** Unexplained balance moves up to this (settle currency) are ignored (venue rounding). */
  readonly driftBalanceTolerance: Decimal;
  /** Mark-only position changes are published at most this often per position. */
  readonly positionMarkPublishIntervalMs: number;
  /** Housekeeping (throttled publishes, staleness readiness, drift checks). 0 = never (tests call `flush()`). */
  readonly housekeepingIntervalMs: number;
  /** Deadline of each venue read; a slow venue must not stall the poll. */
  readonly venueCallTimeoutMs: number;
  /** Names the durable consumers (`<name>-fills`, `<name>-funding`) and projections (`<name>-positions`, `<name>-funding`). */
  readonly consumerName: string;
  /** One active instance per `consumerName`: how long the lease lasts without renewal (the takeover bound). */
  readonly leaseTtlMs: number;
  /** How often the holder renews and a standby retries; well under `leaseTtlMs`. */
  readonly leaseRenewIntervalMs: number;
  /**
   * Funding payment history is read from venues that keep one (`fetchFundingPayments`) from
   * the last payment applied; with none applied yet, from this long ago.
   */
  readonly fundingHistoryLookbackMs: number;
  /**
   * `single`: one lease covers every account (one active instance, hot standbys).
   * `per_account`: the replicas divide the (venue, account) pairs through one lease each
   * (README "Per-account ownership"); each pair has one active owner.
   */
  readonly ownership: AccountOwnership;
  /** per_account: most replicas sharing a `consumerName` (member slots). */
  readonly maxReplicas: number;
}

export const ACCOUNT_OWNERSHIPS = ['single', 'per_account'] as const;
export type AccountOwnership = (typeof ACCOUNT_OWNERSHIPS)[number];

export type AccountSettingsInput = Partial<
  Omit<AccountSettings, 'driftSizeTolerance' | 'driftBalanceTolerance'> & {
    driftSizeTolerance: Decimal | string;
    driftBalanceTolerance: Decimal | string;
  }
>;

/**
 * The one set of defaults: `resolveAccountSettings` fills from it, and the `account` config
 * section below declares its defaults from it (so a YAML file without the field, the
 * embedded runner and a test building the service directly all get the same value).
 */
export const ACCOUNT_DEFAULTS = {
  pollIntervalMs: 5_000,
  balanceStaleAfterMs: 15_000,
  positionStaleAfterMs: 15_000,
  driftGraceMs: 10_000,
  driftSizeTolerance: '0',
  driftBalanceTolerance: '0.01',
  positionMarkPublishIntervalMs: 1_000,
  housekeepingIntervalMs: 1_000,
  venueCallTimeoutMs: 5_000,
  consumerName: 'account',
  leaseTtlMs: 15_000,
  leaseRenewIntervalMs: 5_000,
  fundingHistoryLookbackMs: 7 * 24 * 3_600_000,
  ownership: 'single' as AccountOwnership,
  maxReplicas: 8,
} as const;

function wholeMs(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new ValidationError(field, `must be a whole number of ms >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function nonNegative(value: unknown, field: string): Decimal {
  const d = parseDecimal(value, field);
  if (d.isNeg()) throw new ValidationError(field, `must be >= 0, got ${d.toFixed()}`);
  return d;
}

export function resolveAccountSettings(input: AccountSettingsInput = {}, at = 'account'): AccountSettings {
  const v = { ...ACCOUNT_DEFAULTS, ...input };
  if (typeof v.consumerName !== 'string' || !/^[A-Za-z0-9_-]{1,48}$/.test(v.consumerName)) {
    throw new ValidationError(
      `${at}.consumerName`,
      `must be 1-48 letters, digits, '_' or '-', got ${JSON.stringify(v.consumerName)}`,
    );
  }
  return {
    pollIntervalMs: wholeMs(v.pollIntervalMs, `${at}.pollIntervalMs`, 0),
    balanceStaleAfterMs: wholeMs(v.balanceStaleAfterMs, `${at}.balanceStaleAfterMs`, 1),
    positionStaleAfterMs: wholeMs(v.positionStaleAfterMs, `${at}.positionStaleAfterMs`, 1),
    driftGraceMs: wholeMs(v.driftGraceMs, `${at}.driftGraceMs`, 0),
    driftSizeTolerance: nonNegative(v.driftSizeTolerance, `${at}.driftSizeTolerance`),
    driftBalanceTolerance: nonNegative(v.driftBalanceTolerance, `${at}.driftBalanceTolerance`),
    positionMarkPublishIntervalMs: wholeMs(
      v.positionMarkPublishIntervalMs,
      `${at}.positionMarkPublishIntervalMs`,
      0,
    ),
    housekeepingIntervalMs: wholeMs(v.housekeepingIntervalMs, `${at}.housekeepingIntervalMs`, 0),
    venueCallTimeoutMs: wholeMs(v.venueCallTimeoutMs, `${at}.venueCallTimeoutMs`, 1),
    consumerName: v.consumerName,
    fundingHistoryLookbackMs: wholeMs(v.fundingHistoryLookbackMs, `${at}.fundingHistoryLookbackMs`, 1),
    ...leaseTimes(v.leaseTtlMs, v.leaseRenewIntervalMs, at),
    ownership: ownershipOf(v.ownership, `${at}.ownership`),
    maxReplicas: replicaCount(v.maxReplicas, `${at}.maxReplicas`),
  };
}

function replicaCount(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(field, `must be a whole number >= 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

function ownershipOf(value: unknown, field: string): AccountOwnership {
  if (!ACCOUNT_OWNERSHIPS.includes(value as AccountOwnership)) {
    throw new ValidationError(
      field,
      `must be one of ${ACCOUNT_OWNERSHIPS.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as AccountOwnership;
}

function leaseTimes(ttl: unknown, renew: unknown, at: string) {
  const leaseTtlMs = wholeMs(ttl, `${at}.leaseTtlMs`, 1);
  const leaseRenewIntervalMs = wholeMs(renew, `${at}.leaseRenewIntervalMs`, 1);
  if (leaseRenewIntervalMs >= leaseTtlMs) {
    // Renewing no faster than it lapses would hand the lease over while we are still working.
    throw new ValidationError(
      `${at}.leaseRenewIntervalMs`,
      `must be less than leaseTtlMs (${leaseTtlMs}), got ${leaseRenewIntervalMs}`,
    );
  }
  return { leaseTtlMs, leaseRenewIntervalMs };
}

// ---- the `account` config section (shared by the account service and the embedded runner)

export const ACCOUNT_SERVICE = 'account';
export const DEFAULT_ACCOUNT_GRPC_PORT = 50052;
export const DEFAULT_ACCOUNT_HTTP_PORT = 9102;

export const accountSectionFields = {
  grpcHost: listenHostSchema,
  grpcPort: portSchema.default(DEFAULT_ACCOUNT_GRPC_PORT),
  instance: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected 1-64 letters, digits, "_" or "-"' })
    .default('0'),
  pollInterval: durationMs.default(ACCOUNT_DEFAULTS.pollIntervalMs),
  balanceStaleAfter: durationMs.default(ACCOUNT_DEFAULTS.balanceStaleAfterMs),
  positionStaleAfter: durationMs.default(ACCOUNT_DEFAULTS.positionStaleAfterMs),
  driftGrace: durationMs.default(ACCOUNT_DEFAULTS.driftGraceMs),
  driftSizeTolerance: decimalString.default(ACCOUNT_DEFAULTS.driftSizeTolerance),
  driftBalanceTolerance: decimalString.default(ACCOUNT_DEFAULTS.driftBalanceTolerance),
  positionMarkPublishInterval: durationMs.default(ACCOUNT_DEFAULTS.positionMarkPublishIntervalMs),
  housekeepingInterval: durationMs.default(ACCOUNT_DEFAULTS.housekeepingIntervalMs),
  venueCallTimeout: durationMs.default(ACCOUNT_DEFAULTS.venueCallTimeoutMs),
  consumerName: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,48}$/, { error: 'expected 1-48 letters, digits, "_" or "-"' })
    .default(ACCOUNT_DEFAULTS.consumerName),
  leaseTtl: durationMs.default(ACCOUNT_DEFAULTS.leaseTtlMs),
  leaseRenewInterval: durationMs.default(ACCOUNT_DEFAULTS.leaseRenewIntervalMs),
  fundingHistoryLookback: durationMs.default(ACCOUNT_DEFAULTS.fundingHistoryLookbackMs),
  ownership: z.enum(ACCOUNT_OWNERSHIPS).default(ACCOUNT_DEFAULTS.ownership),
  maxReplicas: z.number().int().min(1).default(ACCOUNT_DEFAULTS.maxReplicas),
  /**
   * per_account: `host:port` where the other replicas reach this one's gRPC server (reads for
   * its accounts are forwarded there). Default grpcHost:grpcPort, the host name when grpcHost
   * is a wildcard; in Kubernetes set it to the pod IP.
   */
  advertiseAddress: z.string().regex(ADVERTISE_ADDRESS_PATTERN, { error: 'expected host:port' }).optional(),
  /** per_account: bound of one read forwarded to the owning replica. */
  forwardTimeout: durationMs.default(DEFAULT_ACCOUNT_FORWARD_TIMEOUT_MS),
};

const accountSection = z.strictObject(accountSectionFields);
export type AccountSection = z.output<typeof accountSection>;

/** The section's settings for `buildAccountService`, validated. */
export function accountSettingsOf(s: AccountSection): AccountSettingsInput {
  const input: AccountSettingsInput = {
    pollIntervalMs: s.pollInterval,
    balanceStaleAfterMs: s.balanceStaleAfter,
    positionStaleAfterMs: s.positionStaleAfter,
    driftGraceMs: s.driftGrace,
    driftSizeTolerance: s.driftSizeTolerance,
    driftBalanceTolerance: s.driftBalanceTolerance,
    positionMarkPublishIntervalMs: s.positionMarkPublishInterval,
    housekeepingIntervalMs: s.housekeepingInterval,
    venueCallTimeoutMs: s.venueCallTimeout,
    consumerName: s.consumerName,
    leaseTtlMs: s.leaseTtl,
    leaseRenewIntervalMs: s.leaseRenewInterval,
    fundingHistoryLookbackMs: s.fundingHistoryLookback,
    ownership: s.ownership,
    maxReplicas: s.maxReplicas,
  };
  resolveAccountSettings(input);
  return input;
}
