/**
 * The file outbox's journal format, in one place (outbox.ts writes and replays it).
 *
 * Version 2 (binary, `<dir>/outbox.journal`): an 8-byte file header, "PMOB" then the
 * version as u32 LE, then records. Each record:
 *
 *   u32 LE body length | u32 LE CRC-32 of the body | body
 *   body, add:    u8 1 | f64 LE addedAtMs | str subject | str id
 *                 | u32 header count (0xffffffff: no headers object) | (str name | str value)*
 *                 | u32 data length | data
 *   body, remove: u8 2 | u32 id count | str id*
 *   str = u32 LE byte length | UTF-8 bytes
 *
 * The payload is stored raw: no base64, no JSON. A record that is damaged (its header cut
 * short, its length past the end of the file, a checksum that does not match) is a torn
 * tail when nothing valid can follow it (it is the file's last record, or the rest of the
 * file is zeros: a power loss that extended the file without its data): it was never
 * acknowledged and is dropped. Damage with more records after it is corruption and stops
 * the open (`CorruptLogError`).
 *
 * Version 1 (`<dir>/outbox.jsonl`, no header): JSON lines, `{"a":{"s","i","d":base64,"h",
 * "t"}}` adds and `{"r":[ids]}` removes. Only read, to migrate an outbox a previous build
 * left behind.
 */
import * as zlib from 'node:zlib';
import { CorruptLogError } from './errors.js';
import type { OutgoingMessage } from './eventlog.js';
import type { OutboxEntry } from './outbox.js';

export const OUTBOX_JOURNAL_VERSION = 2;
const MAGIC = Buffer.from('PMOB', 'latin1');
export const OUTBOX_FILE_HEADER: Buffer = Buffer.concat([MAGIC, u32(OUTBOX_JOURNAL_VERSION)]);
/** Body length and checksum before each record's body. */
const RECORD_HEADER_BYTES = 8;
const ADD = 1;
const REMOVE = 2;
/** Header count of a message without a headers object (an empty one has count 0). */
const NO_HEADERS = 0xffffffff;

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** CRC-32 (IEEE, the zlib/PNG one), table-driven: for Node before 20.15, which lacks zlib.crc32. */
export function tableCrc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++)
    crc = (CRC_TABLE[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
/** CRC-32 of `data`: zlib's native one where this Node has it (20.15+), else `tableCrc32`. */
export const crc32: (data: Uint8Array) => number = nativeCrc32 ? (data) => nativeCrc32(data) : tableCrc32;

/** Upper bound of a string's UTF-8 length (3 bytes per UTF-16 unit), so nothing is measured twice. */
const maxUtf8 = (s: string) => 3 * s.length;

function putString(buf: Buffer, at: number, s: string): number {
  const n = buf.write(s, at + 4, 'utf8');
  buf.writeUInt32LE(n, at);
  return at + 4 + n;
}

/** Writes the record header (length, checksum) of the body between `start + 8` and `end`. */
function seal(buf: Buffer, start: number, end: number): void {
  const body = buf.subarray(start + RECORD_HEADER_BYTES, end);
  buf.writeUInt32LE(body.length, start);
  buf.writeUInt32LE(crc32(body), start + 4);
}

/**
 * Encodes one add record per message into ONE buffer (one allocation, one write for the
 * whole batch); `onRecord` gets each record as a view of it. Returns the filled part.
 */
export function encodeAdds(
  msgs: readonly OutgoingMessage[],
  addedAtMs: number,
  onRecord?: (msg: OutgoingMessage, record: Buffer) => void,
): Buffer {
  let size = 0;
  for (const m of msgs) {
    size += RECORD_HEADER_BYTES + 1 + 8 + 4 + maxUtf8(m.subject) + 4 + maxUtf8(m.id) + 4 + 4 + m.data.length;
    if (m.headers) for (const [k, v] of Object.entries(m.headers)) size += 8 + maxUtf8(k) + maxUtf8(v);
  }
  const buf = Buffer.allocUnsafe(size);
  let at = 0;
  for (const m of msgs) {
    const start = at;
    at += RECORD_HEADER_BYTES;
    buf[at++] = ADD;
    buf.writeDoubleLE(addedAtMs, at);
    at = putString(buf, at + 8, m.subject);
    at = putString(buf, at, m.id);
    const headers = m.headers ? Object.entries(m.headers) : [];
    buf.writeUInt32LE(m.headers ? headers.length : NO_HEADERS, at);
    at += 4;
    for (const [k, v] of headers) at = putString(buf, putString(buf, at, k), v);
    buf.writeUInt32LE(m.data.length, at);
    buf.set(m.data, at + 4);
    at += 4 + m.data.length;
    seal(buf, start, at);
    onRecord?.(m, buf.subarray(start, at));
  }
  return buf.subarray(0, at);
}

/** One remove record naming `ids`. */
export function encodeRemove(ids: readonly string[]): Buffer {
  let size = RECORD_HEADER_BYTES + 1 + 4;
  for (const id of ids) size += 4 + maxUtf8(id);
  const buf = Buffer.allocUnsafe(size);
  let at = RECORD_HEADER_BYTES;
  buf[at++] = REMOVE;
  buf.writeUInt32LE(ids.length, at);
  at += 4;
  for (const id of ids) at = putString(buf, at, id);
  seal(buf, 0, at);
  return buf.subarray(0, at);
}

export type OutboxRecord =
  | { readonly kind: 'add'; readonly entry: OutboxEntry }
  | { readonly kind: 'remove'; readonly ids: readonly string[] };

class RecordStructureError extends Error {}

/** Reads a record's body field by field, refusing to read past its end. */
class BodyReader {
  private at: number;
  constructor(
    private readonly buf: Buffer,
    start: number,
    private readonly end: number,
  ) {
    this.at = start;
  }
  private take(n: number): number {
    const at = this.at;
    if (at + n > this.end) throw new RecordStructureError(`a field runs past the record's end (byte ${at})`);
    this.at += n;
    return at;
  }
  u8(): number {
    return this.buf[this.take(1)] as number;
  }
  u32(): number {
    return this.buf.readUInt32LE(this.take(4));
  }
  f64(): number {
    return this.buf.readDoubleLE(this.take(8));
  }
  bytes(): Buffer {
    const n = this.u32();
    const at = this.take(n);
    return this.buf.subarray(at, at + n);
  }
  string(): string {
    return this.bytes().toString('utf8');
  }
  done(): void {
    if (this.at !== this.end) throw new RecordStructureError(`${this.end - this.at} bytes left over`);
  }
}

/**
 * Decodes one whole record (header included, its checksum already verified). The entry's
 * data is a view of `record`: copy it to keep it beyond the record.
 */
export function decodeRecord(record: Buffer): OutboxRecord {
  const r = new BodyReader(record, RECORD_HEADER_BYTES, record.length);
  const kind = r.u8();
  if (kind === ADD) {
    const addedAtMs = r.f64();
    const subject = r.string();
    const id = r.string();
    const headerCount = r.u32();
    let headers: Record<string, string> | undefined;
    if (headerCount !== NO_HEADERS) {
      headers = {};
      for (let i = 0; i < headerCount; i++) {
        const name = r.string();
        headers[name] = r.string();
      }
    }
    const data = r.bytes();
    r.done();
    return { kind: 'add', entry: { subject, id, data, ...(headers ? { headers } : {}), addedAtMs } };
  }
  if (kind === REMOVE) {
    const count = r.u32();
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push(r.string());
    r.done();
    return { kind: 'remove', ids };
  }
  throw new RecordStructureError(`unknown record kind ${kind}`);
}

/** Each record (a view) of a buffer of whole records this build wrote (no checks). */
export function forEachRecord(records: Buffer, fn: (record: Buffer) => void): void {
  for (let at = 0; at < records.length; ) {
    const end = at + RECORD_HEADER_BYTES + records.readUInt32LE(at);
    fn(records.subarray(at, end));
    at = end;
  }
}

/** The id of an add record (without decoding the rest). */
export function addRecordId(record: Buffer): string {
  const subjectAt = RECORD_HEADER_BYTES + 1 + 8;
  const idAt = subjectAt + 4 + record.readUInt32LE(subjectAt);
  return record.toString('utf8', idAt + 4, idAt + 4 + record.readUInt32LE(idAt));
}

/**
 * Walks a version-2 journal's bytes (the whole file), handing each valid record (a view of
 * `bytes`) and its decoding to `onRecord`. Returns how many bytes are good: less than the
 * file when a torn tail follows them (the caller truncates it away). Throws
 * `CorruptLogError` for a missing or unknown header, a damaged record with records after
 * it, or a record whose checksum holds but whose fields do not (a writer bug).
 */
export function scanOutboxJournal(
  bytes: Buffer,
  path: string,
  onRecord: (record: Buffer, decoded: OutboxRecord) => void,
): number {
  if (bytes.length < OUTBOX_FILE_HEADER.length || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new CorruptLogError(path, 0, 'not an outbox journal (no "PMOB" header)');
  }
  const version = bytes.readUInt32LE(MAGIC.length);
  if (version !== OUTBOX_JOURNAL_VERSION) {
    throw new CorruptLogError(
      path,
      0,
      `outbox journal format version ${version}; this build reads version ${OUTBOX_JOURNAL_VERSION}`,
    );
  }
  let at = OUTBOX_FILE_HEADER.length;
  for (let n = 1; at < bytes.length; n++) {
    const damage = recordDamage(bytes, at);
    if (damage !== undefined) {
      if (damage.endsFile || isZeros(bytes, at)) return at;
      throw new CorruptLogError(path, n, `record at byte ${at}: ${damage.reason}, with records after it`);
    }
    const end = at + RECORD_HEADER_BYTES + bytes.readUInt32LE(at);
    const record = bytes.subarray(at, end);
    let decoded: OutboxRecord;
    try {
      decoded = decodeRecord(record);
    } catch (err) {
      if (!(err instanceof RecordStructureError)) throw err;
      throw new CorruptLogError(path, n, `record at byte ${at}: ${err.message}`, { cause: err });
    }
    onRecord(record, decoded);
    at = end;
  }
  return at;
}

/** Why the record at `at` cannot be trusted, and whether it reaches the end of the file. */
function recordDamage(bytes: Buffer, at: number): { reason: string; endsFile: boolean } | undefined {
  if (bytes.length - at < RECORD_HEADER_BYTES) return { reason: 'record header cut short', endsFile: true };
  const length = bytes.readUInt32LE(at);
  const end = at + RECORD_HEADER_BYTES + length;
  if (end > bytes.length) return { reason: 'record runs past the end of the file', endsFile: true };
  if (length === 0) return { reason: 'empty record', endsFile: end === bytes.length };
  if (crc32(bytes.subarray(at + RECORD_HEADER_BYTES, end)) !== bytes.readUInt32LE(at + 4)) {
    return { reason: 'checksum mismatch', endsFile: end === bytes.length };
  }
  return undefined;
}

function isZeros(bytes: Buffer, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** A version-1 (JSON lines) journal line. */
interface LegacyAddLine {
  a: { s: string; i: string; d: string; h?: Record<string, string>; t: number };
}
interface LegacyRemoveLine {
  r: string[];
}

/** Decodes one complete line of a version-1 journal (`lineNo` from 1, for the error). */
export function decodeLegacyLine(line: string, path: string, lineNo: number): OutboxRecord {
  let parsed: LegacyAddLine | LegacyRemoveLine;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    throw new CorruptLogError(path, lineNo, 'not JSON', { cause: err });
  }
  if (parsed && typeof parsed === 'object' && 'a' in parsed) {
    const { a } = parsed;
    return {
      kind: 'add',
      entry: {
        subject: a.s,
        id: a.i,
        data: new Uint8Array(Buffer.from(a.d, 'base64')),
        ...(a.h ? { headers: a.h } : {}),
        addedAtMs: a.t,
      },
    };
  }
  if (parsed && typeof parsed === 'object' && 'r' in parsed) return { kind: 'remove', ids: parsed.r };
  throw new CorruptLogError(path, lineNo, 'neither an add nor a remove');
}
