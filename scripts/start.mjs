#!/usr/bin/env node
// `npm start`: builds when the compiled output is missing or older than the sources, then
// runs `perpmesh start` (the embedded system) with any extra arguments passed through.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
if (!existsSync(join(root, 'libs/cli/dist/main.js'))) {
  console.error('perpmesh: building (first start)…');
  const build = spawnSync('npx', ['tsc', '-b'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const run = spawnSync(
  process.execPath,
  [join(root, 'libs/cli/bin/perpmesh.js'), 'start', ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
process.exit(run.status ?? 1);
