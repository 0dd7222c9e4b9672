import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Claim, decodeClaim, encodeClaim } from './claims.js';

describe('idempotency claims', () => {
  test('round-trip; a value that is not a claim decodes to undefined', () => {
    const claim: Claim = { s: 'pending', at: 1_700_000_000_000, fp: 'abc', by: 'attempt-1' };
    assert.deepEqual(decodeClaim(encodeClaim(claim)), claim);
    assert.deepEqual(decodeClaim('{"s":"submitted","at":1,"fp":"x"}'), {
      s: 'submitted',
      at: 1,
      fp: 'x',
      by: '',
    });
    assert.equal(decodeClaim('not json'), undefined);
    assert.equal(decodeClaim('{"s":"sent","at":1,"fp":"x"}'), undefined);
    assert.equal(decodeClaim('{"s":"pending","at":"1","fp":"x"}'), undefined);
  });
});
