/**
 * The embedded log's on-disk line format, in one place: the writer (embedded.ts) and the
 * read-only reader (reader.ts) both use it.
 *
 *   {"q":seq,"t":tsMs,"s":subject,"i":id,"d":base64,"h":{headers}}
 * After compaction the first line is {"base":N}: the last sequence before the file's first
 * event.
 */
import { CorruptLogError } from './errors.js';
import type { StoredMessage } from './eventlog.js';

export interface EmbeddedEntry {
  readonly seq: number;
  readonly tsMs: number;
  readonly subject: string;
  readonly id: string;
  readonly data: Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
}

interface EntryLine {
  q: number;
  t: number;
  s: string;
  i: string;
  d: string;
  h?: Record<string, string>;
}

export function entryLine(e: EmbeddedEntry): string {
  const line: EntryLine = {
    q: e.seq,
    t: e.tsMs,
    s: e.subject,
    i: e.id,
    d: Buffer.from(e.data).toString('base64'),
    ...(e.headers ? { h: { ...e.headers } } : {}),
  };
  return JSON.stringify(line);
}

/** One line of a stream file: an event, or the compaction base (`{ base }`). */
export function parseEntryLine(
  path: string,
  lineNo: number,
  line: string,
): EmbeddedEntry | { readonly base: number } {
  let parsed: EntryLine | { base: number };
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    throw new CorruptLogError(path, lineNo, 'not JSON', { cause: err });
  }
  if ('base' in parsed) return { base: parsed.base };
  return {
    seq: parsed.q,
    tsMs: parsed.t,
    subject: parsed.s,
    id: parsed.i,
    data: new Uint8Array(Buffer.from(parsed.d, 'base64')),
    ...(parsed.h ? { headers: parsed.h } : {}),
  };
}

/**
 * Checks a stream file's lines one at a time, in file order: the compaction base may only
 * be the first line, and event sequences must follow on from it one by one.
 */
export class StreamLineParser {
  /** The compaction base (0 without one). */
  base = 0;
  /** The last sequence seen. */
  last = 0;
  #lineNo = 0;

  constructor(readonly path: string) {}

  /** The next line's event; undefined for the base line. */
  next(line: string): EmbeddedEntry | undefined {
    this.#lineNo += 1;
    const parsed = parseEntryLine(this.path, this.#lineNo, line);
    if ('base' in parsed) {
      if (this.#lineNo !== 1) throw new CorruptLogError(this.path, this.#lineNo, 'base line not first');
      this.base = parsed.base;
      this.last = parsed.base;
      return undefined;
    }
    if (parsed.seq !== this.last + 1) {
      throw new CorruptLogError(
        this.path,
        this.#lineNo,
        `sequence ${parsed.seq} does not follow ${this.last}`,
      );
    }
    this.last = parsed.seq;
    return parsed;
  }
}

/** An entry as handed out by `read`, `consume` and `tail` (`deliveryCount` 1 for reads and tails). */
export function toStored(stream: string, e: EmbeddedEntry, deliveryCount: number): StoredMessage {
  return {
    stream,
    seq: e.seq,
    subject: e.subject,
    id: e.id,
    // A copy: a handler that mutates its bytes must not change the log.
    data: new Uint8Array(e.data),
    timestampMs: e.tsMs,
    ...(e.headers ? { headers: { ...e.headers } } : {}),
    redelivered: deliveryCount > 1,
    deliveryCount,
  };
}
