/** The `perpmesh replay ...` commands: read-only over a session or a deployment. */
import { ValidationError } from '@perpmesh/core';
import { explain, replayProjections, replayStrategy } from '@perpmesh/replay';
import { EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE } from '../cli-errors.js';
import type { CommandIo } from '../commands.js';
import { parseReplayBound } from './bounds.js';
import { formatExplanation, formatReplayProjections, formatReplayStrategy } from './format.js';
import { parseOverrides } from './overrides.js';
import { openReplaySource, type ReplaySourceOptions } from './source.js';

export interface ReplayProjectionsFlags extends ReplaySourceOptions {
  readonly from?: string[];
  readonly to?: string[];
  readonly consumerName?: string;
  readonly json?: boolean;
}

/** Exit 0: the rebuild matches; 1: a difference; 2: it could not be checked. */
export async function replayProjectionsCommand(
  flags: ReplayProjectionsFlags,
  io: CommandIo,
): Promise<number> {
  const from = parseReplayBound(flags.from, '--from');
  const to = parseReplayBound(flags.to, '--to');
  const source = await openReplaySource(flags);
  try {
    const report = await replayProjections({
      reader: source.reader,
      live: source.live,
      subjects: source.subjects,
      streamPrefix: source.streamPrefix,
      consumerName: flags.consumerName ?? 'account',
      window: { from, to },
    });
    if (flags.json) {
      io.out.write(`${JSON.stringify({ source: source.description, ...report }, null, 2)}\n`);
    } else {
      io.out.write(`replay projections: ${source.description} (read-only)\n`);
      for (const line of formatReplayProjections(report)) io.out.write(`${line}\n`);
    }
    if (report.differences > 0) return EXIT_FAILED;
    return report.problems > 0 ? EXIT_UNAVAILABLE : EXIT_OK;
  } finally {
    await source.close();
  }
}

export interface ReplayStrategyFlags extends ReplaySourceOptions {
  readonly set?: string[];
  /** Input number to start from (the nearest snapshot at or before it). */
  readonly fromInput?: string;
  readonly json?: boolean;
}

/**
 * Exit 0: identical decisions (or, with --set, the differences were shown); 1: a
 * non-determinism (no --set); 2: nothing to replay or an input could not be re-derived.
 */
export async function replayStrategyCommand(
  strategyId: string,
  flags: ReplayStrategyFlags,
  io: CommandIo,
): Promise<number> {
  const overrides = parseOverrides(flags.set);
  const checking = Object.keys(overrides).length === 0;
  const source = await openReplaySource(flags);
  try {
    const report = await replayStrategy({
      reader: source.reader,
      subjects: source.subjects,
      streamPrefix: source.streamPrefix,
      strategyId,
      overrides,
      ...(flags.fromInput === undefined ? {} : { fromInput: inputNumber(flags.fromInput) }),
    });
    if (flags.json) {
      io.out.write(`${JSON.stringify({ source: source.description, ...report }, null, 2)}\n`);
    } else {
      io.out.write(`replay strategy ${strategyId}: ${source.description} (read-only)\n`);
      for (const line of formatReplayStrategy(report, checking)) io.out.write(`${line}\n`);
    }
    if (report.runs === 0) {
      io.err.write(
        `perpmesh replay strategy: no journal of strategy ${JSON.stringify(strategyId)} in the log\n`,
      );
      return EXIT_UNAVAILABLE;
    }
    if (checking && report.firstDivergence) return EXIT_FAILED;
    return report.problems.length > 0 ? EXIT_UNAVAILABLE : EXIT_OK;
  } finally {
    await source.close();
  }
}

export interface ExplainFlags extends ReplaySourceOptions {
  readonly json?: boolean;
}

/** Exit 0: explained; 1: nothing in the log with that id. */
export async function explainCommand(target: string, flags: ExplainFlags, io: CommandIo): Promise<number> {
  const source = await openReplaySource(flags);
  try {
    const x = await explain({
      reader: source.reader,
      subjects: source.subjects,
      streamPrefix: source.streamPrefix,
      target,
    });
    if (flags.json) io.out.write(`${JSON.stringify(x, null, 2)}\n`);
    else for (const line of formatExplanation(x)) io.out.write(`${line}\n`);
    return x.timeline.length === 0 ? EXIT_FAILED : EXIT_OK;
  } finally {
    await source.close();
  }
}

function inputNumber(text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new ValidationError(
      '--from-input',
      `expected an input number (#n in the report), got ${JSON.stringify(text)}`,
    );
  }
  return Number(text);
}
