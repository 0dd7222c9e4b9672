/**
 * Lifecycle components every deployable has: the health/metrics HTTP listener and a
 * gRPC server (health, reflection, bearer auth), plus the adapters by run mode.
 */
import type { EventLog } from '@perpmesh/bus';
import type {
  BaseConfig,
  GrpcServiceRegistration,
  HealthRegistry,
  Logger,
  RunningGrpcServer,
  RunningHttpServer,
  ServiceComponent,
} from '@perpmesh/runtime';
import { startGrpcServer, startHttpServer } from '@perpmesh/runtime';
import type { StateStore } from '@perpmesh/state';
import type { PaperSection, StaticVenueDirectory, VenuesSection } from '@perpmesh/venues';
import { openEventLog, openStateStore } from './infra.js';
import { PROTO_DIR } from './main.js';
import { openVenueDirectory } from './venues.js';

/** A value a component creates on start, read by the components after it. */
export class Slot<T> {
  #value: T | undefined;
  constructor(readonly name: string) {}
  set(value: T | undefined): void {
    this.#value = value;
  }
  get(): T {
    if (this.#value === undefined) throw new Error(`${this.name} is not started`);
    return this.#value;
  }
  peek(): T | undefined {
    return this.#value;
  }
}

export function httpComponent(options: {
  http: { host: string; port: number };
  health: HealthRegistry;
  metrics?: import('prom-client').Registry;
  logger: Logger;
  onStarted?: (server: RunningHttpServer) => void;
}): ServiceComponent {
  let server: RunningHttpServer | undefined;
  return {
    name: 'http',
    start: async () => {
      server = await startHttpServer({
        port: options.http.port,
        host: options.http.host,
        health: options.health,
        ...(options.metrics ? { metrics: options.metrics } : {}),
        logger: options.logger,
      });
      options.onStarted?.(server);
    },
    stop: () => server?.close(),
  };
}

export function grpcComponent(options: {
  host: string;
  port: number;
  /** Called at start, after the services were built by earlier components. */
  services: () => readonly GrpcServiceRegistration[];
  protoFiles: readonly string[];
  config: Pick<BaseConfig, 'auth'>;
  health: HealthRegistry;
  logger: Logger;
  onStarted?: (server: RunningGrpcServer) => void;
}): ServiceComponent {
  let server: RunningGrpcServer | undefined;
  return {
    name: 'grpc',
    start: async () => {
      server = await startGrpcServer({
        host: options.host,
        port: options.port,
        services: options.services(),
        protoFiles: options.protoFiles,
        includeDirs: [PROTO_DIR],
        ...(options.config.auth.token === undefined ? {} : { authToken: options.config.auth.token }),
        logger: options.logger,
        health: options.health,
      });
      options.onStarted?.(server);
    },
    stop: () => server?.close(),
  };
}

type InfraConfig = Parameters<typeof openEventLog>[0] & Parameters<typeof openStateStore>[0];

export function eventLogComponent(
  config: InfraConfig,
  source: string,
  slot: Slot<EventLog>,
): ServiceComponent {
  return {
    name: 'event-log',
    start: async () => slot.set(await openEventLog(config, { source })),
    stop: async () => {
      await slot.peek()?.close();
      slot.set(undefined);
    },
  };
}

export function stateStoreComponent(config: InfraConfig, slot: Slot<StateStore>): ServiceComponent {
  return {
    name: 'state',
    start: async () => slot.set(await openStateStore(config)),
    stop: async () => {
      await slot.peek()?.close();
      slot.set(undefined);
    },
  };
}

/**
 * The venue directory as a component. `options.access`: `public` for processes that only
 * read market data (market-data, strategy: no account, no credential), `trading` (the
 * default) for execution and account.
 */
export function venuesComponent(
  config: Pick<BaseConfig, 'mode' | 'auth'> & { venues: VenuesSection; paper: PaperSection },
  slot: Slot<StaticVenueDirectory>,
  options: Parameters<typeof openVenueDirectory>[1] = {},
): ServiceComponent {
  return {
    name: 'venues',
    start: async () => slot.set(await openVenueDirectory(config, options)),
    stop: async () => {
      await slot.peek()?.close();
      slot.set(undefined);
    },
  };
}
