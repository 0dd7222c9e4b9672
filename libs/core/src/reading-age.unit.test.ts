import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readingAgeMs, readingIsStale, readingObservedAtMs, type TimedReading } from './reading-age.js';

const ALLOWANCE_MS = 3_000;
const POLL_MS = 500;

/**
 * A venue whose clock runs `skewMs` ahead of ours (negative: behind), polled every 500 ms until
 * `stopsAtMs` (our clock), each answer taking 200 ms: the newest reading at our time `nowMs`.
 */
function newestReading(skewMs: number, stopsAtMs: number, nowMs: number): TimedReading | undefined {
  let newest: TimedReading | undefined;
  for (
    let requestedAtMs = 0;
    requestedAtMs + 200 <= nowMs && requestedAtMs <= stopsAtMs;
    requestedAtMs += POLL_MS
  )
    newest = { asOfMs: requestedAtMs + 100 + skewMs, observedAtMs: requestedAtMs };
  return newest;
}

describe('reading age on our clock', () => {
  for (const skewMs of [-1_400, 5_000]) {
    const label = skewMs < 0 ? `venue ${-skewMs} ms behind` : `venue ${skewMs} ms ahead`;

    it(`${label}: readings that keep arriving are fresh within a 3 s allowance`, () => {
      for (let nowMs = 1_000; nowMs <= 20_000; nowMs += 50) {
        const reading = newestReading(skewMs, Number.POSITIVE_INFINITY, nowMs);
        assert.ok(reading, `a reading by ${nowMs}`);
        assert.equal(readingIsStale(reading, nowMs, ALLOWANCE_MS), false, `fresh at ${nowMs}`);
        assert.ok(readingAgeMs(reading, nowMs) <= POLL_MS + 200, `age at ${nowMs}`);
      }
    });

    it(`${label}: readings that stop arriving go stale within the allowance`, () => {
      const stopsAtMs = 10_000;
      const lastRequestMs = 10_000;
      const atBound = newestReading(skewMs, stopsAtMs, lastRequestMs + ALLOWANCE_MS);
      assert.ok(atBound);
      assert.equal(readingIsStale(atBound, lastRequestMs + ALLOWANCE_MS, ALLOWANCE_MS), false);
      const past = newestReading(skewMs, stopsAtMs, lastRequestMs + ALLOWANCE_MS + 1);
      assert.ok(past);
      assert.equal(readingIsStale(past, lastRequestMs + ALLOWANCE_MS + 1, ALLOWANCE_MS), true);
    });
  }

  it('a poll answered late is as old as its request, whatever time the venue put on it', () => {
    // Requested at 1000, answered at 9000, the venue clock 5 s ahead dates it 14000.
    const reading = { asOfMs: 14_000, observedAtMs: 1_000 };
    assert.equal(readingAgeMs(reading, 9_000), 8_000);
    assert.equal(readingIsStale(reading, 9_000, ALLOWANCE_MS), true);
  });

  it('falls back to the venue time when the producer did not stamp it (older events)', () => {
    assert.equal(readingObservedAtMs({ asOfMs: 7_000 }), 7_000);
    assert.equal(readingObservedAtMs({ asOfMs: 7_000, observedAtMs: 0 }), 7_000);
    assert.equal(readingObservedAtMs({ asOfMs: 7_000, observedAtMs: 6_500 }), 6_500);
    assert.equal(readingAgeMs({ asOfMs: 12_000 }, 10_000), 0, 'never negative');
  });
});
