#!/usr/bin/env node
// `make run` / `npm start`: runs `perpmesh start` (the embedded system) with any extra
// arguments passed through, without waiting for the compiler:
// - the build is current (scripts/build-stamp.mjs: nothing it reads changed since the last
//   successful `tsc -b`; checked in milliseconds): the compiled output runs, as deployed,
//   from its start bundle (scripts/bundle.mjs: the same code packed into a few files, ~0.4 s
//   less CPU than loading ~800 modules); a build without its bundle yet runs file by file
//   and bundles beside it, for the next start;
// - otherwise (a fresh clone, an edited source): the TypeScript sources run through tsx
//   (the way the tests run them), and `tsc -b` runs beside at the lowest CPU priority; its
//   result is one line here (errors in node_modules/.cache/perpmesh/build.log), and the next
//   start runs the compiled output. A full build takes about a minute of CPU; the system is
//   up in seconds either way.
// PERPMESH_START=built builds first (waiting) and runs the compiled output; =source always
// runs the sources and builds nothing. PERPMESH_BUNDLE=off runs the compiled output file by
// file (no bundle).
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  buildIfChanged,
  buildInputsKey,
  cacheDir,
  currentBuildKey,
  ROOT as root,
  writeBuildStamp,
} from './build-stamp.mjs';
import { bundleEntry, bundleIsCurrent } from './bundle.mjs';

const how = process.env.PERPMESH_START ?? 'auto';
if (!['auto', 'built', 'source'].includes(how)) {
  console.error(`perpmesh: PERPMESH_START must be auto, built or source (got ${JSON.stringify(how)})`);
  process.exit(2);
}
const bundling = process.env.PERPMESH_BUNDLE !== 'off';
if (how === 'built') {
  const built = buildIfChanged({ announce: 'perpmesh: building (sources changed since the last build)…' });
  if (built !== 0) process.exit(built);
}
const key = how === 'source' ? undefined : currentBuildKey();
if (how === 'built' && key === undefined) {
  console.error('perpmesh: the build finished but is not current (a source changed meanwhile?): run again');
  process.exit(1);
}
const bundled = bundling && bundleIsCurrent(key);
const args = ['start', ...process.argv.slice(2)];
if (bundled) {
  // The bundle runs in this process (one node start less); stack traces through its source
  // maps name the TypeScript sources. The CLI reads its arguments from process.argv.
  const entry = bundleEntry(key);
  process.setSourceMapsEnabled(true);
  process.argv = [process.argv[0], entry, ...args];
  await import(pathToFileURL(entry).href);
} else {
  runChild(
    key === undefined
      ? ['--import', 'tsx', '--conditions=@perpmesh/source', join(root, 'libs/cli/src/bin.ts'), ...args]
      : [join(root, 'libs/cli/bin/perpmesh.js'), ...args],
  );
  if (key === undefined && how === 'auto') buildBeside();
  else if (key !== undefined && bundling) bundleBeside(key);
}

/** Runs the system in a child node (the sources need tsx's loader) and exits with it. */
function runChild(nodeArgs) {
  const child = spawn(process.execPath, nodeArgs, { cwd: root, stdio: 'inherit' });
  // Ctrl-C reaches the whole process group, the child included: forwarding it would count as
  // a second signal (a forced exit). A SIGTERM/SIGHUP sent to this process alone (make or npm
  // being stopped) is passed on, so the system stops with its starter, not as an orphan.
  process.on('SIGINT', () => {});
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) =>
    process.exit(code ?? (signal ? 128 + (signal === 'SIGTERM' ? 15 : 1) : 1)),
  );
}

/** A background job at nice 19 that never keeps the starter alive nor fails it; stopped with the system. */
function beside(command, logName, onExit) {
  mkdirSync(cacheDir(), { recursive: true });
  const logPath = join(cacheDir(), logName);
  const log = openSync(logPath, 'w');
  const job = spawn('nice', ['-n', '19', process.execPath, ...command], {
    cwd: root,
    stdio: ['ignore', log, log],
  });
  job.unref();
  job.on('error', () => {});
  job.on('exit', (code, signal) => onExit(code, signal, logPath));
  // Stop it with the system (make run stopped by SIGTERM to the starter alone).
  process.on('exit', () => job.kill('SIGTERM'));
}

/** `tsc -b` (then the start bundle) beside the running system; says in one line how it went. */
function buildBeside() {
  console.error('perpmesh: running from the TypeScript sources; compiling beside it for the next start');
  // Taken before the build: a file edited while tsc runs makes the next start check again.
  const key = buildInputsKey();
  beside([join(root, 'node_modules/typescript/bin/tsc'), '-b'], 'build.log', (code, signal, logPath) => {
    if (code === 0) {
      writeBuildStamp(key);
      console.error('perpmesh: compiled in the background: the next start runs the compiled output');
      if (bundling) bundleBeside(key);
    } else if (signal === null) {
      console.error(`perpmesh: the background build FAILED (type errors?): see ${logPath}`);
    }
  });
}

/** Packs the build `key` into its start bundle beside the running system (silent unless it fails). */
function bundleBeside(key) {
  beside([join(root, 'scripts/bundle.mjs'), '--key', key], 'bundle.log', (code, signal, logPath) => {
    if (code !== 0 && signal === null) {
      console.error(`perpmesh: bundling the start FAILED (starts run file by file): see ${logPath}`);
    }
  });
}
