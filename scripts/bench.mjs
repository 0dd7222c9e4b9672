#!/usr/bin/env node
// Runs every bench/*.bench.ts (or the ones named) one after another. Each bench prints
// its own table of ratios against a baseline measured side by side in the same run.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const wanted = process.argv.slice(2);
const benches = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)))
  .sort();
let failed = 0;
for (const file of benches) {
  console.log(`\n=== bench/${file}`);
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--conditions=@perpmesh/source', join('bench', file)],
    { cwd: root, stdio: 'inherit' },
  );
  if (run.status !== 0) failed += 1;
}
console.log(`\n${benches.length - failed} benches ran, ${failed} failed`);
process.exit(failed ? 1 : 0);
