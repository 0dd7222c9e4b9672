#!/usr/bin/env node
// Prints the top self-time functions of one or more V8 .cpuprofile files (node --cpu-prof),
// and the same rolled up by file, so a profile can be read without a browser.
//   node bench/profile-summary.mjs /tmp/prof/*.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
const files = args.filter((a, i) => a !== '--top' && i !== topAt + 1);

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  // samples[i] ran for timeDeltas[i + 1] (the gap to the next sample).
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const fn = new Map();
  const byFile = new Map();
  for (const [id, us] of selfUs) {
    const { callFrame: f } = byId.get(id);
    const where = f.url.replace(/^file:\/\/.*?\/(node_modules|libs|bench|tests|services)\//, '$1/');
    const key = `${f.functionName || '(anonymous)'}  ${where}:${f.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const fileKey = where || `(${f.functionName})`;
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us);
  }
  // Inclusive time: each sampled node's time counted once for every distinct function on its stack.
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map();
  for (const [id, us] of selfUs) {
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const { callFrame: f } = byId.get(at);
      if (!f.url.includes('/libs/')) continue;
      const key = `${f.functionName || '(anonymous)'}  ${f.url.replace(/^.*\/libs\//, 'libs/')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  console.log(`\n== ${file}: ${(total / 1000).toFixed(0)} ms sampled`);
  console.log('-- top self time by function');
  for (const [k, us] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);
  console.log('-- inclusive time of our own functions (libs/)');
  for (const [k, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${pct(us)}  ${k}`);
  console.log('-- self time by file');
  for (const [k, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${pct(us)}  ${k}`);
}
