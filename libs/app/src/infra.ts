/**
 * The adapters a process runs on, chosen by run mode in ONE place:
 * - `distributed`: JetStream (`NatsEventLog`) and Redis (`RedisStateStore`), credentials
 *   from config secrets, never from URLs;
 * - `embedded`: `EmbeddedEventLog` and `EmbeddedStateStore` under `dataDir`, same interfaces.
 * `namespace` (config) isolates streams, subjects and Redis keys of one deployment.
 */
import { join, resolve } from 'node:path';
import {
  EmbeddedEventLog,
  type EventLog,
  type EventLogLogger,
  NatsEventLog,
  natsConnectionOptions,
} from '@perpmesh/bus';
import { namespaceFor, type StreamSpec, Subjects, streamSpecs } from '@perpmesh/contracts';
import type { BaseConfig } from '@perpmesh/runtime';
import {
  EmbeddedStateStore,
  RedisStateStore,
  redisStoreClientOptions,
  type StateStore,
} from '@perpmesh/state';

export interface Namespacing {
  /** Stream specs to create at start (names prefixed in a namespace). */
  readonly streams: StreamSpec[];
  /** Subject builders (rooted in a namespace). */
  readonly subjects: Subjects;
  /** '' in production. */
  readonly streamPrefix: string;
  /** Redis key prefix: `redis.keyPrefix`, plus the namespace when set. */
  readonly keyPrefix: string;
}

export function namespacing(config: Pick<BaseConfig, 'namespace' | 'redis'>): Namespacing {
  if (!config.namespace) {
    return {
      streams: streamSpecs(),
      subjects: new Subjects(),
      streamPrefix: '',
      keyPrefix: config.redis.keyPrefix,
    };
  }
  const ns = namespaceFor(config.namespace);
  return {
    streams: streamSpecs(ns),
    subjects: new Subjects({ root: ns.subjectRoot }),
    streamPrefix: ns.prefix,
    keyPrefix: `${config.redis.keyPrefix}${ns.subjectRoot}:`,
  };
}

/** Opens the event log for the run mode and creates the streams (idempotent). */
export async function openEventLog(
  config: Pick<BaseConfig, 'mode' | 'dataDir' | 'nats' | 'namespace' | 'redis'>,
  options: { source: string; logger?: EventLogLogger },
): Promise<EventLog> {
  const streams = namespacing(config).streams.map((s) => ({ ...s, replicas: config.nats.replicas }));
  let log: EventLog;
  if (config.mode === 'embedded') {
    log = await EmbeddedEventLog.open({
      dataDir: join(resolve(config.dataDir), 'events'),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  } else {
    const { url, user, password, token, pingIntervalMs, maxPingsOut } = config.nats;
    const liveness = {
      ...(pingIntervalMs === undefined ? {} : { pingIntervalMs }),
      ...(maxPingsOut === undefined ? {} : { maxPingsOut }),
    };
    const hasCredentials = user !== undefined || password !== undefined || token !== undefined;
    // nats.js and ioredis are loaded only here, in distributed mode: an embedded start never
    // loads them (start-up time).
    const connection = hasCredentials
      ? await (await import('@nats-io/transport-node')).connect({
          servers: url,
          name: options.source,
          ...natsConnectionOptions(liveness),
          ...(user === undefined ? {} : { user }),
          ...(password === undefined ? {} : { pass: password.reveal() }),
          ...(token === undefined ? {} : { token: token.reveal() }),
        })
      : undefined;
    log = await NatsEventLog.connect({
      ...(connection ? { connection } : { servers: url, name: options.source, ...liveness }),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }
  try {
    await log.ensureStreams(streams);
  } catch (err) {
    await log.close();
    throw err;
  }
  return log;
}

/** Opens the state store for the run mode. */
export async function openStateStore(
  config: Pick<BaseConfig, 'mode' | 'dataDir' | 'redis' | 'namespace'>,
): Promise<StateStore> {
  if (config.mode === 'embedded') {
    return EmbeddedStateStore.open({ dataDir: join(resolve(config.dataDir), 'state') });
  }
  const { keyPrefix } = namespacing(config);
  const { url, username, password, db, commandTimeoutMs } = config.redis;
  const timeouts = commandTimeoutMs === undefined ? {} : { commandTimeoutMs };
  if (username === undefined && password === undefined) {
    return RedisStateStore.connect(url, { keyPrefix, ...timeouts, ...(db === undefined ? {} : { db }) });
  }
  // Credentials never go into the URL (config forbids it): client options instead.
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password: password.reveal() }),
    ...(db === undefined ? {} : { db }),
    // Bounded calls on a silent Redis and exact 64-bit nonces, as RedisStateStore.connect.
    ...redisStoreClientOptions(timeouts),
  });
  client.on('error', () => undefined);
  await client.connect();
  return new RedisStateStore(client, { keyPrefix, ownsClient: true });
}
