/**
 * The young generation (V8's semi-space) for the processes that step a simulated world: a
 * backtest allocates short-lived objects (orders, events, Decimals) at a rate the default 16 MB
 * semi-space turns into a scavenge every few milliseconds; 32 MB took a day of the three-venue
 * world from ~13.5 to ~10.4 CPU-seconds (docs/performance.md, Simulator, "Session 7 (s7-simday2)").
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { constants } from 'node:os';

/** The semi-space size (MB) a world-stepping process runs with. */
export const WORLD_SEMI_SPACE_MB = 32;
export const WORLD_SEMI_SPACE_FLAG = `--max-semi-space-size=${WORLD_SEMI_SPACE_MB}`;

/**
 * The node arguments to start this process again with the world's semi-space, or undefined when
 * it already runs with a semi-space size of its own choosing (ours, or one the user set on the
 * command line or in NODE_OPTIONS: theirs wins).
 */
export function youngGenerationRestartArgs(
  execArgv: readonly string[],
  scriptArgv: readonly string[],
  nodeOptions: string | undefined,
): string[] | undefined {
  const setsSemiSpace = (arg: string) => /^--max[-_]semi[-_]space[-_]size(=|$)/.test(arg);
  if (execArgv.some(setsSemiSpace)) return undefined;
  if ((nodeOptions ?? '').split(/\s+/).some(setsSemiSpace)) return undefined;
  return [...execArgv, WORLD_SEMI_SPACE_FLAG, ...scriptArgv];
}

/** Signals a supervisor sends to this process alone, passed on to the restarted child. */
const FORWARDED_SIGNALS = ['SIGTERM', 'SIGHUP'] as const;

/**
 * Runs this script again in a child node with the world's semi-space when this process lacks
 * it, and resolves to the child's exit code; undefined when this process already has it (go on
 * here). Why a restart: `v8.setFlagsFromString` after start does not resize the semi-space
 * (measured: the new space stays at the default), and a worker thread's
 * `resourceLimits.maxYoungGenerationSizeMb` would need the command's output, exit code and
 * signals relayed; a restart costs one node start (~40 ms) against seconds of stepping.
 */
export async function restartWithYoungGeneration(): Promise<number | undefined> {
  const args = youngGenerationRestartArgs(process.execArgv, process.argv.slice(1), process.env.NODE_OPTIONS);
  if (args === undefined) return undefined;
  const child = spawn(process.execPath, args, { stdio: 'inherit' });
  // Ctrl-C reaches the child too (the terminal signals the whole group): this process waits for
  // it to finish its own way. A signal sent to this process alone (a supervisor's SIGTERM) is
  // passed on, so the child never outlives it.
  const ignore = () => {};
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', ignore);
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  try {
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    // A child ended by a signal: the shell's convention, 128 + the signal's number.
    if (code === null) return 128 + (signal ? constants.signals[signal] : 0);
    return code;
  } finally {
    process.off('SIGINT', ignore);
    for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
  }
}
