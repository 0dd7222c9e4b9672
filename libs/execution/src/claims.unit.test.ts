import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Claim, decodeClaim, encodeClaim, submittedClaimRepair } from './claims.js';

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

describe('submittedClaimRepair: may a duplicate write the SUBMITTED of a marked claim nobody here knows?', () => {
  const table = { nowMs: 1_000_000, liveBoundMs: 5_000, forgottenThroughMs: 900_000 };

  test('a claim younger than the live bound is left to its placement', () => {
    assert.equal(submittedClaimRepair({ at: 996_000 }, table), 'young');
  });

  test('created after everything the table forgot: repaired, however old (past the old 60 s rule)', () => {
    assert.equal(submittedClaimRepair({ at: 995_000 }, table), 'repair');
    assert.equal(submittedClaimRepair({ at: 900_001 }, table), 'repair');
    assert.equal(
      submittedClaimRepair({ at: 10 }, { ...table, forgottenThroughMs: Number.NEGATIVE_INFINITY }),
      'repair',
    );
  });

  test('created no later than an order the table forgot: never written again', () => {
    assert.equal(submittedClaimRepair({ at: 900_000 }, table), 'forgotten');
    assert.equal(submittedClaimRepair({ at: 1 }, table), 'forgotten');
    assert.equal(
      submittedClaimRepair({ at: 995_000 }, { ...table, forgottenThroughMs: Number.POSITIVE_INFINITY }),
      'forgotten',
    );
  });
});
