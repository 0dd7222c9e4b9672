import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { dec } from './decimal.js';
import { ValidationError } from './errors.js';
import {
  annualizeHourlyRate,
  expectedFundingPayment,
  fundingIntervalHours,
  fundingPayment,
  fundingRatePerHour,
  normalizeFundingRate,
} from './funding.js';
import { applyFill, applyFunding, FLAT_POSITION } from './position.js';

describe('funding normalization', () => {
  test('per-hour rate from an interval in hours or milliseconds', () => {
    assert.equal(fundingRatePerHour(dec('0.0001'), { intervalHours: 8 }).toFixed(), '0.0000125');
    assert.equal(fundingRatePerHour(dec('0.0001'), { intervalMs: 8 * 3_600_000 }).toFixed(), '0.0000125');
    assert.equal(fundingRatePerHour(dec('-0.0004'), { intervalHours: dec(4) }).toFixed(), '-0.0001');
    assert.equal(fundingIntervalHours({ intervalMs: 1_800_000 }).toFixed(), '0.5');
  });

  test('annualized is per hour x 8760; per 8h x 8', () => {
    const n = normalizeFundingRate(dec('0.0001'), { intervalHours: 1 });
    assert.equal(n.ratePerHour.toFixed(), '0.0001');
    assert.equal(n.ratePer8h.toFixed(), '0.0008');
    assert.equal(n.annualized.toFixed(), '0.876');
    assert.equal(annualizeHourlyRate(dec('0.00001')).toFixed(), '0.0876');
  });

  test('the same rate per hour, whatever the venue interval', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10_000, max: 10_000 }), fc.constantFrom(1, 2, 4, 8), (bps, hours) => {
        const hourly = dec(bps).div(1_000_000);
        const venueRate = hourly.mul(hours);
        assert.ok(fundingRatePerHour(venueRate, { intervalHours: hours }).eq(hourly));
        assert.ok(fundingRatePerHour(venueRate, { intervalMs: hours * 3_600_000 }).eq(hourly));
      }),
    );
  });

  test('bad intervals name the field', () => {
    for (const [interval, field] of [
      [{ intervalHours: 0 }, 'intervalHours'],
      [{ intervalHours: -8 }, 'intervalHours'],
      [{ intervalHours: Number.NaN }, 'intervalHours'],
      [{ intervalMs: 0 }, 'intervalMs'],
      [{ intervalMs: 1.5 }, 'intervalMs'],
    ] as const) {
      assert.throws(
        () => fundingRatePerHour(dec('0.0001'), interval),
        (error: unknown) => error instanceof ValidationError && error.field === field,
      );
    }
  });
});

describe('funding payments', () => {
  test('longs pay and shorts receive when the rate is positive', () => {
    assert.equal(fundingPayment(dec(2), dec(50_000), dec('0.0001')).toFixed(), '-10');
    assert.equal(fundingPayment(dec(-2), dec(50_000), dec('0.0001')).toFixed(), '10');
    assert.equal(fundingPayment(dec(2), dec(50_000), dec('-0.0001')).toFixed(), '10');
    assert.ok(fundingPayment(dec(0), dec(50_000), dec('0.0001')).isZero());
  });

  test('expected payment over a horizon scales the hourly rate', () => {
    const params = { signedSize: dec(1), markPrice: dec(3000), ratePerHour: dec('0.00001') };
    assert.equal(expectedFundingPayment({ ...params, horizon: { hours: 24 } }).toFixed(), '-0.72');
    assert.equal(expectedFundingPayment({ ...params, horizon: { ms: 86_400_000 } }).toFixed(), '-0.72');
    assert.throws(
      () => expectedFundingPayment({ ...params, horizon: { ms: -1 } }),
      (error: unknown) => error instanceof ValidationError && error.field === 'horizon.ms',
    );
  });

  test('the payment has the sign position.ts books as received', () => {
    const short = applyFill(FLAT_POSITION, { side: 'sell', price: dec(100), size: dec(3) });
    const after = applyFunding(short, { amount: fundingPayment(short.size, dec(100), dec('0.001')) });
    assert.equal(after.funding.toFixed(), '0.3');
    assert.equal(after.netRealizedPnl.toFixed(), '0.3');
  });
});
