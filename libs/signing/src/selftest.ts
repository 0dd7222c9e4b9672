/**
 * The signers' known-answer self-test: which signer a vectors file is for, running it
 * through that signer's runner, and running every signer's bundled vectors (what a process
 * that signs does at start, refusing to sign when a case fails).
 *
 * The runners come in as a registry (filled in index.ts), so this module knows no signer.
 */
import { readFileSync } from 'node:fs';
import { errorText } from '@perpmesh/core';
import type { VectorCaseResult } from './vectors.js';

export type SignerKind = 'lighter' | 'extended';

export const SIGNER_KINDS: readonly SignerKind[] = ['lighter', 'extended'];

const SIGNER_LABEL: Record<SignerKind, string> = { lighter: 'Lighter', extended: 'Extended' };

/** Runs every section and case of one vectors file of its signer's format. */
export type VectorsRunner = (file: unknown) => VectorCaseResult[];

export interface SignerRegistry {
  readonly lighter?: VectorsRunner;
  readonly extended: VectorsRunner;
}

export interface SignerVectorsRun {
  readonly kind: SignerKind;
  readonly results: VectorCaseResult[];
}

/** A file that is no signer's vectors format (the CLI reports it and exits 2). */
export class UnknownVectorsFormatError extends Error {
  constructor(why: string) {
    super(`not a signer vectors file: ${why}`);
    this.name = 'UnknownVectorsFormatError';
  }
}

/** Top-level sections only one format has. */
const SECTIONS_OF: Record<SignerKind, readonly string[]> = {
  lighter: ['goldilocks', 'gfp5', 'poseidon2', 'ecgfp5', 'schnorr', 'transactions', 'auth_token'],
  extended: ['orders', 'official_rust_unit_tests', 'stark_keys', 'ccxt_create_order_request'],
};

const DESCRIPTION_OF: Record<SignerKind, RegExp> = {
  lighter: /\blighter\b|zklighter/i,
  extended: /\bextended\b|starknet/i,
};

/** Which signer a vectors file is for, from its sections, else its description. */
export function detectSignerVectorsKind(file: unknown): SignerKind {
  if (typeof file !== 'object' || file === null || Array.isArray(file)) {
    throw new UnknownVectorsFormatError('the top level is not a JSON object');
  }
  const keys = Object.keys(file);
  const bySections = SIGNER_KINDS.filter((kind) =>
    SECTIONS_OF[kind].some((section) => keys.includes(section)),
  );
  if (bySections.length === 1) return bySections[0]!;
  if (bySections.length > 1) throw new UnknownVectorsFormatError('it has both Lighter and Extended sections');
  const description = (file as { description?: unknown }).description;
  const byDescription =
    typeof description === 'string'
      ? SIGNER_KINDS.filter((kind) => DESCRIPTION_OF[kind].test(description))
      : [];
  if (byDescription.length === 1) return byDescription[0]!;
  throw new UnknownVectorsFormatError(
    `no section of either format (Lighter: ${SECTIONS_OF.lighter.join(', ')}; Extended: ${SECTIONS_OF.extended.join(', ')})`,
  );
}

function notInThisBuild(kind: SignerKind): VectorCaseResult[] {
  return [
    { section: 'file', name: '(file)', ok: false, detail: `no ${SIGNER_LABEL[kind]} signer in this build` },
  ];
}

/** The vectors this library ships for `kind`: libs/signing/vectors/<kind>-vectors.json (from src/ and dist/). */
export function bundledVectorsUrl(kind: SignerKind): URL {
  return new URL(`../vectors/${kind}-vectors.json`, import.meta.url);
}

/** Runs a signer's bundled vectors; an unreadable bundle is one failed case. */
export function runBundledVectors(kind: SignerKind, runner: VectorsRunner): VectorCaseResult[] {
  const url = bundledVectorsUrl(kind);
  let file: unknown;
  try {
    file = JSON.parse(readFileSync(url, 'utf8'));
  } catch (e) {
    return [
      { section: 'file', name: `${kind}-vectors.json`, ok: false, detail: `cannot read: ${errorText(e)}` },
    ];
  }
  return runner(file);
}

/** The signers' self-test over one registry. */
export interface SignerSelfTest {
  /** Detects a file's format and runs it; throws UnknownVectorsFormatError for neither format. */
  runSignerVectors(file: unknown): SignerVectorsRun;
  /** Every registered signer's bundled vectors. */
  selfTestSigners(): SignerVectorsRun[];
  /** Throws SignerSelfTestError naming the failed cases unless every registered signer passes. */
  requireSignersSelfTest(): void;
}

/** A signer failed its known-answer vectors: the process must not sign. */
export class SignerSelfTestError extends Error {
  readonly failed: readonly (VectorCaseResult & { kind: SignerKind })[];
  constructor(failed: readonly (VectorCaseResult & { kind: SignerKind })[]) {
    const shown = failed
      .slice(0, 5)
      .map((r) => `${r.kind} ${r.section}/${r.name}${r.detail ? `: ${r.detail}` : ''}`)
      .join('; ');
    super(`signer self-test failed, refusing to sign (${failed.length} case(s)): ${shown}`);
    this.name = 'SignerSelfTestError';
    this.failed = failed;
  }
}

export function createSignerSelfTest(registry: SignerRegistry): SignerSelfTest {
  const runnerOf = (kind: SignerKind): VectorsRunner | undefined => registry[kind];
  const selfTestSigners = (): SignerVectorsRun[] =>
    SIGNER_KINDS.flatMap((kind) => {
      const runner = runnerOf(kind);
      return runner ? [{ kind, results: runBundledVectors(kind, runner) }] : [];
    });
  return {
    runSignerVectors(file) {
      const kind = detectSignerVectorsKind(file);
      const runner = runnerOf(kind);
      return { kind, results: runner ? runner(file) : notInThisBuild(kind) };
    },
    selfTestSigners,
    requireSignersSelfTest() {
      const failed = selfTestSigners().flatMap((run) =>
        run.results.filter((r) => !r.ok).map((r) => ({ ...r, kind: run.kind })),
      );
      if (failed.length > 0) throw new SignerSelfTestError(failed);
    },
  };
}
