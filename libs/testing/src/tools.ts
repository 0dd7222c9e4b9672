/** Command-line tools tests use: is one on PATH; `promtool check metrics` (Debian prometheus; make setup installs it). */
import { execFileSync, spawnSync } from 'node:child_process';

/** True when `command --version` runs (the tool is on PATH). */
export function commandAvailable(command: string): boolean {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const promtoolAvailable = (): boolean => commandAvailable('promtool');

/** The problems promtool reports for an exposition (empty when it passes). */
export function promtoolProblems(exposition: string): string {
  const run = spawnSync('promtool', ['check', 'metrics'], {
    input: exposition,
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (run.error) throw run.error;
  return run.status === 0
    ? ''
    : `${run.stdout}${run.stderr}`.trim() || `promtool exited ${String(run.status)}`;
}
