/**
 * The one backend factory for tests: an event log and a state store, with perpmesh's
 * streams created in a namespace of their own, and `close()` that removes everything.
 *
 * - `embedded`: EmbeddedEventLog + EmbeddedStateStore in a fresh temp dir (no fsync: a
 *   test never survives a power cut), what `make run` uses;
 * - `nats-redis`: NatsEventLog + RedisStateStore (NATS_URL / REDIS_URL, see servers.ts),
 *   streams prefixed and subjects rooted in a unique namespace, Redis keys under
 *   `pm:test:<name>:`, what the distributed deployment uses.
 *
 * Both give the same shape, so a suite runs per kind:
 *   for (const kind of TEST_BACKEND_KINDS) describe(kind, () => { ... openTestBackend(kind) ... })
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedEventLog, type EventLog, type EventLogLogger, NatsEventLog } from '@perpmesh/bus';
import { namespaceFor, type StreamSpec, Subjects, streamSpecs } from '@perpmesh/contracts';
import { EmbeddedStateStore, RedisStateStore, type StateStore } from '@perpmesh/state';
import { Redis } from 'ioredis';
import { natsUrlForTests, redisUrlForTests, uniqueTestName } from './servers.js';
import { deleteRedisKeys } from './statestore.redis-cleanup.js';

export type TestBackendKind = 'embedded' | 'nats-redis';

export const TEST_BACKEND_KINDS: readonly TestBackendKind[] = ['embedded', 'nats-redis'];

export interface TestBackendOptions {
  /** Start of the unique name (`uniqueTestName(prefix)`). Default 'T'. */
  readonly prefix?: string;
  /** Create perpmesh's streams (`streamSpecs`) in the namespace. Default true. */
  readonly streams?: boolean;
  /** Where the event log logs consumer handler failures. Default: stderr. */
  readonly logger?: EventLogLogger;
}

export interface TestBackend {
  readonly kind: TestBackendKind;
  /** Unique per backend; the namespace's name. */
  readonly name: string;
  readonly log: EventLog;
  readonly state: StateStore;
  /** Subject builders rooted in the namespace. */
  readonly subjects: Subjects;
  /** Prefix of the namespace's stream names (`<name>_`). */
  readonly streamPrefix: string;
  /** The specs created (empty with `streams: false`). */
  readonly streams: readonly StreamSpec[];
  /** A stream's name in the namespace: `stream('EXEC')` is `<prefix>EXEC`. */
  stream(base: string): string;
  /**
   * A second handle on the same log, as a replica would have: a new NATS connection, or
   * (embedded: one process holds the data dir) the same instance. Closed by `close()`.
   */
  secondLog(): Promise<EventLog>;
  /** A second handle on the same state, likewise (a new Redis connection, or the same store). */
  secondState(): Promise<StateStore>;
  /** Closes every handle, then deletes the streams, the Redis keys or the temp dir. Safe twice. */
  close(): Promise<void>;
}

export async function openTestBackend(
  kind: TestBackendKind,
  options: TestBackendOptions = {},
): Promise<TestBackend> {
  const name = uniqueTestName(options.prefix ?? 'T');
  const ns = namespaceFor(name);
  const specs = options.streams === false ? [] : streamSpecs(ns);
  const subjects = new Subjects({ root: ns.subjectRoot });
  const logger = options.logger ? { logger: options.logger } : {};
  const closers: Array<() => Promise<unknown>> = [];
  const closeAll = async () => {
    // Last opened first; every step runs even when one fails, the first error is thrown.
    let failure: unknown;
    for (const close of closers.splice(0).reverse()) {
      await close().catch((err: unknown) => {
        failure ??= err;
      });
    }
    if (failure !== undefined) throw failure;
  };
  const base = {
    kind,
    name,
    subjects,
    streamPrefix: ns.prefix,
    streams: specs,
    stream: (streamBase: string) => `${ns.prefix}${streamBase}`,
  };

  try {
    if (kind === 'embedded') {
      const dir = await mkdtemp(join(tmpdir(), `pm-${name.toLowerCase()}-`));
      closers.push(() => rm(dir, { recursive: true, force: true }));
      const log = await EmbeddedEventLog.open({
        dataDir: join(dir, 'log'),
        fsync: 'never',
        retentionIntervalMs: 0,
        ...logger,
      });
      closers.push(() => log.close());
      const state = await EmbeddedStateStore.open({ dataDir: join(dir, 'state'), fsync: false });
      closers.push(() => state.close());
      await log.ensureStreams(specs);
      return {
        ...base,
        log,
        state,
        secondLog: async () => log,
        secondState: async () => state,
        close: closeAll,
      };
    }

    const natsUrl = await natsUrlForTests();
    const redisUrl = await redisUrlForTests();
    const keyPrefix = `pm:test:${name}:`;
    closers.push(async () => {
      const admin = new Redis(redisUrl, { lazyConnect: true });
      admin.on('error', () => undefined);
      try {
        await admin.connect();
        await deleteRedisKeys(admin, `${keyPrefix}*`);
      } finally {
        admin.disconnect();
      }
    });
    const log = await NatsEventLog.connect({ servers: natsUrl, name, ...logger });
    closers.push(async () => {
      for (const spec of specs) await log.deleteStream(spec.name);
      await log.close();
    });
    const state = await RedisStateStore.connect(redisUrl, { keyPrefix });
    closers.push(() => state.close());
    await log.ensureStreams(specs);
    let replicas = 0;
    return {
      ...base,
      log,
      state,
      secondLog: async () => {
        const second = await NatsEventLog.connect({
          servers: natsUrl,
          name: `${name}-${++replicas}`,
          ...logger,
        });
        closers.push(() => second.close());
        return second;
      },
      secondState: async () => {
        const second = await RedisStateStore.connect(redisUrl, { keyPrefix });
        closers.push(() => second.close());
        return second;
      },
      close: closeAll,
    };
  } catch (err) {
    await closeAll().catch(() => undefined);
    throw err;
  }
}
