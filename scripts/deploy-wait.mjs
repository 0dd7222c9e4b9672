#!/usr/bin/env node
// Waits until every container of a compose project is running and healthy (both compose
// flavors: docker-compose 1.29 has no `up --wait`). On timeout it names the containers
// that are not, with the tail of their logs, and exits 1.
// Usage: node scripts/deploy-wait.mjs [project] [--timeout 240]
import { execFileSync } from 'node:child_process';

const args = process.argv.slice(2);
const project = args.find((a) => !a.startsWith('--')) ?? 'perpmesh';
const timeoutIndex = args.indexOf('--timeout');
const timeoutS = timeoutIndex >= 0 ? Number(args[timeoutIndex + 1]) : 240;

function containers() {
  const out = execFileSync(
    'docker',
    [
      'ps',
      '-a',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--format',
      '{{.Names}}\t{{.Status}}',
    ],
    { encoding: 'utf8' },
  );
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name, status] = line.split('\t');
      return { name, status, healthy: /^Up .*\(healthy\)/.test(status) };
    });
}

const deadline = Date.now() + timeoutS * 1000;
let last = [];
while (Date.now() < deadline) {
  last = containers();
  if (last.length > 0 && last.every((c) => c.healthy)) {
    console.log(`deploy-wait: ${last.length} containers healthy (${project})`);
    process.exit(0);
  }
  await new Promise((r) => setTimeout(r, 1000));
}
console.error(`deploy-wait: not healthy after ${timeoutS} s (${project}):`);
for (const c of last.filter((c) => !c.healthy)) {
  console.error(`  ${c.name}: ${c.status}`);
  try {
    console.error(
      execFileSync('docker', ['logs', '--tail', '15', c.name], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
  } catch (err) {
    console.error(`  (no logs: ${err.message})`);
  }
}
process.exit(1);
