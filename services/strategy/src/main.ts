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
import { HealthRegistry, type Logger, type ServiceComponent } from '@perpmesh/runtime';
import type { StateStore } from '@perpmesh/state';
import {
  buildStrategyService,
  GrpcAccountReader,
  GrpcOrderGateway,
  marketsFromVenues,
  parseStrategyInstances,
  runtimeSettingsOf,
  type StrategyService,
} from '@perpmesh/strategy/runtime';
import type { StaticVenueDirectory } from '@perpmesh/venues';
import { STRATEGY_SERVICE, type StrategyServiceConfigFile, strategyConfigSchema } from './config.js';

export const STRATEGY_PROTO = 'perpmesh/v1/strategy.proto';

export function buildComponents(
  config: StrategyServiceConfigFile,
  logger: Logger,
  health = new HealthRegistry(),
): ServiceComponent[] {
  const section = config.strategy;
  // Validate the instances now: a bad field exits 2 naming it, before anything starts.
  const instances = parseStrategyInstances(section.instances);
  const ns = namespacing(config);
  const source = `${STRATEGY_SERVICE}/${section.instance}`;
  const log = new Slot<EventLog>('event log');
  const state = new Slot<StateStore>('state store');
  const venues = new Slot<StaticVenueDirectory>('venues');
  const service = new Slot<StrategyService>('strategy service');
  const client = {
    callTimeoutMs: section.callTimeout,
    ...(config.auth.token === undefined ? {} : { authToken: config.auth.token }),
  };
  return [
    httpComponent({ http: section.http, health, logger }),
    eventLogComponent(config, source, log),
    stateStoreComponent(config, state),
    venuesComponent(config, venues, { callTimeoutMs: section.callTimeout }),
    {
      name: 'strategy',
      start: async () => {
        const s = buildStrategyService({
          log: log.get(),
          state: state.get(),
          subjects: ns.subjects,
          streamPrefix: ns.streamPrefix,
          orders: new GrpcOrderGateway({ address: section.executionAddress, ...client }),
          account: new GrpcAccountReader({ address: section.accountAddress, ...client }),
          markets: marketsFromVenues(venues.get()),
          health,
          logger,
          nowMs: Date.now,
          source,
          instances,
          settings: runtimeSettingsOf(section),
        });
        await s.start();
        service.set(s);
      },
      // Cancels every strategy's open orders, keeps positions.
      stop: () => service.peek()?.stop(),
    },
    grpcComponent({
      host: section.grpcHost,
      port: section.grpcPort,
      services: () => [service.get().grpc],
      protoFiles: [STRATEGY_PROTO],
      config,
      health,
      logger,
      onStarted: (grpc) => logger.info({ grpcAddress: grpc.address }, 'strategy listening'),
    }),
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
