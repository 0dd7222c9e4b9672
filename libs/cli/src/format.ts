/**
 * How operator output looks: plain tables for people (cli-table3, no colours so output
 * pipes and diffs cleanly), ages and intervals in short units, rates as percentages.
 * Decimals stay decimal: a rate is scaled with `Decimal`, never a float.
 */
import { dec } from '@perpmesh/core';
import Table from 'cli-table3';

/** Shown in a table cell where the service sent no value. */
export const NO_VALUE = '-';

/** `850ms`, `4.2s`, `3m12s`, `2h05m`, `3d04h`: an age or a time left, at a glance. */
export function formatDurationMs(ms: number): string {
  if (!Number.isFinite(ms)) return NO_VALUE;
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(Math.round(ms));
  if (abs < 1_000) return `${sign}${abs}ms`;
  if (abs < 60_000) return `${sign}${(Math.floor(abs / 100) / 10).toFixed(1)}s`;
  const totalS = Math.floor(abs / 1_000);
  if (abs < 3_600_000) return `${sign}${Math.floor(totalS / 60)}m${pad2(totalS % 60)}s`;
  const totalM = Math.floor(totalS / 60);
  if (abs < 86_400_000) return `${sign}${Math.floor(totalM / 60)}h${pad2(totalM % 60)}m`;
  const totalH = Math.floor(totalM / 60);
  return `${sign}${Math.floor(totalH / 24)}d${pad2(totalH % 24)}h`;
}

/** A funding interval: `8h`, `1h`, `30m`, `4h30m`. */
export function formatIntervalMs(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms <= 0) return NO_VALUE;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1_000);
  const parts = [h ? `${h}h` : '', m ? `${m}m` : '', s ? `${s}s` : ''].join('');
  return parts || `${ms}ms`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** A fraction as a percentage with `places` decimals (`"0.0001"` -> `0.0100%`); `-` if empty. */
export function formatPercent(fraction: string, places: number): string {
  if (fraction === '') return NO_VALUE;
  try {
    return `${dec(fraction).times(100).toFixed(places)}%`;
  } catch {
    return fraction;
  }
}

/** Decimal text as the service sent it; `-` when empty. */
export function formatDecimal(text: string): string {
  return text === '' ? NO_VALUE : text;
}

/** A plain table: header row, then one row per item; numbers right-aligned by `alignRight`. */
export function renderTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  options: { alignRight?: readonly number[] } = {},
): string {
  const right = new Set(options.alignRight ?? []);
  const table = new Table({
    head: [...head],
    colAligns: head.map((_, i) => (right.has(i) ? 'right' : 'left')),
    style: { head: [], border: [], compact: true },
  });
  for (const row of rows) table.push([...row]);
  return table.toString();
}
