/**
 * The outbox: where a publisher keeps an event until its ack arrives, so that a restart
 * resends what was never acknowledged (with the original id; JetStream's de-duplication
 * drops the ones that did land). See README.md "Durability".
 */

import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import type { OutgoingMessage } from './eventlog.js';
import { AppendJournal, completeLines, type FsyncPolicy, syncDir, writeFileAtomic } from './files.js';
import {
  addRecordId,
  decodeLegacyLine,
  decodeRecord,
  encodeAdds,
  encodeRemove,
  forEachRecord,
  OUTBOX_FILE_HEADER,
  type OutboxRecord,
  scanOutboxJournal,
} from './outbox-format.js';

export interface OutboxEntry extends OutgoingMessage {
  /** When it entered the outbox (publisher clock). */
  readonly addedAtMs: number;
}

export interface Outbox {
  /** Durably records messages about to be published. Resolves once they would survive a crash. */
  add(msgs: readonly OutgoingMessage[]): Promise<void>;
  /** Forgets acknowledged messages. Losing a removal only costs one de-duplicated resend. */
  remove(ids: readonly string[]): Promise<void>;
  /** Entries added and not removed, oldest first. */
  pending(): Promise<OutboxEntry[]>;
  close(): Promise<void>;
}

/** An outbox in memory: survives a reconnect or a new log instance, not a process restart. */
export class InMemoryOutbox implements Outbox {
  private readonly entries = new Map<string, OutboxEntry>();
  private readonly nowMs: () => number;

  constructor(opts: { nowMs?: () => number } = {}) {
    this.nowMs = opts.nowMs ?? Date.now;
  }

  async add(msgs: readonly OutgoingMessage[]): Promise<void> {
    const at = this.nowMs();
    for (const m of msgs) if (!this.entries.has(m.id)) this.entries.set(m.id, { ...copy(m), addedAtMs: at });
  }

  async remove(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.entries.delete(id);
  }

  async pending(): Promise<OutboxEntry[]> {
    return [...this.entries.values()];
  }

  async close(): Promise<void> {}
}

function copy(m: OutgoingMessage): OutgoingMessage {
  return {
    subject: m.subject,
    id: m.id,
    data: new Uint8Array(m.data),
    ...(m.headers ? { headers: { ...m.headers } } : {}),
  };
}

export interface FileOutboxOptions {
  /** Default 'always': an add survives power loss before the publish is attempted. */
  readonly fsync?: FsyncPolicy;
  readonly nowMs?: () => number;
  /** Compact when the journal holds this many more records than live entries. Default 10 000. */
  readonly compactAfterLines?: number;
}

/** The journal's file in an outbox dir (binary, format version 2: outbox-format.ts). */
export const OUTBOX_JOURNAL_FILE = 'outbox.journal';
/** Where builds before format version 2 kept the journal (JSON lines); migrated on open. */
export const LEGACY_OUTBOX_JOURNAL_FILE = 'outbox.jsonl';

/**
 * An outbox in an append-only journal of binary records (`<dir>/outbox.journal`, format in
 * outbox-format.ts): add records and remove records, each with its own checksum. Every
 * `add` call is encoded into one buffer and written with one write; concurrent writes are
 * group-committed (one write and one fsync per batch). Publishers need not wait for a
 * removal: losing one only costs a de-duplicated resend. Compacted on open and when dead
 * records pile up.
 *
 * Live entries are kept in memory as their encoded add records, in the buffers that were
 * written: each message is encoded once, when added (compaction writes the same bytes
 * again; `pending()`, read only at start-up and on a resend, decodes them), and the
 * caller's buffer is not kept (the record is the snapshot). An entry points at the records
 * of its `add` call (no object per message: the ack wait keeps nothing else alive) until a
 * compaction packs the live records into one buffer; a buffer is freed when no live entry
 * points at it.
 *
 * A journal left by an older build (`outbox.jsonl`, JSON lines) is read on open, its
 * pending entries written into the new journal, and then deleted.
 */
export class FileOutbox implements Outbox {
  /**
   * Live entries: id -> the segment that holds its add record (one `add` call's records, or
   * the live records packed by a compaction). A segment can also hold records of entries
   * removed (or re-added elsewhere) since: `liveRecords` checks the pointer back.
   */
  private readonly entries = new Map<string, Segment>();
  private readonly journal: AppendJournal;
  private readonly nowMs: () => number;
  private readonly compactAfterLines: number;
  /** Records in the journal file (live or dead). */
  private records: number;
  private compacting: Promise<void> | undefined;

  private constructor(
    journal: AppendJournal,
    live: Map<string, Buffer>,
    records: number,
    opts: FileOutboxOptions,
  ) {
    this.journal = journal;
    this.records = records;
    this.nowMs = opts.nowMs ?? Date.now;
    this.compactAfterLines = opts.compactAfterLines ?? 10_000;
    const packed: Segment = { records: Buffer.concat([...live.values()]) };
    for (const id of live.keys()) this.entries.set(id, packed);
  }

  static async open(dir: string, opts: FileOutboxOptions = {}): Promise<FileOutbox> {
    const fsync = opts.fsync ?? 'always';
    const path = `${dir}/${OUTBOX_JOURNAL_FILE}`;
    const legacyPath = `${dir}/${LEGACY_OUTBOX_JOURNAL_FILE}`;
    /** id -> its add record, while replaying. */
    const live = new Map<string, Buffer>();
    const apply = (decoded: OutboxRecord, recordOf: (entry: OutboxEntry) => Buffer) => {
      if (decoded.kind === 'add') live.set(decoded.entry.id, recordOf(decoded.entry));
      else for (const id of decoded.ids) live.delete(id);
    };

    // An older build's journal first: its entries are older than any in the new one (a crash
    // between migrating and deleting it leaves both; replaying both gives the same set).
    const legacy = await stat(legacyPath).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      },
    );
    let lineNo = 0;
    for await (const { line } of completeLines(legacyPath)) {
      apply(decodeLegacyLine(line, legacyPath, ++lineNo), (entry) => encodeAdds([entry], entry.addedAtMs));
    }

    const bytes = await readFile(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    let records = 0;
    let goodLength = OUTBOX_FILE_HEADER.length;
    if (bytes === undefined || bytes.length === 0) {
      await mkdir(dir, { recursive: true });
      // Created whole (temp file + rename): a crash never leaves half a header.
      await writeFileAtomic(path, OUTBOX_FILE_HEADER, fsync);
    } else {
      goodLength = scanOutboxJournal(bytes, path, (record, decoded) => {
        records++;
        apply(decoded, () => record);
      });
    }
    const journal = await AppendJournal.openAfter(path, fsync, goodLength);
    const outbox = new FileOutbox(journal, live, records, opts);
    // Migrated entries are only in memory until this rewrite puts them in the new journal.
    await outbox.compact({ force: legacy });
    if (legacy) {
      await rm(legacyPath, { force: true });
      if (fsync === 'always') await syncDir(dir);
    }
    return outbox;
  }

  async add(msgs: readonly OutgoingMessage[]): Promise<void> {
    const segment: Segment = { records: EMPTY };
    const fresh: OutgoingMessage[] = [];
    for (const m of msgs) {
      if (this.entries.has(m.id)) continue; // also a repeat inside `msgs`
      this.entries.set(m.id, segment);
      fresh.push(m);
    }
    if (fresh.length > 0) {
      try {
        segment.records = encodeAdds(fresh, this.nowMs());
      } catch (err) {
        for (const m of fresh) this.entries.delete(m.id);
        throw err;
      }
      this.records += fresh.length;
    }
    await this.journal.appendBytes(segment.records);
  }

  async remove(ids: readonly string[]): Promise<void> {
    const present = ids.filter((id) => this.entries.delete(id));
    if (present.length === 0) return;
    this.records += 1;
    await this.journal.appendBytes(encodeRemove(present));
    if (this.records - this.entries.size > this.compactAfterLines && !this.compacting) {
      this.compacting = this.compact().finally(() => {
        this.compacting = undefined;
      });
      await this.compacting;
    }
  }

  async pending(): Promise<OutboxEntry[]> {
    return this.liveRecords().map((record) => {
      const decoded = decodeRecord(record);
      if (decoded.kind !== 'add') throw new Error('a live outbox entry is not an add record');
      // A copy: the decoded data is a view of the journal's buffer.
      return { ...decoded.entry, data: new Uint8Array(decoded.entry.data) };
    });
  }

  /** The live entries' add records (views), oldest first. */
  private liveRecords(): Buffer[] {
    const out: Buffer[] = [];
    const walked = new Set<Segment>();
    for (const segment of this.entries.values()) {
      if (walked.has(segment)) continue;
      walked.add(segment);
      forEachRecord(segment.records, (record) => {
        if (this.entries.get(addRecordId(record)) === segment) out.push(record);
      });
    }
    return out;
  }

  /** Rewrites the journal with only live entries (`force`: even when it has no dead record). */
  async compact(opts: { force?: boolean } = {}): Promise<void> {
    if (!opts.force && this.records === this.entries.size) return;
    await this.journal.rewriteBytes(() => {
      const file = Buffer.concat([OUTBOX_FILE_HEADER, ...this.liveRecords()]);
      // Point the entries at the packed copy: frees the segments they pointed at.
      const packed: Segment = { records: file.subarray(OUTBOX_FILE_HEADER.length) };
      for (const id of this.entries.keys()) this.entries.set(id, packed);
      this.records = this.entries.size;
      return file;
    });
  }

  async close(): Promise<void> {
    await this.compacting;
    await this.journal.close();
  }
}

/** Add records written together; entries point at it, so nothing is kept per message. */
interface Segment {
  records: Buffer;
}

const EMPTY: Buffer = Buffer.alloc(0);
