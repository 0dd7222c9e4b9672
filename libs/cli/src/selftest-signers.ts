/**
 * `perpmesh selftest signers [--vectors <file> ...]`: runs known-answer vectors files (the
 * Lighter and Extended formats) through this build's signers, or, with no file, every
 * signer's bundled vectors. One line per case, then a summary.
 *
 * Exit codes: 0 every case passed; 1 a case failed; 2 a file cannot be read or is no
 * signer's format (nothing is run then).
 */
import { readFile } from 'node:fs/promises';
import type { SignerVectorsRun } from '@perpmesh/signing';
import { EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE } from './cli-errors.js';

export interface SelftestSignersOptions {
  /** Vectors files; none means the bundled vectors of every signer. */
  vectors?: string[];
}

export interface SelftestSignersIo {
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

export async function selftestSignersCommand(
  opts: SelftestSignersOptions,
  io: SelftestSignersIo,
): Promise<number> {
  // Loaded here: the other commands should not pay for the curve libraries.
  const { detectSignerVectorsKind, runSignerVectors, selfTestSigners, UnknownVectorsFormatError } =
    await import('@perpmesh/signing');
  const runs: { label: string; run: SignerVectorsRun }[] = [];
  const files = opts.vectors ?? [];
  if (files.length === 0) {
    for (const run of selfTestSigners()) runs.push({ label: `${run.kind} (bundled vectors)`, run });
  } else {
    // Every file is read and recognised before any runs, so a typo costs nothing.
    const parsed: { path: string; file: unknown }[] = [];
    for (const path of files) {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        io.err.write(`perpmesh selftest signers: cannot read ${path}: ${firstLine(e)}\n`);
        return EXIT_UNAVAILABLE;
      }
      try {
        parsed.push({ path, file: JSON.parse(text) });
      } catch (e) {
        io.err.write(`perpmesh selftest signers: ${path} is not JSON: ${firstLine(e)}\n`);
        return EXIT_UNAVAILABLE;
      }
    }
    for (const { path, file } of parsed) {
      try {
        detectSignerVectorsKind(file);
      } catch (e) {
        if (!(e instanceof UnknownVectorsFormatError)) throw e;
        io.err.write(`perpmesh selftest signers: ${path}: ${e.message}\n`);
        return EXIT_UNAVAILABLE;
      }
    }
    for (const { path, file } of parsed) {
      const run = runSignerVectors(file);
      runs.push({ label: `${run.kind} ${path}`, run });
    }
  }
  let passed = 0;
  let failed = 0;
  for (const { label, run } of runs) {
    io.out.write(`# ${label}\n`);
    for (const result of run.results) {
      const name = `${result.section}/${result.name}`;
      if (result.ok) {
        passed += 1;
        io.out.write(`PASS ${name}\n`);
      } else {
        failed += 1;
        io.out.write(`FAIL ${name}: ${result.detail ?? 'failed'}\n`);
      }
    }
  }
  io.out.write(`${passed} passed, ${failed} failed\n`);
  return failed === 0 && passed > 0 ? EXIT_OK : EXIT_FAILED;
}
