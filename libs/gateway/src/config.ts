/**
 * The `gateway` config section: where the services' gRPC APIs are, who may act, and how
 * much of the event stream the dashboard keeps in view. Shared by services/gateway and the
 * embedded process (libs/cli), which reads the same section.
 */
import { durationMs, serviceConfigSchema } from '@perpmesh/runtime';
import { z } from 'zod';

export const GATEWAY_SERVICE = 'gateway';
export const DEFAULT_GATEWAY_HTTP_PORT = 8080;
/** File (under `dataDir`) holding the action token the embedded process generates when none is configured. */
export const LOCAL_TOKEN_FILE = 'gateway-token';

const address = z
  .string()
  .regex(/^[^\s/]+:\d{1,5}$/, { error: 'expected host:port such as 127.0.0.1:50051' });

export const gatewaySectionFields = {
  /** ExecutionService (orders, cancel-all). */
  executionAddress: address.default('127.0.0.1:50051'),
  /** AccountService (balances, positions, summary). */
  accountAddress: address.default('127.0.0.1:50052'),
  /** MarketDataService (venue readiness, funding rates). */
  marketDataAddress: address.default('127.0.0.1:50053'),
  /** StrategyService (the kill switch: HALTED / REDUCING / ACTIVE). */
  strategyAddress: address.default('127.0.0.1:50055'),
  /**
   * Token-protected actions (cancel-all, trading state) are refused when no token is
   * configured (`auth.token`), unless this is true. Only for a trusted, private network.
   */
  allowUnauthenticatedActions: z.boolean().default(false),
  /**
   * Host names the dashboard may be browsed under besides IP addresses and `localhost`
   * (the Host header is checked against DNS rebinding), e.g. [perpmesh.internal].
   */
  allowedHosts: z
    .array(
      z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, { error: 'expected a host name such as perpmesh.internal' }),
    )
    .max(64)
    .default([]),
  /** Deadline of each gRPC call the gateway makes. */
  callTimeout: durationMs.default(5_000),
  /** How many recent strategy decisions the gateway keeps in view (a bounded ring, not a record). */
  recentDecisions: z.int().min(1).max(10_000).default(200),
};

const gatewaySection = z.strictObject(gatewaySectionFields);
export type GatewaySection = z.output<typeof gatewaySection>;

/** The config file as services/gateway reads it. */
export const gatewayConfigSchema = serviceConfigSchema(GATEWAY_SERVICE, gatewaySectionFields, {
  defaultHttpPort: DEFAULT_GATEWAY_HTTP_PORT,
});
export type GatewayConfigFile = z.output<typeof gatewayConfigSchema>;
