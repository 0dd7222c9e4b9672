#!/usr/bin/env node
// Prints where a V8 sampling heap profile (.heapprofile: DevTools format, e.g. the soak probe's
// spike files, bench/soak-probe.mjs) allocated: bytes by allocating function (self) and by
// every function on the allocating stacks (inclusive), so a spike can be read without a browser.
//   node bench/heap-profile-summary.mjs /tmp/spikes/*.heapprofile [--top 25]
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
const files = args.filter((a, i) => a !== '--top' && i !== topAt + 1);
const MB = 1024 * 1024;

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const self = new Map();
  const inclusive = new Map();
  let total = 0;
  // Depth first; each node's selfSize is the sampled bytes allocated with exactly its stack.
  const walk = (node, stack) => {
    const f = node.callFrame;
    const where = f.url.replace(/^file:\/\/.*?\/(node_modules|libs|bench|tests|services)\//, '$1/');
    const key = `${f.functionName || '(anonymous)'}  ${where}:${f.lineNumber + 1}`;
    const here = [...stack, key];
    if (node.selfSize > 0) {
      total += node.selfSize;
      self.set(key, (self.get(key) ?? 0) + node.selfSize);
      for (const k of new Set(here)) inclusive.set(k, (inclusive.get(k) ?? 0) + node.selfSize);
    }
    for (const child of node.children ?? []) walk(child, here);
  };
  walk(profile.head, []);
  const print = (title, map) => {
    console.log(`  ${title}`);
    for (const [k, bytes] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(
        `    ${(bytes / MB).toFixed(1).padStart(8)} MB ${((100 * bytes) / total).toFixed(1).padStart(5)} %  ${k}`,
      );
    }
  };
  const heap =
    profile.heapUsed === undefined
      ? ''
      : `; heap in use ${(profile.heapUsed / MB).toFixed(0)} MB, lowest of the last 30 s ${(profile.heapUsedLow / MB).toFixed(0)} MB`;
  console.log(`${file}: ${(total / MB).toFixed(1)} MB sampled${heap}`);
  print('by allocating function (self)', self);
  print('by function on the stack (inclusive)', inclusive);
}
