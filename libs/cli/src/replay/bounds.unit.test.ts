import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseReplayBound } from './bounds.js';

test('parseReplayBound: stream sequences and a time', () => {
  assert.equal(parseReplayBound(undefined, '--from'), undefined);
  assert.deepEqual(parseReplayBound(['exec=12', 'ACCT=3'], '--from'), { seqs: { EXEC: 12, ACCT: 3 } });
  assert.deepEqual(parseReplayBound(['2026-12-06T13:00:00Z'], '--to'), {
    seqs: {},
    timeMs: Date.UTC(2026, 11, 6, 13, 0, 0),
  });
  assert.deepEqual(parseReplayBound(['1765000000000', 'EXEC=5'], '--to'), {
    seqs: { EXEC: 5 },
    timeMs: 1765000000000,
  });
});

test('parseReplayBound: anything else is refused naming the flag', () => {
  for (const bad of ['EXEC', 'EXEC=-1', 'yesterday', '2026-12-06 13:00', '2026-12-06T13:00:00']) {
    assert.throws(() => parseReplayBound([bad], '--from'), /--from/, bad);
  }
});
