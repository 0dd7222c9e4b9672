#!/usr/bin/env node
// `npm start`: builds when the compiled output is missing or older than the sources, then
// runs `perpmesh start` (the embedded system) with any extra arguments passed through.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
if (!existsSync(join(root, 'libs/cli/dist/main.js'))) {
  console.error('perpmesh: building (first start)…');
  const build = spawnSync('npx', ['tsc', '-b'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const child = spawn(
  process.execPath,
  [join(root, 'libs/cli/bin/perpmesh.js'), 'start', ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit' },
);
// Ctrl-C reaches the whole process group, the child included: forwarding it would count as
// a second signal (a forced exit). A SIGTERM/SIGHUP sent to this process alone (make or npm
// being stopped) is passed on, so the system stops with its starter, not as an orphan.
process.on('SIGINT', () => {});
for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) =>
  process.exit(code ?? (signal ? 128 + (signal === 'SIGTERM' ? 15 : 1) : 1)),
);
