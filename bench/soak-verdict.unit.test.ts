import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeVerdict, soakSeriesVerdict } from './soak-verdict.js';

const MB = 1024 * 1024;

/** 41 samples 30 s apart: `base` + `perHourMb` MB/h + a sawtooth of `sawMb` MB. */
function series(perHourMb: number, sawMb: number): Array<{ x: number; y: number }> {
  return Array.from({ length: 41 }, (_, i) => {
    const x = 600 + 30 * i;
    return { x, y: 250 * MB + (perHourMb * MB * x) / 3600 + (i % 4) * (sawMb / 3) * MB };
  });
}

describe('soak verdict', () => {
  test('a sawtooth without a trend is flat', () => {
    const v = soakSeriesVerdict(series(0, 6), 0);
    assert.equal(v.flat, true);
    assert.ok(Math.abs(v.slopePerHour) < 2 * MB, `slope ${v.slopePerHour / MB} MB/h`);
    assert.equal(v.windowS, 1200);
    assert.match(
      describeVerdict('RSS', v),
      /^RSS flat: slope -?\d+\.\d MB\/h, [+-]\d+\.\d MB over 1200 s, within noise/,
    );
  });

  test('a steady climb beyond the noise is growing, unless the allowance covers it', () => {
    // 60 MB/h over 20 min: +20 MB, the sawtooth's noise about 5 MB.
    const v = soakSeriesVerdict(series(60, 6), 0);
    assert.equal(v.flat, false);
    assert.ok(Math.abs(v.slopePerHour / MB - 60) < 1, `slope ${v.slopePerHour / MB} MB/h`);
    assert.ok(Math.abs(v.growth / MB - 20) < 0.5, `growth ${v.growth / MB} MB`);
    assert.match(
      describeVerdict('heap', v),
      /^heap GROWING: slope 60\.\d MB\/h, \+20\.\d MB over 1200 s, beyond noise/,
    );
    assert.equal(soakSeriesVerdict(series(60, 6), 20 * MB).flat, true);
  });

  test('refuses too few samples and a negative allowance', () => {
    assert.throws(() => soakSeriesVerdict(series(0, 1).slice(0, 2), 0), /need at least 3 samples, got 2/);
    assert.throws(() => soakSeriesVerdict(series(0, 1), -1), /allowedBytes must be >= 0, got -1/);
  });
});
