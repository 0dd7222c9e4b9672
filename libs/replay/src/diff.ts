/**
 * Field-by-field difference of two JSON values (a stored projection and its rebuild).
 * Exact: decimals are compared as the text they are stored as, so `1.50` and `1.5`
 * differ, and a number never equals its string.
 */

export interface FieldDifference {
  /** Where, as a JS-like path: `positions["paper|main|BTC-USDC-PERP"].size`. */
  readonly path: string;
  /** JSON text of the value on each side; `(missing)` when absent. */
  readonly live: string;
  readonly rebuilt: string;
}

export const MISSING = '(missing)';

function show(value: unknown): string {
  return value === undefined ? MISSING : JSON.stringify(value);
}

function child(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)
    ? path
      ? `${path}.${key}`
      : key
    : `${path}[${JSON.stringify(key)}]`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every leaf where `live` and `rebuilt` differ, in key order (sorted, so the report is stable). */
export function diffJson(live: unknown, rebuilt: unknown, path = ''): FieldDifference[] {
  if (Array.isArray(live) && Array.isArray(rebuilt)) {
    const out: FieldDifference[] = [];
    for (let i = 0; i < Math.max(live.length, rebuilt.length); i++) {
      out.push(...diffJson(live[i], rebuilt[i], child(path, i)));
    }
    return out;
  }
  if (isPlainObject(live) && isPlainObject(rebuilt)) {
    const keys = [...new Set([...Object.keys(live), ...Object.keys(rebuilt)])].sort();
    return keys.flatMap((k) => diffJson(live[k], rebuilt[k], child(path, k)));
  }
  if (Object.is(live, rebuilt)) return [];
  if (
    live === undefined ||
    rebuilt === undefined ||
    typeof live !== 'object' ||
    typeof rebuilt !== 'object'
  ) {
    return [{ path: path || '(root)', live: show(live), rebuilt: show(rebuilt) }];
  }
  // null against an object, or an object against an array.
  return [{ path: path || '(root)', live: show(live), rebuilt: show(rebuilt) }];
}

/** A value as the stores keep it: JSON (Decimals become their text through toJSON). */
export function asStored(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}
