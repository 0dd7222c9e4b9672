/**
 * Backtest throughput: the funding arb of config/perpmesh.yaml over synthetic tape
 * (`BACKTEST_BENCH_TAPE`, default synthetic:7:1h; `synthetic:7:1d` runs the whole day),
 * printed as steps per second of wall and of CPU time, the day it projects to, and the
 * ratio to the bare sim world stepped over the same tape in the same run (what the strategy,
 * its inputs and the bookkeeping add to the market itself). Prints the summary too, so a
 * run shows what it computed. `make backtest-day` is the same through the CLI. Both run with
 * the young generation `perpmesh backtest` starts with (libs/cli/src/young-generation.ts);
 * a `--max-semi-space-size` of your own on the command line wins.
 *   node --import tsx --conditions=@perpmesh/source bench/backtest.bench.ts
 */
import { performance } from 'node:perf_hooks';
import { defaultWorldConfig, observeOnly, SimWorld } from '@perpmesh/sim';
import { summaryLines } from '../libs/cli/src/backtest/command.js';
import { BACKTEST_START_MS, runBacktest } from '../libs/cli/src/backtest/engine.js';
import { restartWithYoungGeneration } from '../libs/cli/src/young-generation.js';
import { shippedArbBacktest } from './shipped-arb-backtest.js';

const restarted = await restartWithYoungGeneration();
if (restarted !== undefined) process.exit(restarted);

const DAY_STEPS = 86_400;
const tapeText = process.env.BACKTEST_BENCH_TAPE ?? 'synthetic:7:1h';
const { options, venueIds } = shippedArbBacktest(tapeText, 'BACKTEST_BENCH_TAPE');

function measure<T>(fn: () => Promise<T> | T): Promise<{ value: T; wallMs: number; cpuMs: number }> {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  return Promise.resolve(fn()).then((value) => {
    const cpu = process.cpuUsage(cpu0);
    return { value, wallMs: performance.now() - wall0, cpuMs: (cpu.user + cpu.system) / 1000 };
  });
}

const backtest = await measure(() => runBacktest(options));
const steps = backtest.value.steps;
// The floor: the same world (same venues, seed and start) stepped over the same tape, no
// strategy; no account observed, as the backtest's paper hub runs the background accounts.
const world = await measure(() => {
  const w = new SimWorld({
    ...defaultWorldConfig({
      seed: options.seed,
      startMs: BACKTEST_START_MS,
      venueIds,
    }),
    observeAccount: observeOnly([]),
  });
  for (let i = 0; i <= steps; i++) w.step(BACKTEST_START_MS + i * (options.stepMs ?? 1000));
});

const rate = (n: number, ms: number) => Math.round((n / ms) * 1000).toLocaleString('en-US');
console.log(
  `young generation: ${process.execArgv.find((a) => a.startsWith('--max-semi-space-size')) ?? "V8's default semi-space"}`,
);
console.log(summaryLines(backtest.value).join('\n'));
console.log(
  `${'backtest steps'.padEnd(28)} ${rate(steps, backtest.wallMs).padStart(8)}/s wall ${rate(steps, backtest.cpuMs).padStart(8)}/s CPU   ` +
    `a day: ${(((DAY_STEPS / steps) * backtest.wallMs) / 1000).toFixed(0)} s wall, ${(((DAY_STEPS / steps) * backtest.cpuMs) / 1000).toFixed(0)} s CPU`,
);
console.log(
  `${'world steps (no strategy)'.padEnd(28)} ${rate(steps, world.wallMs).padStart(8)}/s wall ${rate(steps, world.cpuMs).padStart(8)}/s CPU   ` +
    `backtest / world: ${(backtest.cpuMs / world.cpuMs).toFixed(1)}x the CPU`,
);
