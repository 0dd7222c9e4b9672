/**
 * Runs a TypeScript child script (through tsx, sources first) for the crash tests, with
 * its output collected; `onStdout` sees the output so far and may kill the child. The
 * child is SIGKILLed after `timeoutMs` at the latest.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface ChildRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runTsChild(
  script: string,
  args: readonly string[],
  opts: {
    readonly timeoutMs?: number;
    readonly onStdout?: (stdout: string, child: ChildProcess) => void;
  } = {},
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@perpmesh/source', script, ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      opts.onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
