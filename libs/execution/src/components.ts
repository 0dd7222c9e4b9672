/**
 * The execution service as lifecycle components: the one wiring that
 * services/execution and the embedded `perpmesh start` both run.
 */

import { hostname } from 'node:os';
import {
  commonServiceDeps,
  composeService,
  type ServiceComponentsOptions,
  type ServiceComposition,
  type VenueAccess,
} from '@perpmesh/app';
import { advertisedGrpcAddress, grpcChannelCredentials, type ServiceMetrics } from '@perpmesh/runtime';
import {
  deadManSwitchOf,
  EXECUTION_SERVICE,
  type ExecutionSection,
  executionAccountSettingsOf,
  executionOptionsOf,
} from './config.js';
import type { ExecutionTestHooks } from './engine.js';
import { buildExecutionService, type ExecutionService } from './service.js';

export const EXECUTION_PROTO = 'perpmesh/v1/execution.proto';
/** Execution places and cancels orders: it holds the accounts' trading keys. */
export const EXECUTION_VENUE_ACCESS: VenueAccess = 'trading';

export interface ExecutionComponentsOptions
  extends ServiceComponentsOptions<ExecutionSection, 'state' | 'venues'> {
  readonly metrics: ServiceMetrics;
  /**
   * The lease holder, unique per process, when several replicas may share the store (the
   * deployable): strict-nonce API keys are then divided among them. Without it this process
   * signs with every key (the embedded process).
   */
  readonly leaseHolder?: string;
  /** Test entrypoints only (services/execution crash-test-main.ts). */
  readonly hooks?: ExecutionTestHooks;
}

export function executionServiceComponents(
  options: ExecutionComponentsOptions,
): ServiceComposition<ExecutionService> {
  const { section, leaseHolder } = options;
  // Signed calls for a key another replica owns are forwarded there, with the same token and
  // TLS as every other client here.
  const nonceLease =
    leaseHolder === undefined
      ? undefined
      : {
          holder: leaseHolder,
          ttlMs: section.nonceKeys.leaseTtl,
          renewIntervalMs: section.nonceKeys.leaseRenewInterval,
          maxReplicas: section.nonceKeys.maxReplicas,
          forward: {
            address:
              section.advertiseAddress ??
              advertisedGrpcAddress(section.grpcHost, section.grpcPort, hostname()),
            authToken: options.grpc.config.auth.token,
            channelCredentials: grpcChannelCredentials(options.grpc.config.tls),
            timeoutMs: section.forwardTimeout,
          },
        };
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
        accountSettings: executionAccountSettingsOf(section),
        ...(deadManSwitchOf(section) ? { deadManSwitch: deadManSwitchOf(section) } : {}),
        ...(options.hooks ? { hooks: options.hooks } : {}),
        ...(nonceLease ? { nonceLease: { ...nonceLease, store: options.state() } } : {}),
      }),
  });
}
