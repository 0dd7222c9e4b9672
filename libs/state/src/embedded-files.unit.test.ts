import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseJournal, StateStoreCorruptError } from './embedded-files.js';

describe('journal parsing', () => {
  const a = '{"op":"nonce","k":"pm:nonce:v:a:k","next":"5"}';
  const b = '{"op":"idem-del","k":"pm:idem:s:k"}';

  test('complete lines become records, in order', () => {
    assert.deepEqual(parseJournal(`${a}\n${b}\n`), [
      { op: 'nonce', k: 'pm:nonce:v:a:k', next: '5' },
      { op: 'idem-del', k: 'pm:idem:s:k' },
    ]);
    assert.deepEqual(parseJournal(''), []);
  });

  test('a torn tail without its newline is dropped', () => {
    assert.equal(parseJournal(`${a}\n${b.slice(0, 10)}`).length, 1);
    assert.equal(
      parseJournal(`${a}\n${b}`).length,
      1,
      'even a tail that happens to parse was never acknowledged',
    );
  });

  test('a bad complete line is corruption, naming the file and line', () => {
    assert.throws(
      () => parseJournal(`${a}\nnot json\n${b}\n`, 'journal-3.log'),
      (err: unknown) => err instanceof StateStoreCorruptError && /journal-3\.log: line 2/.test(err.message),
    );
    assert.throws(() => parseJournal('{"op":"drop","k":"x"}\n'), StateStoreCorruptError);
    assert.throws(() => parseJournal('{"op":"nonce"}\n'), StateStoreCorruptError);
  });
});
