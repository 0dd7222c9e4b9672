/**
 * The embedded log's on-disk line format, in one place: the writer (embedded.ts) and the
 * read-only reader (reader.ts) both use it.
 *
 *   {"q":seq,"t":tsMs,"s":subject,"i":id,"d":base64,"h":{headers}}
 * After compaction the first line is {"base":N}: the last sequence before the file's first
 * event.
 */
import { CorruptLogError } from './errors.js';

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
