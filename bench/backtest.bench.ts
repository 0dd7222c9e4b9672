/**
 * Backtest throughput: the funding arb of config/perpmesh.yaml over synthetic tape
 * (`BACKTEST_BENCH_TAPE`, default synthetic:7:1h; `synthetic:7:1d` runs the whole day),
 * printed as steps per second of wall and of CPU time, the day it projects to, and the
 * ratio to the bare sim world stepped over the same tape in the same run (what the strategy,
 * its inputs and the bookkeeping add to the market itself). Prints the summary too, so a
 * run shows what it computed. `make backtest-day` is the same through the CLI.
 *   node --import tsx --conditions=@perpmesh/source bench/backtest.bench.ts
 */
import { performance } from 'node:perf_hooks';
import { loadConfig } from '@perpmesh/runtime';
import { defaultWorldConfig, SimWorld } from '@perpmesh/sim';
import { parseStrategyInstances } from '@perpmesh/strategy/runtime';
import { paperHubOptionsFromConfig } from '@perpmesh/venues';
import { summaryLines } from '../libs/cli/src/backtest/command.js';
import { BACKTEST_START_MS, runBacktest } from '../libs/cli/src/backtest/engine.js';
import { parseTape } from '../libs/cli/src/backtest/tape.js';
import { embeddedConfigSchema } from '../libs/cli/src/embedded.js';

const DAY_STEPS = 86_400;
const tapeText = process.env.BACKTEST_BENCH_TAPE ?? 'synthetic:7:1h';
const tape = parseTape(tapeText, 'BACKTEST_BENCH_TAPE');
if (tape.kind !== 'synthetic') throw new Error('BACKTEST_BENCH_TAPE: a synthetic tape');

const root = new URL('..', import.meta.url).pathname;
const { config } = loadConfig(embeddedConfigSchema, { path: `${root}config/perpmesh.yaml`, env: {} });
const [spec] = parseStrategyInstances(config.strategy.instances.slice(0, 1));
const hub = paperHubOptionsFromConfig({
  venues: config.venues,
  paper: config.paper,
  clock: { kind: 'manual' },
});

function measure<T>(fn: () => Promise<T> | T): Promise<{ value: T; wallMs: number; cpuMs: number }> {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  return Promise.resolve(fn()).then((value) => {
    const cpu = process.cpuUsage(cpu0);
    return { value, wallMs: performance.now() - wall0, cpuMs: (cpu.user + cpu.system) / 1000 };
  });
}

const backtest = await measure(() =>
  runBacktest({
    strategy: spec!,
    hub: { ...(hub.venues ? { venues: hub.venues } : {}), accounts: hub.accounts ?? [] },
    seed: tape.seed,
    durationMs: tape.durationMs,
    stepMs: config.strategy.tickInterval,
  }),
);
const steps = backtest.value.steps;
// The floor: the same world (same venues, seed and start) stepped over the same tape, no strategy.
const world = await measure(() => {
  const w = new SimWorld(
    defaultWorldConfig({
      seed: tape.seed,
      startMs: BACKTEST_START_MS,
      venueIds: hub.venues?.map((v) => v.venueId),
    }),
  );
  for (let i = 0; i <= steps; i++) w.step(BACKTEST_START_MS + i * config.strategy.tickInterval);
});

const rate = (n: number, ms: number) => Math.round((n / ms) * 1000).toLocaleString('en-US');
console.log(summaryLines(backtest.value).join('\n'));
console.log(
  `${'backtest steps'.padEnd(28)} ${rate(steps, backtest.wallMs).padStart(8)}/s wall ${rate(steps, backtest.cpuMs).padStart(8)}/s CPU   ` +
    `a day: ${(((DAY_STEPS / steps) * backtest.wallMs) / 1000).toFixed(0)} s wall, ${(((DAY_STEPS / steps) * backtest.cpuMs) / 1000).toFixed(0)} s CPU`,
);
console.log(
  `${'world steps (no strategy)'.padEnd(28)} ${rate(steps, world.wallMs).padStart(8)}/s wall ${rate(steps, world.cpuMs).padStart(8)}/s CPU   ` +
    `backtest / world: ${(backtest.cpuMs / world.cpuMs).toFixed(1)}x the CPU`,
);
