/**
 * EmbeddedEventLog: the EventLog in one process, persisted under a data dir, so `make run`
 * needs no server and a restart keeps history, consumer positions and de-duplication ids.
 *
 * Layout (one directory per stream):
 *   <dataDir>/LOCK                              pid of the owning process
 *   <dataDir>/streams/<name>/meta.json          the resolved StreamSpec
 *   <dataDir>/streams/<name>/log.jsonl          one JSON line per event:
 *       {"q":seq,"t":tsMs,"s":subject,"i":id,"d":base64,"h":{headers}}
 *     after compaction the first line is {"base":N}: the last sequence before the file's
 *     first event, so sequences never restart even when retention dropped every event.
 *   <dataDir>/streams/<name>/consumers/<durable>.json   {"filterSubject","ackFloor"}
 *
 * Durability: a publish resolves after its line is written and (fsync 'always', the
 * default) fdatasync'd; concurrent publishes share one fsync (group commit). Consumers and
 * readers only ever see events that are on disk. A consumer's cursor is written atomically
 * (temp + rename) after each ack, before the next delivery; losing it in a power cut only
 * redelivers events, which the projector skips.
 *
 * On open the indexes are rebuilt from the files: events, de-duplication ids still inside
 * their window (ids are in the event lines), and cursors. A torn last line is cut off.
 *
 * Limits: every retained event is held in memory (it is the dev/demo log; production runs
 * JetStream). `redelivered`/`deliveryCount` are counted per process: after a restart the
 * first redelivery of an unacked event reports deliveryCount 1.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep, ValidationError } from '@perpmesh/core';
import { type Deferred, deferred, handledPromise } from './async.js';
import { type EmbeddedEntry, entryLine, parseStreamLines, toStored } from './embedded-format.js';
import {
  ConsumerConfigError,
  CorruptLogError,
  EventLogClosedError,
  NoStreamForSubjectError,
  StreamConfigError,
  StreamNotFoundError,
} from './errors.js';
import {
  type ConsumeOptions,
  type ConsumerHandle,
  type EventLog,
  type MessageHandler,
  nakDelayFor,
  type OutgoingMessage,
  type PublishAck,
  type ReadOptions,
  type ResolvedConsumeOptions,
  type ResolvedStreamSpec,
  resolveConsumeOptions,
  resolveReadOptions,
  resolveStreamSpec,
  resolveTailOptions,
  type StoredMessage,
  type StreamSpec,
  type StreamState,
  type TailHandle,
  type TailOptions,
  validateFilterSubject,
  validateName,
  validateOutgoing,
} from './eventlog.js';
import { ConsumerFailures, type EventLogLogger, STDERR_EVENTLOG_LOGGER } from './failures.js';
import { AppendJournal, type FsyncPolicy, lockDir, writeFileAtomic } from './files.js';
import { subjectMatches, subjectsOverlap } from './subjects.js';

export interface EmbeddedEventLogOptions {
  readonly dataDir: string;
  /** Default 'always' (see files.ts). */
  readonly fsync?: FsyncPolicy;
  /** The clock for timestamps, retention and the duplicate window. Default Date.now. */
  readonly nowMs?: () => number;
  /** How often retention runs while open (it also runs on open). 0 = only on open / on demand. Default 60 s. */
  readonly retentionIntervalMs?: number;
  /** Where consumer handler failures are logged. Default: JSON lines on stderr. */
  readonly logger?: EventLogLogger;
}

type Entry = EmbeddedEntry;

interface CursorFile {
  filterSubject: string | null;
  ackFloor: number;
}

/** One stream: its files, its events in memory, its de-duplication ids, its live listeners. */
class EmbeddedStream {
  spec: ResolvedStreamSpec;
  readonly dir: string;
  private readonly journal: AppendJournal;
  private readonly fsync: FsyncPolicy;
  /** Events in seq order, contiguous: entries[i].seq === entries[0].seq + i. */
  private entries: Entry[] = [];
  /** Last assigned sequence (events past `committedSeq` are being written). */
  private lastSeq = 0;
  /** Last sequence known to be on disk: the only events readers and consumers see. */
  private committedSeq = 0;
  private lastTsMs = 0;
  /** id -> seq/time, in insertion (= seq) order, so expired ids are pruned from the front. */
  private readonly ids = new Map<string, { seq: number; tsMs: number }>();
  private linesOnDisk = 0;
  private changed: Deferred<void> = deferred();
  readonly cursors = new Map<string, CursorFile>();
  readonly activeConsumers = new Set<string>();
  /** Per-process delivery counts of the event each durable is stuck on (see file header). */
  readonly attempts = new Map<string, { seq: number; count: number }>();
  deleted = false;

  private constructor(spec: ResolvedStreamSpec, dir: string, journal: AppendJournal, fsync: FsyncPolicy) {
    this.spec = spec;
    this.dir = dir;
    this.journal = journal;
    this.fsync = fsync;
  }

  static async open(
    dir: string,
    spec: ResolvedStreamSpec,
    fsync: FsyncPolicy,
    nowMs: number,
  ): Promise<EmbeddedStream> {
    await mkdir(join(dir, 'consumers'), { recursive: true });
    const logPath = join(dir, 'log.jsonl');
    const { journal, lines } = await AppendJournal.open(logPath, fsync);
    const stream = new EmbeddedStream(spec, dir, journal, fsync);
    try {
      stream.load(logPath, lines);
      stream.linesOnDisk = lines.length;
      stream.rebuildIds(nowMs);
      for (const name of await readdir(join(dir, 'consumers'))) {
        if (!name.endsWith('.json')) continue;
        const path = join(dir, 'consumers', name);
        try {
          stream.cursors.set(name.slice(0, -5), JSON.parse(await readFile(path, 'utf8')) as CursorFile);
        } catch (err) {
          throw new CorruptLogError(path, 1, 'unreadable consumer cursor', { cause: err });
        }
      }
      await stream.applyRetention(nowMs, true);
    } catch (err) {
      await journal.close().catch(() => {});
      throw err;
    }
    return stream;
  }

  private load(path: string, lines: readonly string[]): void {
    const { base, entries } = parseStreamLines(path, lines);
    this.entries = entries;
    this.lastSeq = entries.at(-1)?.seq ?? base;
    for (const e of entries) this.lastTsMs = Math.max(this.lastTsMs, e.tsMs);
    this.committedSeq = this.lastSeq;
  }

  private rebuildIds(nowMs: number): void {
    this.ids.clear();
    const since = nowMs - this.spec.duplicateWindowMs;
    for (const e of this.entries) if (e.tsMs > since) this.ids.set(e.id, { seq: e.seq, tsMs: e.tsMs });
  }

  private pruneIds(nowMs: number): void {
    const since = nowMs - this.spec.duplicateWindowMs;
    for (const [id, v] of this.ids) {
      if (v.tsMs > since) break;
      this.ids.delete(id);
    }
  }

  /** Appends (de-duplicating by id); resolves once the new events are on disk. */
  async append(msgs: readonly OutgoingMessage[], nowMs: number): Promise<PublishAck[]> {
    if (this.deleted) throw new StreamNotFoundError(this.spec.name);
    this.pruneIds(nowMs);
    const acks: PublishAck[] = [];
    const lines: string[] = [];
    let maxSeq = 0;
    for (const m of msgs) {
      const seen = this.ids.get(m.id);
      if (seen) {
        acks.push({ stream: this.spec.name, seq: seen.seq, duplicate: true });
        continue;
      }
      // Timestamps never go backwards, so time-range reads can binary-search.
      const tsMs = Math.max(nowMs, this.lastTsMs);
      this.lastTsMs = tsMs;
      const entry: Entry = {
        seq: ++this.lastSeq,
        tsMs,
        subject: m.subject,
        id: m.id,
        data: new Uint8Array(m.data),
        ...(m.headers ? { headers: { ...m.headers } } : {}),
      };
      this.entries.push(entry);
      this.ids.set(m.id, { seq: entry.seq, tsMs });
      lines.push(entryLine(entry));
      maxSeq = entry.seq;
      acks.push({ stream: this.spec.name, seq: entry.seq, duplicate: false });
    }
    if (lines.length === 0) {
      // Only duplicates: the first copy may still be in flight; answer once it is on disk.
      await this.journal.flushed();
      await this.journal.append([]);
      return acks;
    }
    await this.journal.append(lines);
    this.linesOnDisk += lines.length;
    if (maxSeq > this.committedSeq) this.committedSeq = maxSeq;
    this.notify();
    return acks;
  }

  private notify(): void {
    const d = this.changed;
    this.changed = deferred();
    d.resolve();
  }

  /** Settles on the next commit (or deletion). */
  nextChange(): Promise<void> {
    return this.changed.promise;
  }

  get committed(): number {
    return this.committedSeq;
  }

  /** The committed event with this seq, or the first one after it if it was trimmed. */
  entryAtOrAfter(seq: number): Entry | undefined {
    const first = this.entries[0];
    if (!first) return undefined;
    const idx = Math.max(seq - first.seq, 0);
    const e = this.entries[idx];
    return e && e.seq <= this.committedSeq ? e : undefined;
  }

  /** Seq of the first committed event stored at or after `tsMs` (committed + 1 if none). */
  seqAtTime(tsMs: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.entries[mid] as Entry).tsMs < tsMs) lo = mid + 1;
      else hi = mid;
    }
    const e = this.entries[lo];
    return e ? e.seq : this.committedSeq + 1;
  }

  state(): StreamState {
    const first = this.entries[0];
    const committed = first && first.seq <= this.committedSeq ? this.committedSeq - first.seq + 1 : 0;
    const firstSeq =
      committed > 0 ? (first as Entry).seq : this.committedSeq === 0 ? 0 : this.committedSeq + 1;
    return { firstSeq, lastSeq: this.committedSeq, messages: committed };
  }

  /**
   * Drops events older than maxAge. The file is compacted when at least half its lines are
   * dead (or `forceCompact` and any are), so retention does not rewrite a big file each run.
   */
  async applyRetention(nowMs: number, forceCompact = false): Promise<void> {
    if (this.spec.maxAgeMs > 0) {
      const cut = nowMs - this.spec.maxAgeMs;
      let n = 0;
      while (n < this.entries.length) {
        const e = this.entries[n] as Entry;
        if (e.tsMs >= cut || e.seq > this.committedSeq) break;
        n++;
      }
      if (n > 0) this.entries.splice(0, n);
    }
    this.pruneIds(nowMs);
    const dead = this.linesOnDisk - this.entries.length;
    if (dead > 0 && (forceCompact || dead * 2 >= this.linesOnDisk)) {
      await this.journal.rewrite(() => {
        const first = this.entries[0];
        const base = first ? first.seq - 1 : this.lastSeq;
        this.linesOnDisk = this.entries.length + 1;
        return [JSON.stringify({ base }), ...this.entries.map(entryLine)];
      });
    }
  }

  async saveCursor(durable: string, cursor: CursorFile): Promise<void> {
    this.cursors.set(durable, cursor);
    await writeFileAtomic(join(this.dir, 'consumers', `${durable}.json`), JSON.stringify(cursor), this.fsync);
  }

  async close(): Promise<void> {
    await this.journal.close();
  }

  /** Wakes every waiter so loops notice deletion/closing. */
  wake(): void {
    this.notify();
  }
}

type LoopKind = 'consumer' | 'tail';

/** A delivery loop: a durable consumer (acks move a persisted cursor) or a tail (no acks). */
class DeliveryLoop {
  private stopped = false;
  private readonly stopSignal = deferred<void>();
  private readonly done = deferred<void>();
  private cursorWrite: Promise<void> | undefined;
  readonly closed: Promise<void>;

  constructor(
    private readonly kind: LoopKind,
    private readonly stream: EmbeddedStream,
    private readonly filterSubject: string | undefined,
    /** Last handled sequence: the next delivery is the first match after it. */
    private floor: number,
    private readonly handler: MessageHandler,
    private readonly opts: ResolvedConsumeOptions | undefined,
    readonly failures: ConsumerFailures | undefined,
    private readonly onEnd: () => void,
  ) {
    this.closed = handledPromise(this.done.promise);
  }

  start(): void {
    this.run().then(
      () => {
        this.onEnd();
        this.done.resolve();
      },
      (err) => {
        this.onEnd();
        this.done.reject(err);
      },
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopSignal.resolve();
    // Never waits for an in-flight handler (stop may be called from inside it), only for a
    // cursor write already under way, so a closed log leaves no half-done file work behind.
    await this.cursorWrite;
  }

  private async run(): Promise<void> {
    const name = this.stream.spec.name;
    while (!this.stopped) {
      if (this.stream.deleted) throw new StreamNotFoundError(name);
      const change = this.stream.nextChange();
      const next = this.nextMatch();
      if (!next) {
        await Promise.race([change, this.stopSignal.promise]);
        continue;
      }
      if (this.kind === 'tail') {
        await this.handler(toStored(name, next, 1));
        this.floor = next.seq;
        continue;
      }
      const opts = this.opts as ResolvedConsumeOptions;
      const prev = this.stream.attempts.get(opts.durable);
      const count = prev && prev.seq === next.seq ? prev.count + 1 : 1;
      this.stream.attempts.set(opts.durable, { seq: next.seq, count });
      const failures = this.failures as ConsumerFailures;
      const stored = toStored(name, next, count);
      let failed = false;
      let error: unknown;
      try {
        await this.handler(stored);
      } catch (err) {
        failed = true;
        error = err;
      }
      // Stopped (the process "died") while the handler ran: no ack, it is redelivered.
      if (this.stopped) break;
      if (this.stream.deleted) throw new StreamNotFoundError(name);
      if (failed) {
        const outcome = failures.record(stored, count, error);
        if (outcome === 'retry') {
          await sleep(nakDelayFor(opts.nakDelayMs, count), { stop: this.stopSignal.promise });
          continue;
        }
        if (outcome === 'stopped') {
          // The cursor stays: the next consumer of this durable gets the event again.
          this.stream.attempts.delete(opts.durable);
          this.stopped = true;
          throw failures.poisonError(stored, count, error);
        }
      } else {
        failures.ack();
      }
      // Acked (or parked after maxDeliver): the cursor moves before the next delivery.
      this.floor = next.seq;
      this.stream.attempts.delete(opts.durable);
      this.cursorWrite = this.stream.saveCursor(opts.durable, {
        filterSubject: this.filterSubject ?? null,
        ackFloor: next.seq,
      });
      await this.cursorWrite;
      this.cursorWrite = undefined;
    }
  }

  /** The first committed event after the floor that matches the filter; skips past the rest. */
  private nextMatch(): Entry | undefined {
    for (;;) {
      const e = this.stream.entryAtOrAfter(this.floor + 1);
      if (!e) return undefined;
      if (!this.filterSubject || subjectMatches(this.filterSubject, e.subject)) return e;
      // Not ours: skip without a cursor write; after a restart the scan just repeats.
      this.floor = e.seq;
    }
  }
}

export class EmbeddedEventLog implements EventLog {
  private readonly streams = new Map<string, EmbeddedStream>();
  private readonly loops = new Set<DeliveryLoop>();
  private readonly nowMs: () => number;
  private readonly fsync: FsyncPolicy;
  private readonly streamsDir: string;
  private readonly logger: EventLogLogger;
  private closed = false;
  private retentionTimer: NodeJS.Timeout | undefined;
  private retentionRun: Promise<void> | undefined;

  private constructor(
    readonly dataDir: string,
    opts: EmbeddedEventLogOptions,
    private readonly unlock: () => Promise<void>,
  ) {
    this.nowMs = opts.nowMs ?? Date.now;
    this.fsync = opts.fsync ?? 'always';
    this.streamsDir = join(dataDir, 'streams');
    this.logger = opts.logger ?? STDERR_EVENTLOG_LOGGER;
  }

  /** Opens (creating) the log in `dataDir`, rebuilding every stream from its files. */
  static async open(opts: EmbeddedEventLogOptions): Promise<EmbeddedEventLog> {
    if (typeof opts?.dataDir !== 'string' || opts.dataDir.length === 0) {
      throw new ValidationError('dataDir', `must be a directory path, got ${JSON.stringify(opts?.dataDir)}`);
    }
    const unlock = await lockDir(opts.dataDir);
    const log = new EmbeddedEventLog(opts.dataDir, opts, unlock);
    try {
      await mkdir(log.streamsDir, { recursive: true });
      for (const name of await readdir(log.streamsDir)) {
        const dir = join(log.streamsDir, name);
        let spec: ResolvedStreamSpec;
        try {
          spec = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as ResolvedStreamSpec;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // created, never finished
          throw new CorruptLogError(join(dir, 'meta.json'), 1, 'unreadable stream meta', { cause: err });
        }
        log.streams.set(spec.name, await EmbeddedStream.open(dir, spec, log.fsync, log.nowMs()));
      }
    } catch (err) {
      await Promise.all([...log.streams.values()].map((s) => s.close()));
      await unlock();
      throw err;
    }
    const every = opts.retentionIntervalMs ?? 60_000;
    if (every > 0) {
      log.retentionTimer = setInterval(() => {
        log.retentionRun ??= log.applyRetention().finally(() => {
          log.retentionRun = undefined;
        });
        // A failed compaction poisons that stream's journal; publishes then report it.
        log.retentionRun.catch(() => {});
      }, every);
      log.retentionTimer.unref();
    }
    return log;
  }

  private assertOpen(): void {
    if (this.closed) throw new EventLogClosedError();
  }

  private stream(name: string): EmbeddedStream {
    const s = this.streams.get(name);
    if (!s) throw new StreamNotFoundError(name);
    return s;
  }

  private streamForSubject(subject: string): EmbeddedStream {
    for (const s of this.streams.values()) {
      if (s.spec.subjects.some((f) => subjectMatches(f, subject))) return s;
    }
    throw new NoStreamForSubjectError(subject);
  }

  async ensureStreams(specs: readonly StreamSpec[]): Promise<void> {
    this.assertOpen();
    const resolved = specs.map((s, i) => resolveStreamSpec(s, i));
    // Overlap check against the final picture, as JetStream does per stream.
    const finalSubjects = new Map<string, readonly string[]>();
    for (const [name, s] of this.streams) finalSubjects.set(name, s.spec.subjects);
    for (const r of resolved) finalSubjects.set(r.name, r.subjects);
    for (const r of resolved) {
      for (const [other, subjects] of finalSubjects) {
        if (other === r.name) continue;
        const clash = r.subjects.find((a) => subjects.some((b) => subjectsOverlap(a, b)));
        if (clash)
          throw new StreamConfigError(r.name, `subject ${JSON.stringify(clash)} overlaps stream ${other}`);
      }
    }
    for (const spec of resolved) {
      const dir = join(this.streamsDir, spec.name);
      const existing = this.streams.get(spec.name);
      if (JSON.stringify(existing?.spec) !== JSON.stringify(spec)) {
        await mkdir(dir, { recursive: true });
        await writeFileAtomic(join(dir, 'meta.json'), JSON.stringify(spec), this.fsync);
      }
      if (existing) {
        existing.spec = spec;
        await existing.applyRetention(this.nowMs());
      } else {
        this.streams.set(spec.name, await EmbeddedStream.open(dir, spec, this.fsync, this.nowMs()));
      }
    }
  }

  async publish(msg: OutgoingMessage): Promise<PublishAck> {
    this.assertOpen();
    validateOutgoing(msg);
    const [ack] = await this.streamForSubject(msg.subject).append([msg], this.nowMs());
    return ack as PublishAck;
  }

  async publishBatch(msgs: readonly OutgoingMessage[]): Promise<PublishAck[]> {
    this.assertOpen();
    for (const [i, m] of msgs.entries()) validateOutgoing(m, `msgs[${i}]`);
    // One journal write per stream; acks go back to input order.
    const byStream = new Map<EmbeddedStream, number[]>();
    msgs.forEach((m, i) => {
      const s = this.streamForSubject(m.subject);
      const list = byStream.get(s) ?? [];
      list.push(i);
      byStream.set(s, list);
    });
    const acks: PublishAck[] = new Array(msgs.length);
    const now = this.nowMs();
    await Promise.all(
      [...byStream].map(async ([s, idx]) => {
        const got = await s.append(
          idx.map((i) => msgs[i] as OutgoingMessage),
          now,
        );
        idx.forEach((i, k) => {
          acks[i] = got[k] as PublishAck;
        });
      }),
    );
    return acks;
  }

  async consume(opts: ConsumeOptions, handler: MessageHandler): Promise<ConsumerHandle> {
    this.assertOpen();
    const o = resolveConsumeOptions(opts);
    const stream = this.stream(o.stream);
    if (stream.activeConsumers.has(o.durable)) {
      // JetStream would share the work; one process has no use for that, and serial
      // in-order delivery is the point, so a second live consumer is refused.
      throw new ConsumerConfigError(o.stream, o.durable, 'already being consumed in this process');
    }
    let cursor = stream.cursors.get(o.durable);
    if (!cursor) {
      const p = o.deliverPolicy;
      const ackFloor =
        p === 'all'
          ? 0
          : p === 'new'
            ? stream.committed
            : 'startSeq' in p
              ? p.startSeq - 1
              : stream.seqAtTime(p.startTimeMs) - 1;
      cursor = { filterSubject: o.filterSubject ?? null, ackFloor };
      await stream.saveCursor(o.durable, cursor);
    } else if ((cursor.filterSubject ?? undefined) !== o.filterSubject) {
      // The position is kept; only the filter changes (as a JetStream consumer update does).
      cursor = { ...cursor, filterSubject: o.filterSubject ?? null };
      await stream.saveCursor(o.durable, cursor);
    }
    stream.activeConsumers.add(o.durable);
    const failures = new ConsumerFailures(o, this.logger);
    const loop = new DeliveryLoop(
      'consumer',
      stream,
      o.filterSubject,
      cursor.ackFloor,
      handler,
      o,
      failures,
      () => {
        stream.activeConsumers.delete(o.durable);
        this.loops.delete(loop);
      },
    );
    this.loops.add(loop);
    loop.start();
    return { stop: () => loop.stop(), closed: loop.closed, stats: () => failures.stats() };
  }

  read(opts: ReadOptions): AsyncIterable<StoredMessage> {
    const o = resolveReadOptions(opts);
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        self.assertOpen();
        const stream = self.stream(o.stream);
        const endSeq = Math.min(o.toSeq, stream.committed);
        let seq = o.fromSeq;
        if (o.fromTimeMs !== undefined) seq = Math.max(seq, stream.seqAtTime(o.fromTimeMs));
        while (seq <= endSeq) {
          if (self.closed) throw new EventLogClosedError();
          const e = stream.entryAtOrAfter(seq);
          if (!e || e.seq > endSeq) return;
          if (o.toTimeMs !== undefined && e.tsMs > o.toTimeMs) return;
          seq = e.seq + 1;
          if (o.filterSubject && !subjectMatches(o.filterSubject, e.subject)) continue;
          yield toStored(stream.spec.name, e, 1);
        }
      },
    };
  }

  async tail(filterSubject: string, opts: TailOptions, handler: MessageHandler): Promise<TailHandle> {
    this.assertOpen();
    const filter = validateFilterSubject('tail.filterSubject', filterSubject);
    const { startSeq } = resolveTailOptions(opts);
    const matching = [...this.streams.values()].filter((s) =>
      s.spec.subjects.some((f) => subjectsOverlap(f, filter)),
    );
    if (matching.length === 0) throw new NoStreamForSubjectError(filter);
    if (matching.length > 1) {
      throw new ValidationError('tail.filterSubject', `${JSON.stringify(filter)} spans several streams`);
    }
    const stream = matching[0] as EmbeddedStream;
    const floor = startSeq === 'new' ? stream.committed : startSeq - 1;
    const loop = new DeliveryLoop('tail', stream, filter, floor, handler, undefined, undefined, () =>
      this.loops.delete(loop),
    );
    this.loops.add(loop);
    loop.start();
    return { stop: () => loop.stop(), closed: loop.closed };
  }

  async streamInfo(name: string): Promise<StreamState> {
    this.assertOpen();
    return this.stream(validateName('stream', name)).state();
  }

  async deleteStream(name: string): Promise<boolean> {
    this.assertOpen();
    const stream = this.streams.get(validateName('stream', name));
    if (!stream) return false;
    this.streams.delete(name);
    stream.deleted = true;
    stream.wake();
    await stream.close();
    await rm(stream.dir, { recursive: true, force: true });
    return true;
  }

  /** Applies maxAge retention to every stream now (also runs on open and on a timer). */
  async applyRetention(): Promise<void> {
    this.assertOpen();
    for (const s of this.streams.values()) await s.applyRetention(this.nowMs());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    await this.retentionRun?.catch(() => {});
    await Promise.all([...this.loops].map((l) => l.stop()));
    for (const s of this.streams.values()) s.wake();
    await Promise.all([...this.streams.values()].map((s) => s.close()));
    await this.unlock();
  }
}
