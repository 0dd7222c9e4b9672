/**
 * Lifecycle components every deployable has: the health/metrics HTTP listener and a
 * gRPC server (health, reflection, bearer auth), plus the adapters by run mode.
 */
import type { EventLog, EventLogLogger } from '@perpmesh/bus';
import type { Subjects } from '@perpmesh/contracts';
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
import { RedisStateStore, type StateStore } from '@perpmesh/state';
import type { PaperSection, StaticVenueDirectory, VenueAccess, VenuesSection } from '@perpmesh/venues';
import { namespacing, openEventLog, openStateStore } from './infra.js';
import { PROTO_DIR } from './main.js';
import { watchStateStore } from './store-readiness.js';
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
  /** Where `protoFiles` are found, for reflection. Default: the repo's proto/. */
  protoDir?: string;
  /** `auth.token` (demanded of every call but health) and `tls` (server TLS from files). */
  config: Pick<BaseConfig, 'auth'> & Partial<Pick<BaseConfig, 'tls'>>;
  /** The setting that chose `host` (`execution.grpcHost`): named when the host is refused. */
  hostSetting?: string;
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
        includeDirs: [options.protoDir ?? PROTO_DIR],
        ...(options.config.auth.token === undefined ? {} : { authToken: options.config.auth.token }),
        ...(options.config.tls === undefined ? {} : { tls: options.config.tls }),
        ...(options.hostSetting === undefined ? {} : { hostSetting: options.hostSetting }),
        logger: options.logger,
        health: options.health,
      });
      options.onStarted?.(server);
    },
    stop: () => server?.close(),
  };
}

/**
 * Which venue credentials a service needs (libs/venues `VenueAccess`): `public` market data
 * only (market-data, strategy), or `trading` keys (execution, account). Each service's
 * composition declares it; its process opens its venues with exactly that access.
 */
export type { VenueAccess };

/** What a service lib builds: started, stopped, and served over gRPC. */
export interface ComposableService {
  start(): Promise<void>;
  stop(): Promise<unknown> | unknown;
  readonly grpc: GrpcServiceRegistration;
  /**
   * Work a stop does while the gRPC server still answers, before it closes (market data
   * hands its pairs over to the other replicas); `stop` comes after. Only with `drains`.
   */
  drain?(): Promise<void>;
}

/** Where and how a service's gRPC server listens. */
export interface ServiceGrpcOptions {
  host: string;
  port: number;
  config: Pick<BaseConfig, 'auth'> & Partial<Pick<BaseConfig, 'tls'>>;
  health: HealthRegistry;
  logger: Logger;
  /** E.g. the embedded process records the bound address for its in-process clients. */
  onStarted?: (server: RunningGrpcServer) => void;
}

/**
 * What every service's components builder is given by the process that runs it (its own
 * deployable or the embedded one); each lib adds what its service needs (state, venues...).
 */
export interface ServiceContext {
  /** The event log, once its component started. */
  readonly log: () => EventLog;
  readonly subjects: Subjects;
  /** '' in production; the namespace prefix of stream names otherwise. */
  readonly streamPrefix: string;
  /** Producer id on every envelope, `<service>/<instance>`. */
  readonly source: string;
  readonly health: HealthRegistry;
  readonly logger: Logger;
  /** The gRPC server's auth and start hook; host and port come from the service's section. */
  readonly grpc: Omit<ServiceGrpcOptions, 'host' | 'port' | 'health' | 'logger'>;
  readonly nowMs?: () => number;
}

/**
 * One service as lifecycle components, the same in its own deployable and in the
 * embedded process: the service (named `name`) then its gRPC server (`grpc <name>`).
 */
export interface ServiceComposition<S> {
  readonly name: string;
  readonly venueAccess: VenueAccess;
  readonly protoFile: string;
  /** The running service, once its component started. */
  readonly service: Slot<S>;
  /** The service, then its gRPC server, then its drain when it `drains`: start order (stopped in reverse). */
  readonly components: readonly ServiceComponent[];
}

/**
 * What a lib's `<name>ServiceComponents` builder takes: the run context, the parts of the
 * infrastructure its service reads (`'state' | 'venues'`...), and its config section.
 */
export type ServiceComponentsOptions<
  Section,
  Infra extends keyof InfrastructureDeps = never,
> = ServiceContext & Pick<InfrastructureDeps, Infra> & { readonly section: Section };

/** The deps every `build<Name>Service` takes alike, read from the context at start. */
export function commonServiceDeps(context: ServiceContext) {
  return {
    log: context.log(),
    subjects: context.subjects,
    health: context.health,
    logger: context.logger,
    nowMs: context.nowMs ?? Date.now,
    source: context.source,
  };
}

/** Which composition made a component: how tests tell both run modes use one builder. */
const composedBy = new WeakMap<ServiceComponent, ComposedFrom>();

export type ComposedFrom = Pick<ServiceComposition<unknown>, 'name' | 'venueAccess' | 'protoFile'>;

/** The composition (name, venue access, proto) a component came from; undefined if hand-made. */
export function compositionOf(component: ServiceComponent): ComposedFrom | undefined {
  return composedBy.get(component);
}

/** The compositions a process's components come from, in start order (hand-made ones left out). */
export function compositionsIn(components: readonly ServiceComponent[]): ComposedFrom[] {
  const found: ComposedFrom[] = [];
  for (const component of components) {
    const from = composedBy.get(component);
    if (from && !found.includes(from)) found.push(from);
  }
  return found;
}

/** The service component and its gRPC server, for a lib's `<name>ServiceComponents` builder. */
export function composeService<S extends ComposableService>(options: {
  name: string;
  venueAccess: VenueAccess;
  protoFile: string;
  context: ServiceContext;
  /** The service's own section: where its gRPC server listens. */
  section: { readonly grpcHost: string; readonly grpcPort: number };
  /** Called at start, after the infrastructure components (event log, state, venues) started. */
  build: () => S;
  /** The service's stop limit when its stop may take longer than the lifecycle's default. */
  stopTimeoutMs?: number;
  /**
   * The service `drain`s on stop, before its gRPC server closes (a component after the
   * server's), within `stopTimeoutMs` (default: the lifecycle's).
   */
  drains?: { readonly stopTimeoutMs?: number };
}): ServiceComposition<S> {
  const service = new Slot<S>(`${options.name} service`);
  const serviceComponent: ServiceComponent = {
    name: options.name,
    ...(options.stopTimeoutMs === undefined ? {} : { stopTimeoutMs: options.stopTimeoutMs }),
    start: async () => {
      const s = options.build();
      await s.start();
      service.set(s);
    },
    stop: async () => {
      await service.peek()?.stop();
    },
  };
  const { context, section } = options;
  const grpc = grpcComponent({
    ...context.grpc,
    host: section.grpcHost,
    hostSetting: `${sectionKeyOf(options.name)}.grpcHost`,
    port: section.grpcPort,
    health: context.health,
    logger: context.logger,
    services: () => [service.get().grpc],
    protoFiles: [options.protoFile],
  });
  const composition: ServiceComposition<S> = {
    name: options.name,
    venueAccess: options.venueAccess,
    protoFile: options.protoFile,
    service,
    components: [
      serviceComponent,
      { ...grpc, name: `grpc ${options.name}` },
      // Components stop in reverse order: this one's stop runs before the server's.
      ...(options.drains
        ? [
            {
              name: `${options.name} drain`,
              ...(options.drains.stopTimeoutMs === undefined
                ? {}
                : { stopTimeoutMs: options.drains.stopTimeoutMs }),
              start: () => undefined,
              stop: async () => {
                await service.peek()?.drain?.();
              },
            },
          ]
        : []),
    ],
  };
  const from: ComposedFrom = {
    name: options.name,
    venueAccess: options.venueAccess,
    protoFile: options.protoFile,
  };
  for (const component of composition.components) composedBy.set(component, from);
  return composition;
}

/** The config section key of a service name: `market-data` → `marketData`. */
function sectionKeyOf(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

type InfraConfig = Parameters<typeof openEventLog>[0] & Parameters<typeof openStateStore>[0];

/** The event log; `logger` gets its consumers' handler failures (logged, counted, bounded). */
export function eventLogComponent(
  config: InfraConfig,
  source: string,
  slot: Slot<EventLog>,
  logger: EventLogLogger,
): ServiceComponent {
  return {
    name: 'event-log',
    start: async () => slot.set(await openEventLog(config, { source, logger })),
    stop: async () => {
      await slot.peek()?.close();
      slot.set(undefined);
    },
  };
}

/**
 * The state store. With `health`, a Redis store is probed (`watchStateStore`): readiness
 * names Redis while it does not answer.
 */
export function stateStoreComponent(
  config: InfraConfig,
  slot: Slot<StateStore>,
  health?: HealthRegistry,
): ServiceComponent {
  let stopProbe: (() => Promise<void>) | undefined;
  return {
    name: 'state',
    start: async () => {
      const store = await openStateStore(config);
      slot.set(store);
      if (health && store instanceof RedisStateStore) stopProbe = watchStateStore(store, health);
    },
    stop: async () => {
      await stopProbe?.();
      stopProbe = undefined;
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

/** What a deployable's service reads from its infrastructure (spread into its builder's options). */
export interface InfrastructureDeps {
  readonly log: () => EventLog;
  readonly state: () => StateStore;
  readonly venues: () => StaticVenueDirectory;
  readonly subjects: ServiceContext['subjects'];
  readonly streamPrefix: string;
}

/**
 * A deployable's own infrastructure, in start order: the event log, the state store when
 * the service keeps state, and the venue directory. `venues.access` names the credentials
 * the service needs (its lib's `<NAME>_VENUE_ACCESS`).
 */
export function serviceInfrastructure(
  config: InfraConfig & Parameters<typeof venuesComponent>[0],
  options: {
    source: string;
    stateStore: boolean;
    venues: { access: VenueAccess; callTimeoutMs: number };
    logger: EventLogLogger;
    /** Where the state store's readiness goes (a Redis store is probed). */
    health?: HealthRegistry;
  },
): { deps: InfrastructureDeps; components: ServiceComponent[] } {
  const ns = namespacing(config);
  const log = new Slot<EventLog>('event log');
  const state = new Slot<StateStore>('state store');
  const venues = new Slot<StaticVenueDirectory>('venues');
  return {
    deps: {
      log: () => log.get(),
      state: () => state.get(),
      venues: () => venues.get(),
      subjects: ns.subjects,
      streamPrefix: ns.streamPrefix,
    },
    components: [
      eventLogComponent(config, options.source, log, options.logger),
      ...(options.stateStore ? [stateStoreComponent(config, state, options.health)] : []),
      venuesComponent(config, venues, {
        access: options.venues.access,
        callTimeoutMs: options.venues.callTimeoutMs,
      }),
    ],
  };
}

/**
 * A service deployable's components in start order: its HTTP listener (health, metrics),
 * its infrastructure (`serviceInfrastructure`), then the service its lib composes from
 * that infrastructure (`<name>ServiceComponents`).
 */
export function deployableComponents(
  config: Parameters<typeof serviceInfrastructure>[0],
  options: Parameters<typeof serviceInfrastructure>[1] & {
    http: { host: string; port: number };
    health: HealthRegistry;
    metrics?: import('prom-client').Registry;
    logger: Logger;
    service: (deps: InfrastructureDeps) => { readonly components: readonly ServiceComponent[] };
  },
): ServiceComponent[] {
  const { http, health, metrics, logger, service, ...infraOptions } = options;
  const infra = serviceInfrastructure(config, { ...infraOptions, logger, health });
  return [
    httpComponent({ http, health, ...(metrics ? { metrics } : {}), logger }),
    ...infra.components,
    ...service(infra.deps).components,
  ];
}
