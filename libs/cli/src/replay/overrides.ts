/** `--set key=value` flags (replay strategy, backtest) as config overrides. */
import { ValidationError } from '@perpmesh/core';

/** `key.sub=value` → nested override; the value is JSON when it parses as JSON, else text. */
export function parseOverrides(sets: readonly string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of sets ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new ValidationError('--set', `expected key=value, got ${JSON.stringify(kv)}`);
    const text = kv.slice(eq + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // plain text
    }
    out[kv.slice(0, eq)] = value;
  }
  return out;
}
