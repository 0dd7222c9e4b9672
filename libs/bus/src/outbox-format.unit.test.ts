import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { CorruptLogError } from './errors.js';
import type { OutgoingMessage } from './eventlog.js';
import {
  addRecordId,
  crc32,
  decodeLegacyLine,
  decodeRecord,
  encodeAdds,
  encodeRemove,
  forEachRecord,
  OUTBOX_FILE_HEADER,
  type OutboxRecord,
  scanOutboxJournal,
  tableCrc32,
} from './outbox-format.js';

const PATH = '/tmp/outbox.journal';

const message = fc.record(
  {
    subject: fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }),
    id: fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }),
    data: fc.uint8Array({ maxLength: 300 }),
    headers: fc.dictionary(
      fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,11}$/),
      fc.string({ maxLength: 30, unit: 'grapheme' }),
      {
        maxKeys: 3,
        noNullPrototype: true,
      },
    ),
  },
  { requiredKeys: ['subject', 'id', 'data'] },
);

function recordsOf(msgs: readonly OutgoingMessage[], addedAtMs: number): Buffer[] {
  const records: Buffer[] = [];
  encodeAdds(msgs, addedAtMs, (_, r) => {
    records.push(r);
  });
  return records;
}

function scan(bytes: Buffer): { records: OutboxRecord[]; good: number } {
  const records: OutboxRecord[] = [];
  const good = scanOutboxJournal(bytes, PATH, (_, decoded) => {
    records.push(decoded);
  });
  return { records, good };
}

const plain = (r: OutboxRecord) =>
  r.kind === 'add'
    ? { ...r, entry: { ...r.entry, data: [...r.entry.data] } }
    : { kind: r.kind, ids: [...r.ids] };

describe('outbox journal format (version 2)', () => {
  test('add and remove records round-trip, unicode and headers included', () => {
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 8 }),
        fc.double({ noNaN: true }),
        (msgs, at) => {
          const seen: OutgoingMessage[] = [];
          const batch = encodeAdds(msgs, at, (m, record) => {
            seen.push(m);
            assert.deepEqual(
              plain(decodeRecord(record)),
              plain({ kind: 'add', entry: { ...m, addedAtMs: at } }),
            );
            assert.equal(addRecordId(record), m.id);
          });
          assert.equal(seen.length, msgs.length);
          const walked: string[] = [];
          forEachRecord(batch, (record) => walked.push(addRecordId(record)));
          assert.deepEqual(
            walked,
            msgs.map((m) => m.id),
          );
          const remove = encodeRemove(msgs.map((m) => m.id));
          const { records, good } = scan(Buffer.concat([OUTBOX_FILE_HEADER, batch, remove]));
          assert.equal(good, OUTBOX_FILE_HEADER.length + batch.length + remove.length);
          assert.equal(records.length, msgs.length + 1);
          assert.deepEqual(records.at(-1), { kind: 'remove', ids: msgs.map((m) => m.id) });
        },
      ),
    );
  });

  test('a journal cut anywhere (a torn tail) reads as its whole records before the cut, never more', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 5 }), fc.nat(), (msgs, cutSeed) => {
        const records = recordsOf(msgs, 1);
        const file = Buffer.concat([OUTBOX_FILE_HEADER, ...records]);
        const cut = OUTBOX_FILE_HEADER.length + (cutSeed % (file.length - OUTBOX_FILE_HEADER.length + 1));
        const { records: read, good } = scan(file.subarray(0, cut));
        let boundary = OUTBOX_FILE_HEADER.length;
        let whole = 0;
        for (const r of records) {
          if (boundary + r.length > cut) break;
          boundary += r.length;
          whole++;
        }
        assert.equal(good, boundary);
        assert.deepEqual(
          read.map((r) => (r.kind === 'add' ? r.entry.id : '')),
          msgs.slice(0, whole).map((m) => m.id),
        );
      }),
    );
  });

  test('a flipped byte in the last record is a torn tail: dropped, never misread', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 2, maxLength: 4 }), fc.nat(), (msgs, at) => {
        const records = recordsOf(msgs, 1);
        const last = records.at(-1) as Buffer;
        const file = Buffer.concat([OUTBOX_FILE_HEADER, ...records]);
        const lastStart = file.length - last.length;
        // Anywhere after the length field: the checksum or the body.
        const flip = lastStart + 4 + (at % (last.length - 4));
        file[flip] = (file[flip] as number) ^ 0x5a;
        const { records: read, good } = scan(file);
        assert.equal(good, lastStart);
        assert.equal(read.length, msgs.length - 1);
      }),
    );
  });

  test('a bad checksum with records after it stops the scan with CorruptLogError', () => {
    const records = recordsOf(
      ['a', 'b', 'c'].map((id) => ({ subject: 'exec.x', id, data: new Uint8Array([1, 2, 3]) })),
      1,
    );
    const file = Buffer.concat([OUTBOX_FILE_HEADER, ...records]);
    const second = OUTBOX_FILE_HEADER.length + (records[0] as Buffer).length;
    file[second + 10] = (file[second + 10] as number) ^ 1;
    assert.throws(
      () => scan(file),
      (err: unknown) =>
        err instanceof CorruptLogError &&
        /:2: record at byte \d+: checksum mismatch, with records after it/.test(err.message),
    );
  });

  test('zeros after the last good record (a power loss that grew the file) are a torn tail', () => {
    const records = recordsOf([{ subject: 'exec.x', id: 'a', data: new Uint8Array(8) }], 1);
    const good = OUTBOX_FILE_HEADER.length + (records[0] as Buffer).length;
    const { records: read, good: length } = scan(
      Buffer.concat([OUTBOX_FILE_HEADER, ...records, Buffer.alloc(4096)]),
    );
    assert.equal(length, good);
    assert.equal(read.length, 1);
  });

  test('a file without the header, or of another version, is refused with a clear error', () => {
    assert.throws(() => scan(Buffer.from('{"a":{}}\n')), /not an outbox journal \(no "PMOB" header\)/);
    const v3 = Buffer.from(OUTBOX_FILE_HEADER);
    v3.writeUInt32LE(3, 4);
    assert.throws(() => scan(v3), /outbox journal format version 3; this build reads version 2/);
    assert.deepEqual(scan(Buffer.from(OUTBOX_FILE_HEADER)), { records: [], good: OUTBOX_FILE_HEADER.length });
  });

  test('a record whose checksum holds but whose fields do not is corruption, not a tail', () => {
    const body = Buffer.from([9]); // an unknown record kind
    const record = Buffer.alloc(8 + body.length);
    record.writeUInt32LE(body.length, 0);
    record.writeUInt32LE(crc32(body), 4);
    body.copy(record, 8);
    assert.throws(
      () => scan(Buffer.concat([OUTBOX_FILE_HEADER, record])),
      /:1: record at byte 8: unknown record kind 9/,
    );
  });

  test('CRC-32: the table version gives the standard check value and agrees with zlib', () => {
    assert.equal(tableCrc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
    if (native) fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (d) => tableCrc32(d) === native(d)));
  });
});

describe('outbox journal format version 1 (JSON lines, read for migration)', () => {
  test('add and remove lines decode; anything else names the file and line', () => {
    const add = decodeLegacyLine(
      '{"a":{"s":"exec.x","i":"e1","d":"aGk=","h":{"x-k":"v"},"t":1234}}',
      'old',
      1,
    );
    assert.deepEqual(plain(add), {
      kind: 'add',
      entry: { subject: 'exec.x', id: 'e1', data: [104, 105], headers: { 'x-k': 'v' }, addedAtMs: 1234 },
    });
    assert.deepEqual(decodeLegacyLine('{"r":["e1","e2"]}', 'old', 2), { kind: 'remove', ids: ['e1', 'e2'] });
    assert.throws(() => decodeLegacyLine('{"a":{"s":', 'old', 3), /old:3: not JSON/);
    assert.throws(() => decodeLegacyLine('{"x":1}', 'old', 4), /old:4: neither an add nor a remove/);
  });
});
