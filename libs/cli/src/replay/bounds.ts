/**
 * `--from` / `--to` of the replay commands: per stream a sequence (`EXEC=120`), or a
 * stored time (`2026-12-06T13:00:00Z`, or ms since epoch). Repeatable; a later value for
 * the same stream (or a second time) replaces the earlier one.
 */
import { ValidationError } from '@perpmesh/core';
import type { ReplayBound } from '@perpmesh/replay';

const STREAM_SEQ = /^([A-Za-z0-9_-]+)=(\d+)$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

export function parseReplayBound(
  values: readonly string[] | undefined,
  field: string,
): ReplayBound | undefined {
  if (!values || values.length === 0) return undefined;
  const seqs: Record<string, number> = {};
  let timeMs: number | undefined;
  for (const value of values) {
    const pair = STREAM_SEQ.exec(value);
    if (pair) {
      const seq = Number(pair[2]);
      if (!Number.isSafeInteger(seq))
        throw new ValidationError(field, `sequence too large in ${JSON.stringify(value)}`);
      seqs[(pair[1] as string).toUpperCase()] = seq;
    } else if (/^\d{10,16}$/.test(value)) {
      timeMs = Number(value);
    } else if (ISO_TIME.test(value) && Number.isFinite(Date.parse(value))) {
      timeMs = Date.parse(value);
    } else {
      throw new ValidationError(
        field,
        `expected STREAM=seq (e.g. EXEC=120), an ISO time with zone (2026-12-06T13:00:00Z) or ms since epoch, got ${JSON.stringify(value)}`,
      );
    }
  }
  return { seqs, ...(timeMs === undefined ? {} : { timeMs }) };
}
