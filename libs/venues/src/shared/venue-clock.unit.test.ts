import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VenueClock } from './venue-clock.js';

const T0 = 1_780_000_000_000;

describe('VenueClock', () => {
  test('unknown until an answer is observed: deadlines then count on our clock', () => {
    const clock = new VenueClock({ nowMs: () => T0 });
    assert.equal(clock.offset(), undefined);
    assert.equal(clock.measuredWithin(60_000), false);
    assert.equal(clock.venueDeadlineMs(5_000), T0 + 5_000);
  });

  for (const skewMs of [-3_000, 3_000]) {
    test(`a venue ${skewMs > 0 ? 'ahead' : 'behind'} by 3 s: a ms time in an answer bounds the offset by the round trip`, () => {
      let now = T0;
      const clock = new VenueClock({ nowMs: () => now });
      // Sent at T0, the venue read its clock 30 ms later, answered at T0 + 80.
      clock.observe(T0 + 30 + skewMs, T0, T0 + 80);
      const o = clock.offset();
      assert.ok(o);
      assert.ok(Math.abs(o.offsetMs - skewMs) <= o.uncertaintyMs, JSON.stringify(o));
      assert.equal(o.uncertaintyMs, 40);
      assert.equal(o.measuredAtMs, T0 + 80);
      now = T0 + 1_000;
      assert.equal(clock.measuredWithin(1_000), true);
      assert.equal(clock.measuredWithin(919), false);
      // Never early on the venue's clock: at least 5 s after the venue's now, at most 2 x 40 ms more.
      const venueNow = now + skewMs;
      const deadline = clock.venueDeadlineMs(5_000);
      assert.ok(deadline - venueNow >= 5_000, `${deadline - venueNow}`);
      assert.ok(deadline - venueNow <= 5_080, `${deadline - venueNow}`);
    });
  }

  test('Date headers (whole seconds) narrow as answers land on both sides of a second', () => {
    const skewMs = 3_250;
    const clock = new VenueClock({ nowMs: () => T0 });
    const answer = (sentAtMs: number) => {
      const venueMs = sentAtMs + 10 + skewMs;
      clock.observeDateHeader(new Date(venueMs - (venueMs % 1_000)).toUTCString(), sentAtMs, sentAtMs + 20);
    };
    answer(T0);
    const first = clock.offset();
    assert.ok(first && first.uncertaintyMs > 400, JSON.stringify(first));
    for (let i = 1; i <= 12; i++) answer(T0 + i * 1_130);
    const narrowed = clock.offset();
    assert.ok(narrowed);
    assert.ok(narrowed.uncertaintyMs < 150, JSON.stringify(narrowed));
    assert.ok(Math.abs(narrowed.offsetMs - skewMs) <= narrowed.uncertaintyMs, JSON.stringify(narrowed));
  });

  test('a stepped venue clock (bounds that no longer meet) starts over from the newest answer', () => {
    const clock = new VenueClock({ nowMs: () => T0 });
    clock.observe(T0 + 10 + 1_000, T0, T0 + 20);
    clock.observe(T0 + 110 - 2_000, T0 + 100, T0 + 120);
    const o = clock.offset();
    assert.equal(o?.offsetMs, -2_000);
    assert.equal(o?.uncertaintyMs, 10);
  });

  test('old answers stop narrowing after keepMs; malformed answers are ignored', () => {
    const clock = new VenueClock({ keepMs: 1_000, nowMs: () => T0 });
    clock.observe(T0 + 500, T0, T0 + 1_000);
    clock.observe(Number.NaN, T0, T0 + 1);
    clock.observe(T0, T0 + 5, T0 + 1);
    clock.observeDateHeader('not a date', T0, T0 + 1);
    assert.equal(clock.offset()?.uncertaintyMs, 500);
    clock.observe(T0 + 5_000, T0 + 5_000, T0 + 5_100);
    assert.equal(clock.offset()?.uncertaintyMs, 50, 'the old wide answer is forgotten, not intersected');
  });
});
