#!/usr/bin/env node
// The start bundle: the compiled `perpmesh` command (libs/cli/dist/bin.js and everything it
// imports, node_modules included) packed by esbuild into a few files, so a start loads ~20
// files instead of ~800 (module resolution and loading were the largest part of an
// unchanged start's CPU). It is a packaging of the `tsc -b` output, nothing else: made
// only from a current build, kept per build key (scripts/build-stamp.mjs) in
// node_modules/.cache/perpmesh/start-bundle/<key>/, and used by scripts/start.mjs only while
// that key is the current build's. Production (images, services) runs the tsc output.
// - Code splitting: what the sources import lazily (the start itself, the emulators, the
//   venue ports and signers, nats.js, ioredis) stays a separate chunk loaded on first use,
//   and every module exists once (one class identity across chunks).
// - Paths: a module's `import.meta.url`, `__dirname` and `__filename` keep naming its own
//   file (the protos, the dashboard's files and the signer vectors are found next to it).
// - ccxt (65 MB of sources, loaded only for a ccxt venue) stays an ordinary package import.
// - Source maps chain to the TypeScript sources: started with --enable-source-maps, a stack
//   trace names libs/<lib>/src/<file>.ts.
//   node scripts/bundle.mjs              bundles the current build unless its bundle exists
//   node scripts/bundle.mjs --key <key>  bundles the build whose stamp is <key> (after a build)
//   node scripts/bundle.mjs --out <dir>  bundles the current compiled output into <dir> (tests)
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cacheDir, currentBuildKey, ROOT } from './build-stamp.mjs';

/** Bundles of older builds kept beside the current one (a running system may still load their lazy chunks). */
const KEEP_OLDER_BUNDLES = 2;

/** Packages left to node's own loader (see the header). */
const EXTERNAL = ['ccxt'];

export function bundlesDir(root = ROOT) {
  return join(cacheDir(root), 'start-bundle');
}

/** The bundle's entry point for build `key` (it exists once that bundle is complete). */
export function bundleEntry(key, root = ROOT) {
  return join(bundlesDir(root), key, 'perpmesh.mjs');
}

export function bundleIsCurrent(key, root = ROOT) {
  return key !== undefined && existsSync(bundleEntry(key, root));
}

/**
 * Rewrites what a bundled module would otherwise resolve against the bundle's own file:
 * `import.meta.url` becomes the module's file URL; a CommonJS module that uses `__dirname`
 * or `__filename` gets its own (an ES module cannot use them without declaring them).
 * Returns undefined when nothing needs it.
 */
export function keepModulePaths(text, path) {
  const usesMeta = text.includes('import.meta.url');
  const usesDir =
    /\b__(?:dirname|filename)\b/.test(text) &&
    !/\bimport\.meta\b/.test(text) &&
    !/\b(?:const|let|var|function)\s+__(?:dirname|filename)\b/.test(text);
  if (!usesMeta && !usesDir) return undefined;
  let out = usesMeta ? text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(path).href)) : text;
  if (usesDir) {
    out = `var __filename = ${JSON.stringify(path)}, __dirname = ${JSON.stringify(dirname(path))};${out}`;
  }
  return out;
}

/**
 * Bundles libs/cli/dist/bin.js into `outDir` (written beside, then renamed in). A complete
 * bundle already there is kept: another bundler of the same build finished first, and a
 * start may be loading it.
 */
export async function writeStartBundle(outDir, root = ROOT) {
  const entry = join(root, 'libs/cli/dist/bin.js');
  if (!existsSync(entry)) throw new Error(`no compiled CLI at ${entry}: run make build first`);
  const esbuild = await import('esbuild');
  const tmp = `${outDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    await esbuild.build({
      entryPoints: { perpmesh: entry },
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outdir: tmp,
      outExtension: { '.js': '.mjs' },
      chunkNames: 'chunk-[hash]',
      sourcemap: 'linked',
      sourcesContent: false,
      external: EXTERNAL,
      logLevel: 'error',
      // Bundled CommonJS calls require() for node's built-ins.
      banner: {
        js: "import { createRequire as __perpmeshCreateRequire } from 'node:module'; const require = __perpmeshCreateRequire(import.meta.url);",
      },
      plugins: [
        {
          name: 'keep-module-paths',
          setup(build) {
            build.onLoad({ filter: /\.[cm]?js$/ }, (args) => {
              const contents = keepModulePaths(readFileSync(args.path, 'utf8'), args.path);
              return contents === undefined
                ? undefined
                : { contents, loader: 'js', resolveDir: dirname(args.path) };
            });
          },
        },
      ],
    });
    if (existsSync(join(outDir, 'perpmesh.mjs'))) return;
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(dirname(outDir), { recursive: true });
    renameSync(tmp, outDir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Bundles the build `key` into its own directory and drops all but the newest older ones. */
export async function bundleBuild(key, root = ROOT) {
  const dir = bundlesDir(root);
  await writeStartBundle(join(dir, key), root);
  const older = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== key && !e.name.includes('.tmp-'))
    .map((e) => ({ path: join(dir, e.name), mtimeMs: statSync(join(dir, e.name)).mtimeMs }))
    .sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const { path } of older.slice(KEEP_OLDER_BUNDLES)) rmSync(path, { recursive: true, force: true });
}

async function main(args) {
  const flag = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const out = flag('--out');
  if (out !== undefined) {
    await writeStartBundle(out);
    return 0;
  }
  const key = flag('--key') ?? currentBuildKey();
  if (key === undefined) {
    console.error('perpmesh: no start bundle: the build is not current (make build first)');
    return 1;
  }
  if (!bundleIsCurrent(key)) await bundleBuild(key);
  return 0;
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`perpmesh: bundling the start failed: ${err instanceof Error ? err.message : err}`);
      process.exit(1);
    },
  );
}
