/**
 * Where a chaos system's start goes: starts the system (paper or emulated venues, services
 * compiled or from the sources, tests/chaos/system.ts `servicesCompiled`), and prints per
 * service process the wall time from its spawn to /readyz 200 and the CPU it used by then
 * (/proc/<pid>/stat), beside the load average. Measures; asserts nothing.
 *
 *   node --import tsx --conditions=@perpmesh/source tests/chaos/start-main.ts
 *   CHAOS_VENUES=emulated|paper (default emulated)  PERPMESH_CHAOS_START=auto|source
 */
import { loadavg } from 'node:os';
import { eventually } from '@perpmesh/testing';
import { cpuMs } from '../../bench/proc-stats.js';
import { ChaosSystem } from './system.js';
import { inChaosTurn } from './turns.js';

const venues = process.env.CHAOS_VENUES === 'paper' ? 'paper' : 'emulated';
await inChaosTurn(async () => {
  const system = await ChaosSystem.create({ seed: 22, venues, compressedFunding: venues === 'paper' });
  const load = loadavg().map((l) => l.toFixed(1));
  const started = Date.now();
  const readyAt = new Map<string, { wallMs: number; cpuMs: number | undefined }>();
  try {
    const start = system.start();
    // Each process's own readiness, as it comes (system.start waits for all of them).
    await Promise.all(
      system.services().map(async ({ process: p }) => {
        // The services are spawned once the servers and the venues are up.
        await eventually(`${p.label} spawned`, () => (p.running ? true : undefined), {
          timeoutMs: 300_000,
          intervalMs: 20,
        });
        const spawned = Date.now();
        await p.waitReady({ timeoutMs: 300_000, intervalMs: 100 });
        readyAt.set(p.label, {
          wallMs: Date.now() - spawned,
          cpuMs: cpuMs(p.pid),
        });
      }),
    );
    await start;
    const rows = [...readyAt].map(([label, r]) => `| ${label} | ${r.wallMs} | ${r.cpuMs ?? '-'} |`);
    process.stdout.write(
      [
        `${venues} venues, services ${system.compiled ? 'compiled' : 'from the sources'}, load average at the start ${load.join(' ')}, all ready in ${Date.now() - started} ms`,
        '| process | spawn to ready, ms (wall) | its CPU by then, ms |',
        '|---|---|---|',
        ...rows,
        '',
      ].join('\n'),
    );
  } finally {
    await system.close();
  }
});
process.exit(0);
