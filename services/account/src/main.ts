/**
 * The account deployable: `node services/account/dist/main.js [--config f] [--set k=v]`.
 * Positions projected from fills and funding, venue balances with as-of and staleness,
 * drift events; AccountService on gRPC; /healthz /readyz /metrics on HTTP.
 * Several instances may run on one log and store: one holds the account lease and works,
 * the others are hot standbys (not ready, naming the holder) that take over when it lapses.
 */
import { randomBytes } from 'node:crypto';
import { ACCOUNT_VENUE_ACCESS, accountServiceComponents } from '@perpmesh/account';
import { deployableComponents, runIfEntryPoint, runServiceMain } from '@perpmesh/app';
import { createMetrics, HealthRegistry, type Logger, type ServiceComponent } from '@perpmesh/runtime';
import { processLeaseHolder } from '@perpmesh/state';
import { ACCOUNT_SERVICE, type AccountServiceConfigFile, accountConfigSchema } from './config.js';

export { ACCOUNT_PROTO } from '@perpmesh/account';

export function buildComponents(
  config: AccountServiceConfigFile,
  logger: Logger,
  health = new HealthRegistry(),
): ServiceComponent[] {
  const section = config.account;
  const metrics = createMetrics(ACCOUNT_SERVICE);
  const source = `${ACCOUNT_SERVICE}/${section.instance}`;
  return deployableComponents(config, {
    source,
    logger,
    health,
    http: section.http,
    metrics: metrics.registry,
    stateStore: true,
    venues: { access: ACCOUNT_VENUE_ACCESS, callTimeoutMs: section.venueCallTimeout },
    service: (deps) =>
      accountServiceComponents({
        ...deps,
        section,
        venuesConfig: config.venues,
        source,
        // Unique per process: two instances configured with the same id must never share a lease.
        // It names this process (host, pid, start time): a restart after a crash proves it dead
        // and takes the lease at once.
        leaseHolder: processLeaseHolder(`${source} ${randomBytes(3).toString('hex')}`),
        health,
        metrics,
        logger,
        grpc: { config },
      }),
  });
}

export function main(argv?: readonly string[]): Promise<number> {
  return runServiceMain({ name: ACCOUNT_SERVICE, schema: accountConfigSchema, argv, build: buildComponents });
}

runIfEntryPoint(import.meta.url, ACCOUNT_SERVICE, () => main());
