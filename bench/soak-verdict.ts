/**
 * The soak bench's verdict on one series (RSS or heap) sampled after the warm-up: the
 * least-squares slope, its noise, and whether the growth over the window is more than the
 * noise plus what the bounded histories still filling were allowed to add.
 *
 * - growth: the slope times the window (what the line says was added);
 * - noise: the growth that the samples' scatter around the line (the GC's sawtooth, the
 *   allocator's steps) could fake: twice the slope's standard error times the window, a 95 %
 *   band, which narrows with more samples;
 * - allowed: bytes the caller expects (histories filling towards their caps, e.g. bytes
 *   per order times the orders placed in the window);
 * - flat when growth <= noise + allowed; else growing.
 */
import { slope } from './proc-stats.js';

export interface SoakSeriesVerdict {
  readonly flat: boolean;
  /** Bytes per hour. */
  readonly slopePerHour: number;
  /** Bytes the fitted line grew over the window. */
  readonly growth: number;
  /** Twice the slope's standard error times the window, bytes. */
  readonly noise: number;
  readonly allowed: number;
  /** Seconds from the first to the last point. */
  readonly windowS: number;
}

/** Points are (seconds, bytes), at least three; `allowedBytes` >= 0. */
export function soakSeriesVerdict(
  points: ReadonlyArray<{ x: number; y: number }>,
  allowedBytes: number,
): SoakSeriesVerdict {
  if (points.length < 3) throw new RangeError(`need at least 3 samples, got ${points.length}`);
  if (!(allowedBytes >= 0)) throw new RangeError(`allowedBytes must be >= 0, got ${allowedBytes}`);
  const perSecond = slope(points);
  const mx = points.reduce((s, p) => s + p.x, 0) / points.length;
  const my = points.reduce((s, p) => s + p.y, 0) / points.length;
  const residuals = points.map((p) => p.y - (my + perSecond * (p.x - mx)));
  const sd = Math.sqrt(residuals.reduce((s, r) => s + r * r, 0) / (points.length - 2 || 1));
  const xs = points.map((p) => p.x);
  const windowS = Math.max(...xs) - Math.min(...xs);
  const sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  const growth = perSecond * windowS;
  const noise = sxx === 0 ? 0 : ((2 * sd) / Math.sqrt(sxx)) * windowS;
  return {
    flat: growth <= noise + allowedBytes,
    slopePerHour: perSecond * 3600,
    growth,
    noise,
    allowed: allowedBytes,
    windowS,
  };
}

const MB = 1024 * 1024;

/** One line, e.g. `RSS flat: slope 3.1 MB/h, +1.0 MB over 1200 s, within noise 4.2 MB + 2.0 MB allowed`. */
export function describeVerdict(what: string, v: SoakSeriesVerdict): string {
  const mb = (b: number) => (b / MB).toFixed(1);
  const sign = v.growth >= 0 ? '+' : '';
  return (
    `${what} ${v.flat ? 'flat' : 'GROWING'}: slope ${(v.slopePerHour / MB).toFixed(1)} MB/h, ` +
    `${sign}${mb(v.growth)} MB over ${v.windowS.toFixed(0)} s, ${v.flat ? 'within' : 'beyond'} ` +
    `noise ${mb(v.noise)} MB + ${mb(v.allowed)} MB allowed for the capped histories filling`
  );
}
