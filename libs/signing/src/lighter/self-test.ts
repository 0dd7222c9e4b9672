/**
 * The start-up self-test of a process that signs Lighter transactions: runs the known-answer
 * vectors shipped in libs/signing/vectors against this implementation. A signing process must
 * refuse to sign when `ok` is false.
 */
import { readFileSync } from 'node:fs';
import type { VectorCaseResult } from '../vectors.js';
import { runLighterVectors } from './vectors.js';

/** The bundled file, at the same place relative to src/lighter and dist/lighter. */
export const LIGHTER_VECTORS_URL = new URL('../../vectors/lighter-vectors.json', import.meta.url);

let cached: { ok: boolean; results: VectorCaseResult[] } | undefined;

/** Runs once per process (the result is kept): every bundled case must pass. */
export function lighterSelfTest(): { ok: boolean; results: VectorCaseResult[] } {
  if (cached) return cached;
  let results: VectorCaseResult[];
  try {
    results = runLighterVectors(JSON.parse(readFileSync(LIGHTER_VECTORS_URL, 'utf8')));
  } catch (err) {
    const detail = `cannot read the bundled vectors: ${err instanceof Error ? err.message : String(err)}`;
    results = [{ section: 'file', name: 'lighter-vectors.json', ok: false, detail }];
  }
  cached = { ok: results.length > 0 && results.every((r) => r.ok), results };
  return cached;
}
