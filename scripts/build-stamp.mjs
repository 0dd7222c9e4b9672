// The build's up-to-date check, for `make build`/`make run` and `npm start`: `tsc -b`
// compiles every project again only when something it reads changed. tsc's own check opens
// every project's build info and stats each source (over a second on this machine even
// when nothing changed); this one hashes the path, size and mtime of what the build reads,
// in a few milliseconds, and runs `tsc -b` (which stays the judge) whenever that differs
// from the last successful build's. What the build reads: each referenced project's
// tsconfig.json, package.json and src/ (files AND directories, so a deleted or added file
// counts), the root and base tsconfig, and the installed dependencies
// (node_modules/.package-lock.json). A project whose dist/.tsbuildinfo is gone (make clean)
// is always rebuilt. Paths are absolute, so a checkout moved elsewhere builds again.
//
// Every function takes the repository root (default: this checkout), for the tests.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const ROOT = new URL('..', import.meta.url).pathname;

/** Where the stamp, the start bundle and the background build's log live (never committed). */
export function cacheDir(root = ROOT) {
  return join(root, 'node_modules/.cache/perpmesh');
}

const stampPath = (root) => join(cacheDir(root), 'build-stamp');

function projects(root) {
  const config = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8'));
  return config.references.map((r) => r.path);
}

function* tree(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  yield dir;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* tree(path);
    else yield path;
  }
}

/** The fingerprint of everything `tsc -b` reads. */
export function buildInputsKey(root = ROOT) {
  const hash = createHash('sha256');
  const add = (path) => {
    try {
      const s = statSync(path);
      hash.update(`${path}\0${s.size}\0${s.mtimeMs}\n`);
    } catch {
      hash.update(`${path}\0absent\n`);
    }
  };
  for (const file of ['tsconfig.json', 'tsconfig.base.json', 'node_modules/.package-lock.json']) {
    add(join(root, file));
  }
  for (const project of projects(root)) {
    add(join(root, project, 'tsconfig.json'));
    add(join(root, project, 'package.json'));
    for (const path of tree(join(root, project, 'src'))) add(path);
  }
  return hash.digest('hex');
}

/**
 * The key of the current build: every project has its build output and the last successful
 * build read exactly what is there now. Undefined when the build is not current.
 */
export function currentBuildKey(root = ROOT) {
  const stamp = stampPath(root);
  if (!existsSync(stamp)) return undefined;
  if (!projects(root).every((p) => existsSync(join(root, p, 'dist/.tsbuildinfo')))) return undefined;
  const key = buildInputsKey(root);
  return readFileSync(stamp, 'utf8').trim() === key ? key : undefined;
}

/** True when every project has its build output and the last successful build read exactly what is there now. */
export function buildIsCurrent(root = ROOT) {
  return currentBuildKey(root) !== undefined;
}

/**
 * Runs `tsc -b` unless the build is current; returns its exit status (0 = built or current).
 * `announce` is printed before a build that really runs.
 */
export function buildIfChanged({ announce } = {}) {
  if (buildIsCurrent()) return 0;
  if (announce) console.error(announce);
  // Taken before the build: a file edited while tsc runs makes the next check build again.
  const key = buildInputsKey();
  // tsc's own entry point: `npx tsc` would add npm's start-up to every build.
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const build = spawnSync(process.execPath, [tsc, '-b'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) return build.status ?? 1;
  writeBuildStamp(key);
  return 0;
}

/** Records `key` (buildInputsKey() taken before a build that then succeeded) as built. */
export function writeBuildStamp(key, root = ROOT) {
  const stamp = stampPath(root);
  mkdirSync(dirname(stamp), { recursive: true });
  writeFileSync(stamp, `${key}\n`);
}
