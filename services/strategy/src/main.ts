/**
 * The strategy deployable: `node services/strategy/dist/main.js [--config f] [--set k=v]`.
 * Runs the configured strategy instances (one active instance per strategy id: a second
 * process waits as hot standby), StrategyService on gRPC (port 50055), /healthz /readyz
 * /metrics on HTTP (9105). Orders go ONLY through the execution service's gRPC API
 * (`strategy.executionAddress`); balances and positions come from the account service.
 * SIGTERM / SIGINT: every strategy cancels its open orders and keeps its positions.
 */
import {
  eventLogComponent,
  httpComponent,
  namespacing,
  runIfEntryPoint,
  runServiceMain,
  Slot,
  stateStoreComponent,
  venuesComponent,
} from '@perpmesh/app';
import type { EventLog } from '@perpmesh/bus';
import { HealthRegistry, type Logger, type ServiceComponent } from '@perpmesh/runtime';
import type { StateStore } from '@perpmesh/state';
import { strategyServiceComponents } from '@perpmesh/strategy/runtime';
import type { StaticVenueDirectory } from '@perpmesh/venues';
import { STRATEGY_SERVICE, type StrategyServiceConfigFile, strategyConfigSchema } from './config.js';

export { STRATEGY_PROTO } from '@perpmesh/strategy/runtime';

export function buildComponents(
  config: StrategyServiceConfigFile,
  logger: Logger,
  health = new HealthRegistry(),
): ServiceComponent[] {
  const section = config.strategy;
  const ns = namespacing(config);
  const source = `${STRATEGY_SERVICE}/${section.instance}`;
  const log = new Slot<EventLog>('event log');
  const state = new Slot<StateStore>('state store');
  const venues = new Slot<StaticVenueDirectory>('venues');
  const strategy = strategyServiceComponents({
    section,
    log: () => log.get(),
    state: () => state.get(),
    venues: () => venues.get(),
    executionAddress: () => section.executionAddress,
    accountAddress: () => section.accountAddress,
    authToken: config.auth.token,
    subjects: ns.subjects,
    streamPrefix: ns.streamPrefix,
    source,
    health,
    logger,
    grpc: {
      config,
      onStarted: (grpc) => logger.info({ grpcAddress: grpc.address }, 'strategy listening'),
    },
  });
  return [
    httpComponent({ http: section.http, health, logger }),
    eventLogComponent(config, source, log),
    stateStoreComponent(config, state),
    venuesComponent(config, venues, { callTimeoutMs: section.callTimeout }),
    // On stop it cancels every strategy's open orders and keeps positions.
    ...strategy.components,
  ];
}

export function main(argv?: readonly string[]): Promise<number> {
  const health = new HealthRegistry();
  return runServiceMain({
    name: STRATEGY_SERVICE,
    schema: strategyConfigSchema,
    ...(argv ? { argv } : {}),
    health,
    build: (config, logger) => buildComponents(config, logger, health),
  });
}

runIfEntryPoint(import.meta.url, STRATEGY_SERVICE, () => main());
