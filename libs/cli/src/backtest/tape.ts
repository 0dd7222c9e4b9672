/**
 * What a backtest runs over: `synthetic:<seed>:<duration>` is the seeded sim world
 * (libs/sim) stepped on a manual clock for `<duration>` (`90m`, `24h`, `1d`, or ms);
 * `session:<dir>` is a recorded embedded session's market data (session-tape.ts).
 */
import { ValidationError } from '@perpmesh/core';

export interface SyntheticTape {
  readonly kind: 'synthetic';
  readonly seed: number;
  readonly durationMs: number;
}

export interface SessionTape {
  readonly kind: 'session';
  /** An embedded session directory (`data/sessions/<id>`). */
  readonly dir: string;
}

export type Tape = SyntheticTape | SessionTape;

const EXPECTED = 'synthetic:<seed>:<duration> or session:<dir>';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** `90m`, `24h`, `1d`, `30s`, `500ms` or a bare number of ms; errors name `field`. */
export function parseDurationText(text: string, field: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m)
    throw new ValidationError(
      field,
      `expected a duration such as 90m, 24h or 1d, got ${JSON.stringify(text)}`,
    );
  const ms = Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] as number);
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new ValidationError(
      field,
      `must be more than 0 and a safe number of ms, got ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

export function parseTape(text: string, field = '--tape'): Tape {
  const [kind, ...rest] = text.split(':');
  if (kind === 'synthetic') {
    if (rest.length !== 2) {
      throw new ValidationError(field, `expected synthetic:<seed>:<duration>, got ${JSON.stringify(text)}`);
    }
    const [seedText, durationText] = rest as [string, string];
    if (!/^\d+$/.test(seedText) || !Number.isSafeInteger(Number(seedText))) {
      throw new ValidationError(
        `${field} seed`,
        `must be a whole number >= 0, got ${JSON.stringify(seedText)}`,
      );
    }
    return {
      kind: 'synthetic',
      seed: Number(seedText),
      durationMs: parseDurationText(durationText, `${field} duration`),
    };
  }
  if (kind === 'session') {
    // The directory may itself hold ':' (everything after the first one is the path).
    const dir = text.slice('session:'.length);
    if (dir.trim().length === 0) {
      throw new ValidationError(`${field} session`, `expected session:<dir>, got ${JSON.stringify(text)}`);
    }
    return { kind: 'session', dir };
  }
  throw new ValidationError(field, `expected ${EXPECTED}, got ${JSON.stringify(text)}`);
}
