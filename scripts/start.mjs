#!/usr/bin/env node
// `make run` / `npm start`: runs `perpmesh start` (the embedded system) with any extra
// arguments passed through, without waiting for the compiler:
// - the build is current (scripts/build-stamp.mjs: nothing it reads changed since the last
//   successful `tsc -b`; checked in milliseconds): the compiled output runs, as deployed;
// - otherwise (a fresh clone, an edited source): the TypeScript sources run through tsx
//   (the way the tests run them), and `tsc -b` runs beside at the lowest CPU priority; its
//   result is one line here (errors in node_modules/.cache/perpmesh/build.log), and the next
//   start runs the compiled output. A full build takes about a minute of CPU; the system is
//   up in seconds either way.
// PERPMESH_START=built builds first (waiting) and runs the compiled output; =source always
// runs the sources and builds nothing.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildIfChanged,
  buildInputsKey,
  buildIsCurrent,
  ROOT as root,
  writeBuildStamp,
} from './build-stamp.mjs';

const how = process.env.PERPMESH_START ?? 'auto';
if (!['auto', 'built', 'source'].includes(how)) {
  console.error(`perpmesh: PERPMESH_START must be auto, built or source (got ${JSON.stringify(how)})`);
  process.exit(2);
}
if (how === 'built') {
  const built = buildIfChanged({ announce: 'perpmesh: building (sources changed since the last build)…' });
  if (built !== 0) process.exit(built);
}
const fromSource = how === 'source' || (how === 'auto' && !buildIsCurrent());
const args = ['start', ...process.argv.slice(2)];
const child = spawn(
  process.execPath,
  fromSource
    ? ['--import', 'tsx', '--conditions=@perpmesh/source', join(root, 'libs/cli/src/bin.ts'), ...args]
    : [join(root, 'libs/cli/bin/perpmesh.js'), ...args],
  { cwd: root, stdio: 'inherit' },
);
if (fromSource && how === 'auto') buildBeside();

// Ctrl-C reaches the whole process group, the child included: forwarding it would count as
// a second signal (a forced exit). A SIGTERM/SIGHUP sent to this process alone (make or npm
// being stopped) is passed on, so the system stops with its starter, not as an orphan.
process.on('SIGINT', () => {});
for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) =>
  process.exit(code ?? (signal ? 128 + (signal === 'SIGTERM' ? 15 : 1) : 1)),
);

/** `tsc -b` at nice 19 beside the running system; says in one line how it went. */
function buildBeside() {
  console.error('perpmesh: running from the TypeScript sources; compiling beside it for the next start');
  const logDir = join(root, 'node_modules/.cache/perpmesh');
  mkdirSync(logDir, { recursive: true });
  const logPath = join(logDir, 'build.log');
  const log = openSync(logPath, 'w');
  // Taken before the build: a file edited while tsc runs makes the next start check again.
  const key = buildInputsKey();
  const tsc = spawn(
    'nice',
    ['-n', '19', process.execPath, join(root, 'node_modules/typescript/bin/tsc'), '-b'],
    { cwd: root, stdio: ['ignore', log, log] },
  );
  // The build must never keep the starter alive on its own, nor fail it.
  tsc.unref();
  tsc.on('error', () => {});
  tsc.on('exit', (code, signal) => {
    if (code === 0) {
      writeBuildStamp(key);
      console.error('perpmesh: compiled in the background: the next start runs the compiled output');
    } else if (signal === null) {
      console.error(`perpmesh: the background build FAILED (type errors?): see ${logPath}`);
    }
  });
  // Stop it with the system (make run stopped by SIGTERM to the starter alone).
  process.on('exit', () => tsc.kill('SIGTERM'));
}
