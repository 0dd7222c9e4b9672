/**
 * The one config parser of the account service.
 *
 * Shared sections: `venues.<id>.accounts` (every configured account is tracked),
 * `paper.address` (the paper-venue service, for paper venues in distributed mode),
 * `nats`, `redis`, `auth`. Its own section, `account`:
 *   grpcHost (0.0.0.0), grpcPort (50052)     AccountService, health, reflection
 *   http.host (0.0.0.0), http.port (9102)    /healthz /readyz /metrics
 *   instance                                 envelope source `account/<instance>` (default "0")
 *   pollInterval (5s)                        balances, positions, open orders fetched per account
 *   balanceStaleAfter (15s)                  a balance older than this is returned `stale`
 *   positionStaleAfter (15s)                 a position not confirmed/marked/changed for this long is `stale`
 *   driftGrace (10s)                         projection/venue disagreement reported after this (covers in-flight fills)
 *   driftSizeTolerance ("0")                 position sizes within this agree
 *   driftBalanceTolerance ("0.01")           unexplained wallet moves within this are ignored
 *   positionMarkPublishInterval (1s)         acct.position / acct.balance for mark-only moves, at most this often
 *   housekeepingInterval (1s)                throttled publishes, staleness readiness, drift checks
 *   venueCallTimeout (5s)                    deadline of each venue read
 *   consumerName ("account")                 durable consumers and projection names (one per active owner)
 */
import { type AccountSettingsInput, resolveAccountSettings } from '@perpmesh/account';
import { decimalString, durationMs, portSchema, serviceConfigSchema } from '@perpmesh/runtime';
import { venueConfigShape } from '@perpmesh/venues';
import { z } from 'zod';

export const ACCOUNT_SERVICE = 'account';
export const DEFAULT_ACCOUNT_GRPC_PORT = 50052;
export const DEFAULT_ACCOUNT_HTTP_PORT = 9102;

export const accountConfigSchema = serviceConfigSchema(
  'account',
  {
    grpcHost: z.string().min(1).default('0.0.0.0'),
    grpcPort: portSchema.default(DEFAULT_ACCOUNT_GRPC_PORT),
    instance: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected 1-64 letters, digits, "_" or "-"' })
      .default('0'),
    pollInterval: durationMs.default(5_000),
    balanceStaleAfter: durationMs.default(15_000),
    positionStaleAfter: durationMs.default(15_000),
    driftGrace: durationMs.default(10_000),
    driftSizeTolerance: decimalString.default('0'),
    driftBalanceTolerance: decimalString.default('0.01'),
    positionMarkPublishInterval: durationMs.default(1_000),
    housekeepingInterval: durationMs.default(1_000),
    venueCallTimeout: durationMs.default(5_000),
    consumerName: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,48}$/, { error: 'expected 1-48 letters, digits, "_" or "-"' })
      .default('account'),
  },
  { defaultHttpPort: DEFAULT_ACCOUNT_HTTP_PORT },
).extend(venueConfigShape);

export type AccountServiceConfigFile = z.output<typeof accountConfigSchema>;

/** The lib's settings from the `account` section (validated again there; errors name `account.<field>`). */
export function accountSettingsOf(config: AccountServiceConfigFile): AccountSettingsInput {
  const s = config.account;
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
  };
  resolveAccountSettings(input);
  return input;
}
