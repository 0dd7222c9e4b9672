/** `promtool check metrics` (Debian's prometheus package; make setup installs it) over a /metrics text. */
import { execFileSync, spawnSync } from 'node:child_process';

export function promtoolAvailable(): boolean {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

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
