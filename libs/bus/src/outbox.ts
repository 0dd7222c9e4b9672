/**
 * The outbox: where a publisher keeps an event until its ack arrives, so that a restart
 * resends what was never acknowledged (with the original id; JetStream's de-duplication
 * drops the ones that did land). See README.md "Durability".
 */

import { CorruptLogError } from './errors.js';
import type { OutgoingMessage } from './eventlog.js';
import { AppendJournal, type FsyncPolicy } from './files.js';

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

interface AddLine {
  a: { s: string; i: string; d: string; h?: Record<string, string>; t: number };
}
interface RemoveLine {
  r: string[];
}

export interface FileOutboxOptions {
  /** Default 'always': an add survives power loss before the publish is attempted. */
  readonly fsync?: FsyncPolicy;
  readonly nowMs?: () => number;
  /** Compact when the journal holds this many more lines than live entries. Default 10 000. */
  readonly compactAfterLines?: number;
}

/**
 * An outbox in an append-only journal (`<dir>/outbox.jsonl`): `{"a":{...}}` lines add,
 * `{"r":[ids]}` lines remove. Writes are group-committed (one fsync per batch of concurrent
 * writes). Publishers need not wait for a removal: losing one only costs a de-duplicated
 * resend. Compacted on open and when dead lines pile up.
 *
 * Live entries are kept in memory as their journal line: each message is encoded once, when
 * added (compaction writes the same lines again; `pending()`, read only at start-up and on
 * a resend, decodes them), and the caller's buffer is not copied.
 */
export class FileOutbox implements Outbox {
  /** Live entries by id: their `{"a":...}` journal line. */
  private readonly entries = new Map<string, string>();
  private readonly journal: AppendJournal;
  private readonly nowMs: () => number;
  private readonly compactAfterLines: number;
  private lines: number;
  private compacting: Promise<void> | undefined;

  private constructor(journal: AppendJournal, lines: number, opts: FileOutboxOptions) {
    this.journal = journal;
    this.lines = lines;
    this.nowMs = opts.nowMs ?? Date.now;
    this.compactAfterLines = opts.compactAfterLines ?? 10_000;
  }

  static async open(dir: string, opts: FileOutboxOptions = {}): Promise<FileOutbox> {
    const path = `${dir}/outbox.jsonl`;
    const { journal, lines } = await AppendJournal.open(path, opts.fsync ?? 'always');
    const outbox = new FileOutbox(journal, lines.length, opts);
    for (const [i, line] of lines.entries()) outbox.replay(path, i + 1, line);
    await outbox.compact();
    return outbox;
  }

  private replay(path: string, lineNo: number, line: string): void {
    let parsed: AddLine | RemoveLine;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      throw new CorruptLogError(path, lineNo, 'not JSON', { cause: err });
    }
    if ('a' in parsed) {
      this.entries.set(parsed.a.i, line);
    } else if ('r' in parsed) {
      for (const id of parsed.r) this.entries.delete(id);
    } else {
      throw new CorruptLogError(path, lineNo, 'neither an add nor a remove');
    }
  }

  async add(msgs: readonly OutgoingMessage[]): Promise<void> {
    const at = this.nowMs();
    const lines: string[] = [];
    for (const m of msgs) {
      if (this.entries.has(m.id)) continue;
      const line = addLine(m, at);
      this.entries.set(m.id, line);
      lines.push(line);
    }
    this.lines += lines.length;
    await this.journal.append(lines);
  }

  async remove(ids: readonly string[]): Promise<void> {
    const present = ids.filter((id) => this.entries.delete(id));
    if (present.length === 0) return;
    this.lines += 1;
    await this.journal.append([JSON.stringify({ r: present } satisfies RemoveLine)]);
    if (this.lines - this.entries.size > this.compactAfterLines && !this.compacting) {
      this.compacting = this.compact().finally(() => {
        this.compacting = undefined;
      });
      await this.compacting;
    }
  }

  async pending(): Promise<OutboxEntry[]> {
    return [...this.entries.values()].map(entryOf);
  }

  /** Rewrites the journal with only live entries. */
  async compact(): Promise<void> {
    if (this.lines === this.entries.size) return;
    await this.journal.rewrite(() => {
      this.lines = this.entries.size;
      return [...this.entries.values()];
    });
  }

  async close(): Promise<void> {
    await this.compacting;
    await this.journal.close();
  }
}

function addLine(m: OutgoingMessage, addedAtMs: number): string {
  const a: AddLine['a'] = {
    s: m.subject,
    i: m.id,
    d: Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength).toString('base64'),
    t: addedAtMs,
  };
  if (m.headers) a.h = m.headers;
  return JSON.stringify({ a } satisfies AddLine);
}

/** The entry an add line (already parsed once, when added or replayed) records. */
function entryOf(line: string): OutboxEntry {
  const { a } = JSON.parse(line) as AddLine;
  return {
    subject: a.s,
    id: a.i,
    data: new Uint8Array(Buffer.from(a.d, 'base64')),
    ...(a.h ? { headers: a.h } : {}),
    addedAtMs: a.t,
  };
}
