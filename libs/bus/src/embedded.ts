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
 * Memory: only the newest `memoryEntries` events per stream, and of them no more than about
 * `memoryBytes` of data (the newest index block always), are held (and a few blocks of
 * older ones being read); the rest are read back from the file through a sparse index, one
 * byte offset per 256 events. Opening scans the file a chunk at a time; compaction copies
 * the retained bytes file to file. `redelivered`/`deliveryCount` are counted per process: after a restart the
 * first redelivery of an unacked event reports deliveryCount 1.
 */
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { raceStop, sleep, ValidationError } from '@perpmesh/core';
import { type Deferred, deferred, handledPromise } from './async.js';
import {
  type EmbeddedEntry,
  entryLine,
  parseEntryLine,
  StreamLineParser,
  toStored,
} from './embedded-format.js';
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
  /**
   * Newest events per stream held in memory (default `DEFAULT_MEMORY_ENTRIES`); older
   * retained events are read back from the stream's file through a sparse index.
   */
  readonly memoryEntries?: number;
  /**
   * And at most about this many bytes of event data per stream in memory (default
   * `DEFAULT_MEMORY_BYTES`): a stream of large events (the strategy's input journal, ~4 KB
   * each) would otherwise hold ~20 MB and take an hour to fill its window.
   */
  readonly memoryBytes?: number;
}

/** Default of `EmbeddedEventLogOptions.memoryEntries`. */
export const DEFAULT_MEMORY_ENTRIES = 4096;
/**
 * Default of `EmbeddedEventLogOptions.memoryBytes`: ~2,500 typical events (300-450 bytes),
 * which consumers and tails near the head read from memory; at `make run`'s rates every
 * stream's window is full within ~10 minutes of the start, so the process's size levels off
 * then instead of after an hour. Older events cost a read of the file.
 */
export const DEFAULT_MEMORY_BYTES = 1024 * 1024;

type Entry = EmbeddedEntry;

/** How much of a stream's newest events stays in memory: both bounds hold. */
interface MemoryBounds {
  readonly entries: number;
  readonly bytes: number;
}

interface CursorFile {
  filterSubject: string | null;
  ackFloor: number;
}

/** An event and where its line starts in the stream file. */
interface Located {
  readonly entry: Entry;
  readonly offset: number;
}

/** One point of the sparse file index: the first event of a block and where its line starts. */
interface IndexBlock {
  readonly firstSeq: number;
  readonly firstTsMs: number;
  offset: number;
}

/** Events per index block: the index holds one point per this many events. */
const INDEX_BLOCK_EVENTS = 256;
/** Blocks read back from the file kept decoded (sequential readers read each block once). */
const CACHED_BLOCKS = 4;

/**
 * One stream: its file, the newest events in memory, a sparse index (one byte offset per
 * `INDEX_BLOCK_EVENTS` events) through which older events are read back from the file, its
 * de-duplication ids, its live listeners.
 */
class EmbeddedStream {
  spec: ResolvedStreamSpec;
  readonly dir: string;
  private readonly logPath: string;
  private journal!: AppendJournal;
  private readonly fsync: FsyncPolicy;
  private readonly memoryEntries: number;
  private readonly memoryBytes: number;
  /** The newest events (committed or being written), contiguous, the last one `lastSeq`. */
  private recent: Located[] = [];
  /** Bytes of event data in `recent`. */
  private recentBytes = 0;
  /** Sparse index of the retained events, in seq order; its first block may start before `firstSeq`. */
  private blocks: IndexBlock[] = [];
  /** Blocks read back from the file, by first seq (a few, most recently used last). */
  private readonly blockCache = new Map<number, Located[]>();
  /** Bumped when compaction replaces the file: a read begun before it is retried. */
  private fileGeneration = 0;
  /** First retained sequence (`lastSeq + 1` when none is). */
  private firstSeq = 1;
  /** Last assigned sequence (events past `committedSeq` are being written). */
  private lastSeq = 0;
  /** Last sequence known to be on disk: the only events readers and consumers see. */
  private committedSeq = 0;
  private lastTsMs = 0;
  /** Byte offset in the file where the next appended line starts. */
  private nextOffset = 0;
  /** id -> seq/time, in insertion (= seq) order, so expired ids are pruned from the front. */
  private readonly ids = new Map<string, { seq: number; tsMs: number }>();
  private linesOnDisk = 0;
  private changed: Deferred<void> = deferred();
  readonly cursors = new Map<string, CursorFile>();
  readonly activeConsumers = new Set<string>();
  /** Per-process delivery counts of the event each durable is stuck on (see file header). */
  readonly attempts = new Map<string, { seq: number; count: number }>();
  deleted = false;

  private constructor(spec: ResolvedStreamSpec, dir: string, fsync: FsyncPolicy, memory: MemoryBounds) {
    this.spec = spec;
    this.dir = dir;
    this.logPath = join(dir, 'log.jsonl');
    this.fsync = fsync;
    this.memoryEntries = memory.entries;
    this.memoryBytes = memory.bytes;
  }

  static async open(
    dir: string,
    spec: ResolvedStreamSpec,
    fsync: FsyncPolicy,
    nowMs: number,
    memory: MemoryBounds,
  ): Promise<EmbeddedStream> {
    await mkdir(join(dir, 'consumers'), { recursive: true });
    const stream = new EmbeddedStream(spec, dir, fsync, memory);
    // Indexed line by line as the file is read: only the newest events stay in memory.
    const parser = new StreamLineParser(stream.logPath);
    const since = nowMs - spec.duplicateWindowMs;
    let lines = 0;
    const { journal, bytes } = await AppendJournal.openScanning(stream.logPath, fsync, (line, offset) => {
      lines += 1;
      const entry = parser.next(line);
      if (!entry) return;
      stream.index({ entry, offset });
      if (entry.tsMs > since) stream.ids.set(entry.id, { seq: entry.seq, tsMs: entry.tsMs });
    });
    stream.journal = journal;
    try {
      stream.firstSeq = parser.base + 1;
      stream.lastSeq = parser.last;
      stream.committedSeq = parser.last;
      stream.linesOnDisk = lines;
      stream.nextOffset = bytes;
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

  /** Adds the newest event to the index and the in-memory window (trimmed to `memoryEntries` and `memoryBytes`). */
  private index(located: Located): void {
    const { entry } = located;
    const last = this.blocks.at(-1);
    if (!last || entry.seq - last.firstSeq >= INDEX_BLOCK_EVENTS) {
      this.blocks.push({ firstSeq: entry.seq, firstTsMs: entry.tsMs, offset: located.offset });
    }
    this.recent.push(located);
    this.recentBytes += located.entry.data.byteLength;
    // Trimmed in batches, so the window is not shifted on every append.
    if (this.recent.length > this.memoryEntries + INDEX_BLOCK_EVENTS) {
      this.dropOldestRecent(this.recent.length - this.memoryEntries);
    }
    // By bytes too (in batches as well), but never the newest index block: it is read from
    // memory while its last events may still be being written.
    if (this.recentBytes > this.memoryBytes * 1.25) {
      const oldest = (this.recent[0] as Located).entry.seq;
      const keepFrom = Math.max(0, (this.blocks.at(-1)?.firstSeq ?? oldest) - oldest);
      let drop = 0;
      for (let bytes = this.recentBytes; bytes > this.memoryBytes && drop < keepFrom; drop++) {
        bytes -= (this.recent[drop] as Located).entry.data.byteLength;
      }
      this.dropOldestRecent(drop);
    }
    this.lastSeq = entry.seq;
    this.lastTsMs = Math.max(this.lastTsMs, entry.tsMs);
  }

  /** Drops the `count` oldest events of the in-memory window (they stay readable from the file). */
  private dropOldestRecent(count: number): void {
    for (const dropped of this.recent.splice(0, count)) this.recentBytes -= dropped.entry.data.byteLength;
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
      const entry: Entry = {
        seq: this.lastSeq + 1,
        tsMs,
        subject: m.subject,
        id: m.id,
        data: new Uint8Array(m.data),
        ...(m.headers ? { headers: { ...m.headers } } : {}),
      };
      const line = entryLine(entry);
      // Lines are written in the order they are made here, so each one's offset is known now.
      this.index({ entry, offset: this.nextOffset });
      this.nextOffset += Buffer.byteLength(line) + 1;
      this.ids.set(m.id, { seq: entry.seq, tsMs });
      lines.push(line);
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

  /** Events held in memory now (the newest window and the cached blocks) and index points. */
  memory(): { readonly eventsInMemory: number; readonly indexBlocks: number } {
    let cached = 0;
    for (const block of this.blockCache.values()) cached += block.length;
    return { eventsInMemory: this.recent.length + cached, indexBlocks: this.blocks.length };
  }

  /** The committed event with this seq, or the first one after it if it was trimmed. */
  async entryAtOrAfter(seq: number): Promise<Entry | undefined> {
    const wanted = Math.max(seq, this.firstSeq);
    if (wanted > this.committedSeq) return undefined;
    return (await this.locate(wanted))?.entry;
  }

  /** A retained event by seq: from the in-memory window, else read back through the index. */
  private async locate(seq: number): Promise<Located | undefined> {
    const newest = this.recent[0];
    if (newest && seq >= newest.entry.seq) return this.recent[seq - newest.entry.seq];
    const i = this.blockIndexOf(seq);
    if (i < 0) return undefined;
    const block = await this.loadBlock(i);
    const first = block[0];
    return first ? block[seq - first.entry.seq] : undefined;
  }

  /** Index of the block holding `seq` (the last block starting at or before it); -1 if none. */
  private blockIndexOf(seq: number): number {
    let lo = 0;
    let hi = this.blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.blocks[mid] as IndexBlock).firstSeq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** The events of block `i`, from memory when the window covers it, else read from the file. */
  private async loadBlock(i: number): Promise<Located[]> {
    for (;;) {
      const block = this.blocks[i] as IndexBlock;
      const newest = this.recent[0];
      if (newest && block.firstSeq >= newest.entry.seq) {
        const from = block.firstSeq - newest.entry.seq;
        return this.recent.slice(from, from + INDEX_BLOCK_EVENTS);
      }
      const cached = this.blockCache.get(block.firstSeq);
      if (cached) {
        this.blockCache.delete(block.firstSeq);
        this.blockCache.set(block.firstSeq, cached);
        return cached;
      }
      const generation = this.fileGeneration;
      const end = this.blocks[i + 1]?.offset ?? this.nextOffset;
      const located = await this.readLines(block.offset, end - block.offset);
      // Compaction replaced the file while it was read: the offsets moved, read again.
      if (generation !== this.fileGeneration || this.blocks[i] !== block) {
        const again = this.blockIndexOf(block.firstSeq);
        if (again < 0) return [];
        i = again;
        continue;
      }
      const first = located[0];
      if (!first) return located; // its events are still being written
      if (first.entry.seq !== block.firstSeq) {
        throw new CorruptLogError(
          this.logPath,
          0,
          `index block at byte ${block.offset} does not start with sequence ${block.firstSeq}`,
        );
      }
      // Only a whole block is kept: the newest one may still be growing.
      const next = this.blocks[i + 1];
      if (!next || located.length !== next.firstSeq - block.firstSeq) return located;
      this.blockCache.set(block.firstSeq, located);
      for (const key of this.blockCache.keys()) {
        if (this.blockCache.size <= CACHED_BLOCKS) break;
        this.blockCache.delete(key);
      }
      return located;
    }
  }

  /** The complete event lines in `length` bytes of the file from `offset`. */
  private async readLines(offset: number, length: number): Promise<Located[]> {
    const buf = Buffer.alloc(Math.max(0, length));
    const fh = await open(this.logPath, 'r');
    let got = 0;
    try {
      while (got < buf.length) {
        const { bytesRead } = await fh.read(buf, got, buf.length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
    } finally {
      await fh.close();
    }
    const out: Located[] = [];
    let start = 0;
    for (let nl = buf.indexOf(0x0a, start); nl >= 0 && nl < got; nl = buf.indexOf(0x0a, start)) {
      const parsed = parseEntryLine(this.logPath, 0, buf.toString('utf8', start, nl));
      if (!('base' in parsed)) out.push({ entry: parsed, offset: offset + start });
      start = nl + 1;
    }
    return out;
  }

  /** Seq of the first event stored at or after `tsMs` (committed + 1 if none). */
  async seqAtTime(tsMs: number): Promise<number> {
    // Timestamps never go backwards: the last block starting before tsMs holds the answer, or the next one starts it.
    let lo = 0;
    let hi = this.blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.blocks[mid] as IndexBlock).firstTsMs < tsMs) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) {
      for (const { entry } of await this.loadBlock(lo - 1)) {
        if (entry.seq >= this.firstSeq && entry.tsMs >= tsMs) return entry.seq;
      }
    }
    const next = this.blocks[lo];
    return next ? Math.max(next.firstSeq, this.firstSeq) : this.committedSeq + 1;
  }

  state(): StreamState {
    const committed = this.firstSeq <= this.committedSeq ? this.committedSeq - this.firstSeq + 1 : 0;
    const firstSeq = committed > 0 ? this.firstSeq : this.committedSeq === 0 ? 0 : this.committedSeq + 1;
    return { firstSeq, lastSeq: this.committedSeq, messages: committed };
  }

  /**
   * Drops events older than maxAge. The file is compacted when at least half its lines are
   * dead (or `forceCompact` and any are), so retention does not rewrite a big file each run.
   */
  async applyRetention(nowMs: number, forceCompact = false): Promise<void> {
    if (this.spec.maxAgeMs > 0) {
      // Never past what is on disk: events being written are not dropped.
      const keepFrom = Math.min(await this.seqAtTime(nowMs - this.spec.maxAgeMs), this.committedSeq + 1);
      if (keepFrom > this.firstSeq) this.dropBefore(keepFrom);
    }
    this.pruneIds(nowMs);
    const retained = this.lastSeq - this.firstSeq + 1;
    const dead = this.linesOnDisk - retained;
    if (dead > 0 && (forceCompact || dead * 2 >= this.linesOnDisk)) await this.compact();
  }

  private dropBefore(seq: number): void {
    this.firstSeq = seq;
    const newest = this.recent[0];
    if (newest && newest.entry.seq < seq)
      this.dropOldestRecent(Math.min(this.recent.length, seq - newest.entry.seq));
    const keep = Math.max(0, this.blockIndexOf(seq));
    if (keep > 0) {
      for (const b of this.blocks.slice(0, keep)) this.blockCache.delete(b.firstSeq);
      this.blocks.splice(0, keep);
    }
    if (this.firstSeq > this.lastSeq) {
      this.blocks = [];
      this.blockCache.clear();
    }
  }

  /** Rewrites the file as a base line and the retained events' lines (copied, never all in memory). */
  private async compact(): Promise<void> {
    const first = this.firstSeq <= this.lastSeq ? await this.locate(this.firstSeq) : undefined;
    const base = this.firstSeq - 1;
    await this.journal.rewriteTail(JSON.stringify({ base }), first?.offset ?? this.nextOffset, (shift) => {
      // Synchronously with the file swap: every offset made so far moves with its bytes.
      this.fileGeneration += 1;
      this.blockCache.clear();
      this.nextOffset += shift;
      const firstBlock = this.blocks[0];
      if (first && firstBlock && firstBlock.firstSeq < first.entry.seq) {
        this.blocks[0] = { firstSeq: first.entry.seq, firstTsMs: first.entry.tsMs, offset: first.offset };
      }
      for (const b of this.blocks) b.offset += shift;
      this.recent = this.recent.map((l) => ({ entry: l.entry, offset: l.offset + shift }));
      this.linesOnDisk = this.lastSeq - this.firstSeq + 2;
    });
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
      const next = await this.nextMatch();
      if (!next) {
        // Not Promise.race: one turn per event would pile reactions on the stop promise.
        await raceStop(change, this.stopSignal.promise);
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
  private async nextMatch(): Promise<Entry | undefined> {
    for (;;) {
      const e = await this.stream.entryAtOrAfter(this.floor + 1);
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
  private readonly memory: MemoryBounds;
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
    this.memory = {
      entries: opts.memoryEntries ?? DEFAULT_MEMORY_ENTRIES,
      bytes: opts.memoryBytes ?? DEFAULT_MEMORY_BYTES,
    };
  }

  /** Opens (creating) the log in `dataDir`, rebuilding every stream from its files. */
  static async open(opts: EmbeddedEventLogOptions): Promise<EmbeddedEventLog> {
    if (typeof opts?.dataDir !== 'string' || opts.dataDir.length === 0) {
      throw new ValidationError('dataDir', `must be a directory path, got ${JSON.stringify(opts?.dataDir)}`);
    }
    for (const field of ['memoryEntries', 'memoryBytes'] as const) {
      const value = opts[field];
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
        throw new ValidationError(field, `must be a whole number >= 0, got ${JSON.stringify(value)}`);
      }
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
        log.streams.set(spec.name, await EmbeddedStream.open(dir, spec, log.fsync, log.nowMs(), log.memory));
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
        this.streams.set(
          spec.name,
          await EmbeddedStream.open(dir, spec, this.fsync, this.nowMs(), this.memory),
        );
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
              : (await stream.seqAtTime(p.startTimeMs)) - 1;
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
        if (o.fromTimeMs !== undefined) seq = Math.max(seq, await stream.seqAtTime(o.fromTimeMs));
        if (o.lastPerSubject) {
          // The newest per subject in the whole stream, as JetStream's last_per_subject; then the range.
          const newest = new Map<string, Entry>();
          for (let at = seq; at <= stream.committed; ) {
            if (self.closed) throw new EventLogClosedError();
            const e = await stream.entryAtOrAfter(at);
            if (!e) break;
            at = e.seq + 1;
            if (!o.filterSubject || subjectMatches(o.filterSubject, e.subject)) newest.set(e.subject, e);
          }
          const inRange = [...newest.values()].filter(
            (e) => e.seq <= endSeq && (o.toTimeMs === undefined || e.tsMs <= o.toTimeMs),
          );
          for (const e of inRange.sort((a, b) => a.seq - b.seq)) yield toStored(stream.spec.name, e, 1);
          return;
        }
        while (seq <= endSeq) {
          if (self.closed) throw new EventLogClosedError();
          const e = await stream.entryAtOrAfter(seq);
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

  /**
   * Per stream: events held in memory now (the newest `memoryEntries` and a few blocks read
   * back from the file) and the points of its sparse file index. Bounded while the log grows.
   */
  memoryUse(): { readonly stream: string; readonly eventsInMemory: number; readonly indexBlocks: number }[] {
    return [...this.streams].map(([stream, s]) => ({ stream, ...s.memory() }));
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
