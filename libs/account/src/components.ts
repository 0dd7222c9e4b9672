/**
 * The account service as lifecycle components: the one wiring that services/account
 * and the embedded `perpmesh start` both run.
 */

import { hostname } from 'node:os';
import {
  commonServiceDeps,
  composeService,
  type ServiceComponentsOptions,
  type ServiceComposition,
  type VenueAccess,
} from '@perpmesh/app';
import { ValidationError } from '@perpmesh/core';
import { advertisedGrpcAddress, grpcChannelCredentials, type ServiceMetrics } from '@perpmesh/runtime';
import { configuredAccounts, type VenuesSection } from '@perpmesh/venues';
import { ACCOUNT_SERVICE, type AccountSection, accountSettingsOf } from './config.js';
import { type AccountService, buildAccountService } from './service.js';

export const ACCOUNT_PROTO = 'perpmesh/v1/account.proto';
/** The account service reads balances and positions with the accounts' keys. */
export const ACCOUNT_VENUE_ACCESS: VenueAccess = 'trading';

export interface AccountComponentsOptions
  extends ServiceComponentsOptions<AccountSection, 'state' | 'venues'> {
  /** `venues`: the accounts tracked (at least one). */
  readonly venuesConfig: VenuesSection;
  /**
   * The account lease holder, unique per process, when several instances may share the log
   * (the deployable); without it this instance works alone (the embedded process).
   */
  readonly leaseHolder?: string;
  readonly metrics: ServiceMetrics;
}

export function accountServiceComponents(
  options: AccountComponentsOptions,
): ServiceComposition<AccountService> {
  const { section } = options;
  if (configuredAccounts(options.venuesConfig).length === 0) {
    throw new ValidationError(
      'venues',
      'configures no account: the account service tracks venues.<id>.accounts',
    );
  }
  // Validated before anything starts: a bad field names itself.
  const settings = accountSettingsOf(section);
  const { leaseHolder } = options;
  // per_account: reads for accounts another replica owns are forwarded there, with the same
  // token and TLS as every other client here.
  const forward =
    settings.ownership === 'per_account'
      ? {
          address:
            section.advertiseAddress ?? advertisedGrpcAddress(section.grpcHost, section.grpcPort, hostname()),
          authToken: options.grpc.config.auth.token,
          channelCredentials: grpcChannelCredentials(options.grpc.config.tls),
          timeoutMs: section.forwardTimeout,
        }
      : undefined;
  return composeService({
    name: ACCOUNT_SERVICE,
    venueAccess: ACCOUNT_VENUE_ACCESS,
    protoFile: ACCOUNT_PROTO,
    context: options,
    section,
    build: () =>
      buildAccountService({
        ...commonServiceDeps(options),
        state: options.state(),
        venues: options.venues(),
        streamPrefix: options.streamPrefix,
        metrics: options.metrics,
        config: settings,
        ...(leaseHolder === undefined
          ? {}
          : { lease: { store: options.state(), holder: leaseHolder, ...(forward ? { forward } : {}) } }),
      }),
  });
}
