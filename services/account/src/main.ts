/**
 * The account deployable: `node services/account/dist/main.js [--config f] [--set k=v]`.
 * Positions projected from fills and funding, venue balances with as-of and staleness,
 * drift events; AccountService on gRPC; /healthz /readyz /metrics on HTTP.
 * Several instances may run on one log and store: one holds the account lease and works,
 * the others are hot standbys (not ready, naming the holder) that take over when it lapses.
 */
import { randomBytes } from 'node:crypto';
import { type AccountService, accountSettingsOf, buildAccountService } from '@perpmesh/account';
import {
  eventLogComponent,
  grpcComponent,
  httpComponent,
  namespacing,
  runIfEntryPoint,
  runServiceMain,
  Slot,
  stateStoreComponent,
  venuesComponent,
} from '@perpmesh/app';
import type { EventLog } from '@perpmesh/bus';
import { ValidationError } from '@perpmesh/core';
import { createMetrics, HealthRegistry, type Logger, type ServiceComponent } from '@perpmesh/runtime';
import type { StateStore } from '@perpmesh/state';
import { configuredAccounts, type StaticVenueDirectory } from '@perpmesh/venues';
import { ACCOUNT_SERVICE, type AccountServiceConfigFile, accountConfigSchema } from './config.js';

export const ACCOUNT_PROTO = 'perpmesh/v1/account.proto';

export function buildComponents(
  config: AccountServiceConfigFile,
  logger: Logger,
  health = new HealthRegistry(),
): ServiceComponent[] {
  const section = config.account;
  if (configuredAccounts(config.venues).length === 0) {
    throw new ValidationError(
      'venues',
      'configures no account: the account service tracks venues.<id>.accounts',
    );
  }
  const settings = accountSettingsOf(section);
  const metrics = createMetrics(ACCOUNT_SERVICE);
  const source = `${ACCOUNT_SERVICE}/${section.instance}`;
  // Unique per process: two instances configured with the same id must never share a lease.
  const leaseHolder = `${source} pid ${process.pid} ${randomBytes(3).toString('hex')}`;
  const ns = namespacing(config);
  const log = new Slot<EventLog>('event log');
  const state = new Slot<StateStore>('state store');
  const venues = new Slot<StaticVenueDirectory>('venues');
  const service = new Slot<AccountService>('account service');
  return [
    httpComponent({ http: section.http, health, metrics: metrics.registry, logger }),
    eventLogComponent(config, source, log),
    stateStoreComponent(config, state),
    venuesComponent(config, venues, { callTimeoutMs: section.venueCallTimeout }),
    {
      name: 'account',
      start: async () => {
        const s = buildAccountService({
          log: log.get(),
          state: state.get(),
          venues: venues.get(),
          subjects: ns.subjects,
          streamPrefix: ns.streamPrefix,
          health,
          logger,
          nowMs: Date.now,
          source,
          metrics,
          config: settings,
          lease: { store: state.get(), holder: leaseHolder },
        });
        await s.start();
        service.set(s);
      },
      stop: () => service.peek()?.stop(),
    },
    grpcComponent({
      host: section.grpcHost,
      port: section.grpcPort,
      services: () => [service.get().grpc],
      protoFiles: [ACCOUNT_PROTO],
      config,
      health,
      logger,
    }),
  ];
}

export function main(argv?: readonly string[]): Promise<number> {
  const health = new HealthRegistry();
  return runServiceMain({
    name: ACCOUNT_SERVICE,
    schema: accountConfigSchema,
    ...(argv ? { argv } : {}),
    health,
    build: (config, logger) => buildComponents(config, logger, health),
  });
}

runIfEntryPoint(import.meta.url, ACCOUNT_SERVICE, () => main());
