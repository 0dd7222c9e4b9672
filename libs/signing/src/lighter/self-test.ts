/**
 * The start-up self-test of a process that signs Lighter transactions: runs the known-answer
 * vectors shipped in libs/signing/vectors against this implementation. A signing process must
 * refuse to sign when `ok` is false.
 */
import { bundledVectorsUrl, runBundledVectors } from '../selftest.js';
import type { VectorCaseResult } from '../vectors.js';
import { runLighterVectors } from './vectors.js';

/** The bundled file, at the same place relative to src/lighter and dist/lighter. */
export const LIGHTER_VECTORS_URL = bundledVectorsUrl('lighter');

let cached: { ok: boolean; results: VectorCaseResult[] } | undefined;

/** Runs once per process (the result is kept): every bundled case must pass. */
export function lighterSelfTest(): { ok: boolean; results: VectorCaseResult[] } {
  if (cached) return cached;
  const results = runBundledVectors('lighter', runLighterVectors);
  cached = { ok: results.length > 0 && results.every((r) => r.ok), results };
  return cached;
}
