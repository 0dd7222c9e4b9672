#!/usr/bin/env node
// Runs the test suite with node's own test runner over TypeScript sources (tsx).
// Usage: node scripts/test.mjs [tier...] [--files a.test.ts ...]
//   tiers: unit contract int e2e chaos venue browser deploy (default: all). Tier is in the file
//   name: foo.unit.test.ts, foo.contract.test.ts, foo.int.test.ts, foo.e2e.test.ts, ...
//   chaos: the short chaos run on its own nats-server/redis-server (tests/chaos);
//   deploy: containers for real (tests/deploy/*.deploy.test.ts; sets up a Docker engine).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const explicitFiles = args.includes('--files') ? args.slice(args.indexOf('--files') + 1) : [];
const tiers = (explicitFiles.length ? args.slice(0, args.indexOf('--files')) : args).filter(Boolean);

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else if (/\.test\.ts$/.test(name)) yield path;
  }
}

const files = explicitFiles.length
  ? explicitFiles
  : ['libs', 'services', 'bench', 'tests']
      .flatMap((d) => {
        try {
          return [...walk(join(root, d))];
        } catch {
          return [];
        }
      })
      .filter((f) => tiers.length === 0 || tiers.some((t) => f.endsWith(`.${t}.test.ts`)))
      .map((f) => relative(root, f))
      .sort();

if (files.length === 0) {
  console.error(`no test files for tiers: ${tiers.join(', ') || 'all'}`);
  console.log('0 passed, 0 failed');
  process.exit(1);
}

const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--conditions=@perpmesh/source',
    '--test',
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 3}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${join(root, 'scripts/summary-reporter.mjs')}`,
    '--test-reporter-destination=stdout',
    ...files,
  ],
  { cwd: root, stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
