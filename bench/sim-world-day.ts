/**
 * A day of the simulator's world alone: perpmesh's world (config/perpmesh.yaml's paper venues,
 * the backtest's seed and start) over synthetic tape (`SIM_DAY_TAPE`, default synthetic:7:1d,
 * 86,400 steps of 1 s), no account observed (what the paper hub and a backtest build for the
 * background accounts). Prints CPU time of this process (process.cpuUsage) beside wall time,
 * steps per CPU-second against the target (a day in 10 s = 8,640 steps per CPU-second), and the
 * load average. No assertions. It runs with the young generation `perpmesh backtest` runs with
 * (libs/cli/src/young-generation.ts: started again with the flag when it lacks one); a
 * `--max-semi-space-size` of your own on the command line wins (16 is V8's default here).
 *   node --import tsx --conditions=@perpmesh/source bench/sim-world-day.ts
 * SIM_DAY_BEFORE=<commit> runs libs/sim at that commit instead, as bench/sim-ab.ts unpacked it
 * under node_modules/.sim-before (run sim-ab with the same SIM_BEFORE first).
 */

import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import * as workingTree from '@perpmesh/sim';
import { BACKTEST_START_MS } from '../libs/cli/src/backtest/engine.js';
import { restartWithYoungGeneration } from '../libs/cli/src/young-generation.js';
import { shippedArbBacktest } from './shipped-arb-backtest.js';

const restarted = await restartWithYoungGeneration();
if (restarted !== undefined) process.exit(restarted);

const TARGET_STEPS_PER_CPU_SECOND = 86_400 / 10;
const tapeText = process.env.SIM_DAY_TAPE ?? 'synthetic:7:1d';
const { options, venueIds } = shippedArbBacktest(tapeText, 'SIM_DAY_TAPE');
const stepMs = options.stepMs ?? 1000;
const steps = Math.floor(options.durationMs / stepMs);

const before = process.env.SIM_DAY_BEFORE;
let sim: typeof workingTree = workingTree;
if (before !== undefined) {
  const entry = `${new URL('..', import.meta.url).pathname}node_modules/.sim-before/${before}/libs/sim/src/index.ts`;
  if (!existsSync(entry))
    throw new Error(`SIM_DAY_BEFORE: ${entry} is missing (run bench/sim-ab.ts with SIM_BEFORE=${before})`);
  sim = (await import(entry)) as typeof workingTree;
}
const { defaultWorldConfig, observeOnly, SimWorld } = sim;

const load = loadavg();
const world = new SimWorld({
  ...defaultWorldConfig({ seed: options.seed, startMs: BACKTEST_START_MS, venueIds }),
  observeAccount: observeOnly([]),
});
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
let events = 0;
for (let i = 0; i <= steps; i++) events += world.step(BACKTEST_START_MS + i * stepMs).length;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000;
const wallMs = performance.now() - wall0;
const perCpuSecond = Math.round(((steps + 1) / cpuMs) * 1000);
const verdict =
  perCpuSecond >= TARGET_STEPS_PER_CPU_SECOND
    ? 'met'
    : `${(TARGET_STEPS_PER_CPU_SECOND / perCpuSecond).toFixed(2)}x short`;
const semiSpace = process.execArgv.find((a) => a.startsWith('--max-semi-space-size')) ?? 'default semi-space';
console.log(
  `${before === undefined ? 'working tree' : `libs/sim at ${before}`} (${semiSpace}): world over ${tapeText} (${venueIds?.join(', ') ?? 'default venues'}), none observed: ${steps + 1} steps, ${events} events\n` +
    `  ${(cpuMs / 1000).toFixed(1)} s CPU, ${(wallMs / 1000).toFixed(1)} s wall; ${perCpuSecond.toLocaleString('en-US')} steps per CPU-second ` +
    `(target ${TARGET_STEPS_PER_CPU_SECOND.toLocaleString('en-US')}: ${verdict})\n` +
    `  load average ${load.map((l) => l.toFixed(1)).join(' / ')} at the start, ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')} at the end (1 / 5 / 15 min)`,
);
