/**
 * A read-only way into the event log, for replay, explain and audits: it never creates,
 * updates or deletes a stream, never publishes, and holds no durable consumer.
 *
 * - `EmbeddedLogReader` reads an embedded log's files (`<dataDir>/streams/<name>/`) without
 *   taking the data dir's LOCK and without writing anything, so it works while the owning
 *   process (`make run`) is appending, and after it ended. Each `read` and `streamInfo`
 *   reads the stream file afresh, a chunk at a time (never the whole file in memory): what
 *   is on disk at call time. A line still being written
 *   (no newline yet) is ignored, never truncated (the writer owns the file); a compaction
 *   replaces the file by rename, so a read sees either the old or the new file whole.
 * - `NatsLogReader` reads JetStream streams with ordered (ephemeral) consumers, which is
 *   what `NatsEventLog.read` does; stream config is only ever looked at.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { ValidationError } from '@perpmesh/core';
import { type EmbeddedEntry, StreamLineParser, toStored } from './embedded-format.js';
import { CorruptLogError, EventLogClosedError, StreamNotFoundError } from './errors.js';
import {
  type ReadOptions,
  type ResolvedStreamSpec,
  resolveReadOptions,
  type StoredMessage,
  type StreamState,
  validateName,
} from './eventlog.js';
import { completeLines } from './files.js';
import { NatsEventLog, type NatsLivenessOptions, natsConnectionOptions } from './nats.js';
import { jetstreamApi, loadNats, transportApi } from './nats-modules.js';
import { subjectMatches } from './subjects.js';

export interface EventLogReader {
  /** Names of the streams in the log, sorted. */
  streamNames(): Promise<string[]>;
  /** Throws StreamNotFoundError when the stream does not exist (it is never created). */
  streamInfo(stream: string): Promise<StreamState>;
  /** Bounded range read (as `EventLog.read`): stops at the bound or the last sequence at call time. */
  read(opts: ReadOptions): AsyncIterable<StoredMessage>;
  close(): Promise<void>;
}

export class EmbeddedLogReader implements EventLogReader {
  private closed = false;
  private constructor(readonly dataDir: string) {}

  /** Opens an embedded log directory (the one holding `streams/`) for reading only. */
  static async open(dataDir: string): Promise<EmbeddedLogReader> {
    if (typeof dataDir !== 'string' || dataDir.length === 0) {
      throw new ValidationError('dataDir', `must be a directory path, got ${JSON.stringify(dataDir)}`);
    }
    const streams = join(dataDir, 'streams');
    const info = await stat(streams).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new ValidationError('dataDir', `${dataDir} holds no embedded event log (no streams/ directory)`);
    }
    return new EmbeddedLogReader(dataDir);
  }

  private assertOpen(): void {
    if (this.closed) throw new EventLogClosedError();
  }

  async streamNames(): Promise<string[]> {
    this.assertOpen();
    const names: string[] = [];
    for (const name of await readdir(join(this.dataDir, 'streams'))) {
      // A stream whose meta.json is not written yet is not a stream yet (as on open).
      const meta = await this.meta(name).catch(() => undefined);
      if (meta) names.push(meta.name);
    }
    return names.sort();
  }

  private async meta(name: string): Promise<ResolvedStreamSpec> {
    const path = join(this.dataDir, 'streams', name, 'meta.json');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new StreamNotFoundError(name);
      throw err;
    }
    try {
      return JSON.parse(text) as ResolvedStreamSpec;
    } catch (err) {
      throw new CorruptLogError(path, 1, 'unreadable stream meta', { cause: err });
    }
  }

  /**
   * The stream's events on disk now, one at a time (never the whole file in memory): the
   * compaction base, then each event; a torn or in-progress last line is left out.
   */
  private async *entries(name: string): AsyncGenerator<EmbeddedEntry | { readonly base: number }> {
    await this.meta(name);
    const path = join(this.dataDir, 'streams', name, 'log.jsonl');
    const parser = new StreamLineParser(path);
    for await (const { line } of completeLines(path)) {
      const entry = parser.next(line);
      yield entry ?? { base: parser.base };
    }
  }

  async streamInfo(stream: string): Promise<StreamState> {
    this.assertOpen();
    let base = 0;
    let first: number | undefined;
    let lastSeq = 0;
    let messages = 0;
    for await (const e of this.entries(validateName('stream', stream))) {
      if ('base' in e) {
        base = e.base;
        continue;
      }
      first ??= e.seq;
      lastSeq = e.seq;
      messages += 1;
    }
    if (messages === 0) lastSeq = base;
    // Retention past the file's events is only applied by the writer; the reader reports the file.
    return { firstSeq: first ?? (lastSeq === 0 ? 0 : lastSeq + 1), lastSeq, messages };
  }

  read(opts: ReadOptions): AsyncIterable<StoredMessage> {
    const o = resolveReadOptions(opts);
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        self.assertOpen();
        for await (const e of self.entries(o.stream)) {
          if (self.closed) throw new EventLogClosedError();
          if ('base' in e) continue;
          if (e.seq < o.fromSeq) continue;
          if (e.seq > o.toSeq) return;
          if (o.fromTimeMs !== undefined && e.tsMs < o.fromTimeMs) continue;
          if (o.toTimeMs !== undefined && e.tsMs > o.toTimeMs) return;
          if (o.filterSubject && !subjectMatches(o.filterSubject, e.subject)) continue;
          yield toStored(o.stream, e, 1);
        }
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export interface NatsLogReaderOptions extends NatsLivenessOptions {
  /** Server URL(s). Ignored when `connection` is given. */
  readonly servers?: string | readonly string[];
  /** An existing connection; the caller owns it (close() leaves it open). */
  readonly connection?: NatsConnection;
  readonly name?: string;
}

export class NatsLogReader implements EventLogReader {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly log: NatsEventLog,
    private readonly ownsConnection: boolean,
  ) {}

  static async connect(opts: NatsLogReaderOptions): Promise<NatsLogReader> {
    await loadNats();
    // The log's liveness settings (a silent server is left within seconds), but nats.js'
    // bounded reconnects: a reader serves a command that should end, not a service.
    const { noAsyncTraces, pingInterval, maxPingOut } = natsConnectionOptions(opts);
    const nc =
      opts.connection ??
      (await transportApi().connect({
        servers: (opts.servers ?? []) as string | string[],
        name: opts.name ?? 'perpmesh-log-reader',
        noAsyncTraces,
        pingInterval,
        maxPingOut,
      }));
    try {
      // The log is used only for its read and streamInfo; nothing calls ensureStreams.
      const log = await NatsEventLog.connect({ connection: nc });
      return new NatsLogReader(nc, log, opts.connection === undefined);
    } catch (err) {
      if (opts.connection === undefined) await nc.close().catch(() => {});
      throw err;
    }
  }

  async streamNames(): Promise<string[]> {
    const jsm = await jetstreamApi().jetstreamManager(this.nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) names.push(name);
    return names.sort();
  }

  streamInfo(stream: string): Promise<StreamState> {
    return this.log.streamInfo(stream);
  }

  read(opts: ReadOptions): AsyncIterable<StoredMessage> {
    return this.log.read(opts);
  }

  async close(): Promise<void> {
    await this.log.close();
    if (this.ownsConnection) await this.nc.close().catch(() => {});
  }
}
