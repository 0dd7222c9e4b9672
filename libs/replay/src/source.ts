/**
 * Where a replay reads from, read-only: an embedded session directory (its `events/` log
 * and `state/` store, while `make run` holds them or after it ended), or a distributed
 * deployment's JetStream and Redis. Nothing here creates a stream, takes a lock or writes.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { namespacing } from '@perpmesh/app';
import { EmbeddedLogReader, type EventLogReader, NatsLogReader } from '@perpmesh/bus';
import type { Subjects } from '@perpmesh/contracts';
import { PerpmeshError } from '@perpmesh/core';
import { DEFAULT_KEY_PREFIX, EmbeddedStateReader, RedisStateStore } from '@perpmesh/state';
import type { LiveProjections } from './projections.js';

/**
 * What explain and the journal reads need of a log: bounded range reads. A read-only
 * `EventLogReader` is one, and so is a live `EventLog` (the gateway's, in process).
 */
export type LogRangeReader = Pick<EventLogReader, 'streamInfo' | 'read'>;

/**
 * The source cannot be opened as asked (no session there, `--nats` without `--redis`):
 * the message names the flag; the CLI reports it as a usage error (exit 2).
 */
export class ReplaySourceError extends PerpmeshError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

export interface ReplaySourceOptions {
  /** An embedded session directory (`data/sessions/<id>`). */
  readonly session?: string | undefined;
  /** Where sessions are, for the default (the newest). Default ./data. */
  readonly dataDir?: string | undefined;
  /** Distributed: JetStream at this URL (with `redis`). */
  readonly nats?: string | undefined;
  readonly redis?: string | undefined;
  /** The deployment's `namespace` (streams, subjects and keys), if any. */
  readonly namespace?: string | undefined;
  /** `redis.keyPrefix` of the deployment. Default `pm:`. */
  readonly keyPrefix?: string | undefined;
}

export interface ReplaySource {
  /** For the report header: `session <dir>` or `nats <url>`. */
  readonly description: string;
  readonly reader: EventLogReader;
  readonly live: LiveProjections;
  readonly subjects: Subjects;
  readonly streamPrefix: string;
  close(): Promise<void>;
}

/** The newest session under `<dataDir>/sessions` (ids are UTC start times: they sort). */
export function newestSession(dataDir: string): string {
  const root = join(resolve(dataDir), 'sessions');
  const sessions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => statSync(join(root, name)).isDirectory())
        .sort()
    : [];
  const newest = sessions[sessions.length - 1];
  if (!newest) {
    throw new ReplaySourceError(
      `no session under ${root}: run \`make run\` first, or name one with --session`,
    );
  }
  return join(root, newest);
}

export async function openReplaySource(opts: ReplaySourceOptions): Promise<ReplaySource> {
  const ns = namespacing({
    namespace: opts.namespace,
    redis: { keyPrefix: opts.keyPrefix ?? DEFAULT_KEY_PREFIX },
  } as Parameters<typeof namespacing>[0]);
  if (opts.nats !== undefined || opts.redis !== undefined) {
    if (!opts.nats || !opts.redis) {
      throw new ReplaySourceError('--nats and --redis go together (a distributed deployment)');
    }
    const reader = await NatsLogReader.connect({ servers: opts.nats, name: 'perpmesh-replay' });
    let store: RedisStateStore;
    try {
      store = await RedisStateStore.connect(opts.redis, { keyPrefix: ns.keyPrefix });
    } catch (err) {
      await reader.close();
      throw err;
    }
    return {
      description: `nats ${opts.nats}, redis ${opts.redis}`,
      reader,
      // Redis keeps only the current state of a projection.
      live: {
        projectionHistory: async <S>(name: string) => {
          const current = await store.loadProjection<S>(name);
          return current ? [{ state: current.state, applied: { ...current.applied } }] : [];
        },
      },
      subjects: ns.subjects,
      streamPrefix: ns.streamPrefix,
      close: async () => {
        await reader.close();
        await store.close();
      },
    };
  }
  const session = resolve(opts.session ?? newestSession(opts.dataDir ?? './data'));
  if (!existsSync(join(session, 'events'))) {
    throw new ReplaySourceError(`--session ${session} is not a session directory (no events/ in it)`);
  }
  const reader = await EmbeddedLogReader.open(join(session, 'events'));
  const state = existsSync(join(session, 'state'))
    ? await EmbeddedStateReader.open(join(session, 'state'))
    : undefined;
  return {
    description: `session ${session}`,
    reader,
    live: {
      projectionHistory: async <S>(name: string) => (state ? state.projectionHistory<S>(name) : []),
    },
    subjects: ns.subjects,
    streamPrefix: ns.streamPrefix,
    close: () => reader.close(),
  };
}
