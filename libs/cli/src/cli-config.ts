/**
 * Where the operator commands find the services, and with which token.
 *
 * Read from the same perpmesh.yaml the services read (`--config`, else `PERPMESH_CONFIG`,
 * else config/perpmesh.yaml). For each service, the first of:
 *   1. the command-line flag (`--execution host:port`, `--account-service`, `--market-data`,
 *      `--strategy`);
 *   2. `cli.executionAddress` / `cli.accountAddress` / `cli.marketDataAddress` /
 *      `cli.strategyAddress` (also from env, e.g. `PERPMESH__CLI__EXECUTION_ADDRESS`): for
 *      services on another host;
 *   3. the service's own section, `execution.grpcHost` / `execution.grpcPort` (a wildcard
 *      host such as 0.0.0.0 is dialed as 127.0.0.1): the default for a local deployment.
 * The token is `auth.token`, i.e. `PERPMESH_TOKEN` from the environment or
 * `auth: { token: { env | file } }` in the file, never a command-line flag (command
 * lines are visible to every local user).
 */
import { DEFAULT_ACCOUNT_GRPC_PORT } from '@perpmesh/account';
import { ValidationError } from '@perpmesh/core';
import { DEFAULT_EXECUTION_GRPC_PORT } from '@perpmesh/execution';
import { DEFAULT_MARKET_DATA_GRPC_PORT } from '@perpmesh/market-data';
import {
  durationMs,
  listenHostSchema,
  loadConfig,
  portSchema,
  type Secret,
  secretSchema,
  type TlsSection,
  tlsSectionSchema,
} from '@perpmesh/runtime';
import { z } from 'zod';

/** The gRPC services the CLI talks to, by the name operators see in messages. */
export type CliService = 'execution' | 'account' | 'market-data' | 'strategy';
/** The trading path every deployment runs; `status` needs all of them. */
export const CORE_SERVICES = ['execution', 'account', 'market-data'] as const satisfies readonly CliService[];

/**
 * The strategy service's port, from proto/perpmesh/v1/strategy.proto ("port 50055"); its
 * config section is `strategy.grpcPort` like the others.
 */
export const DEFAULT_STRATEGY_GRPC_PORT = 50055;

export const DEFAULT_CLI_TIMEOUT_MS = 5_000;

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;
const HOST_PORT_MESSAGE = 'expected host:port such as 127.0.0.1:50051';

/** `host:port` with a port 1-65535; IPv6 hosts in brackets. */
export const addressSchema = z.string().superRefine((text, ctx) => {
  const m = HOST_PORT.exec(text);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) ctx.addIssue({ code: 'custom', message: HOST_PORT_MESSAGE });
});

/** A service section as far as the CLI reads it; its other keys belong to the service. */
function serviceSection(defaultPort: number) {
  const s = z.looseObject({
    grpcHost: listenHostSchema,
    grpcPort: portSchema.default(defaultPort),
  });
  return s.prefault({} as z.input<typeof s>);
}

/**
 * The parts of perpmesh.yaml the CLI reads. Open at the top level and in the service
 * sections, so the file every service reads is valid here too; credentials of other
 * sections (venue keys, NATS passwords) are never resolved by the CLI.
 */
export const cliConfigSchema = z.object({
  auth: z.looseObject({ token: secretSchema.optional() }).prefault({}),
  /** gRPC TLS (caFile to verify the services; certFile/keyFile as the client certificate). */
  tls: tlsSectionSchema,
  execution: serviceSection(DEFAULT_EXECUTION_GRPC_PORT),
  account: serviceSection(DEFAULT_ACCOUNT_GRPC_PORT),
  marketData: serviceSection(DEFAULT_MARKET_DATA_GRPC_PORT),
  strategy: serviceSection(DEFAULT_STRATEGY_GRPC_PORT),
  cli: z
    .strictObject({
      executionAddress: addressSchema.optional(),
      accountAddress: addressSchema.optional(),
      marketDataAddress: addressSchema.optional(),
      strategyAddress: addressSchema.optional(),
      /** How long one call may take before the CLI gives up on the service. */
      timeout: durationMs.default(DEFAULT_CLI_TIMEOUT_MS),
    })
    .prefault({}),
});
export type CliConfig = z.output<typeof cliConfigSchema>;

/** What the global options say (flags win over the file). */
export interface CliTargetOptions {
  config?: string;
  execution?: string;
  accountService?: string;
  marketData?: string;
  strategy?: string;
  /** Duration text ("5s", "500ms") or ms. */
  timeout?: string;
}

export interface CliTargets {
  /** `host:port` to dial; throws `ValidationError` when it cannot be known (port 0). */
  address(service: CliService): string;
  readonly token: Secret | undefined;
  /** The `tls` section: TLS to the services when it has a caFile or certFile. */
  readonly tls?: TlsSection | undefined;
  readonly timeoutMs: number;
  /** The config file read, if any (for messages). */
  readonly configPath: string | undefined;
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

function dialAddress(host: string, port: number): string {
  const dialHost = WILDCARD_HOSTS.has(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `${dialHost}:${port}`;
}

/**
 * The flag that gives each service's address. The account service's is
 * `--account-service` because `--account` is the account id filter of the commands.
 */
export const ADDRESS_FLAG: Readonly<Record<CliService, string>> = {
  execution: '--execution',
  account: '--account-service',
  'market-data': '--market-data',
  strategy: '--strategy',
};

/**
 * Resolves addresses, token and timeout. Throws `ConfigError` for a bad file and
 * `ValidationError` (naming the flag or key) for a bad address or timeout.
 */
export function resolveCliTargets(
  options: CliTargetOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): CliTargets {
  const loaded = loadConfig(cliConfigSchema, {
    env,
    ...(options.config === undefined ? {} : { path: options.config }),
  });
  const config = loaded.config;
  const derived = (
    service: CliService,
    fromCli: string | undefined,
    section: { grpcHost: string; grpcPort: number },
    key: string,
  ): string => {
    const flag = (
      {
        execution: options.execution,
        account: options.accountService,
        'market-data': options.marketData,
        strategy: options.strategy,
      } as const
    )[service];
    if (flag !== undefined) {
      if (!addressSchema.safeParse(flag).success) {
        throw new ValidationError(ADDRESS_FLAG[service], `${HOST_PORT_MESSAGE}, got ${JSON.stringify(flag)}`);
      }
      return flag;
    }
    if (fromCli !== undefined) return fromCli;
    if (section.grpcPort === 0) {
      // Port 0 means "any free port": only the running process knows which one it got.
      throw new ValidationError(
        `${key}.grpcPort`,
        `is 0 (any free port) in the config, so the ${service} address is unknown: pass ${ADDRESS_FLAG[service]} host:port (perpmesh start prints it)`,
      );
    }
    return dialAddress(section.grpcHost, section.grpcPort);
  };
  let timeoutMs = config.cli.timeout;
  if (options.timeout !== undefined) {
    const parsed = durationMs.safeParse(options.timeout);
    if (!parsed.success || parsed.data <= 0) {
      throw new ValidationError(
        '--timeout',
        `expected a duration such as "5s" or "500ms", got ${JSON.stringify(options.timeout)}`,
      );
    }
    timeoutMs = parsed.data;
  }
  return {
    // Lazy: `balance` must not fail because the execution address is unknown.
    address: (service) => {
      switch (service) {
        case 'execution':
          return derived(service, config.cli.executionAddress, config.execution, 'execution');
        case 'account':
          return derived(service, config.cli.accountAddress, config.account, 'account');
        case 'market-data':
          return derived(service, config.cli.marketDataAddress, config.marketData, 'marketData');
        case 'strategy':
          return derived(service, config.cli.strategyAddress, config.strategy, 'strategy');
      }
    },
    token: config.auth.token,
    tls: config.tls,
    timeoutMs,
    configPath: loaded.sourcePath,
  };
}
