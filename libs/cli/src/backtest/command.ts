/**
 * `perpmesh backtest <config> --tape synthetic:<seed>:<duration> | session:<dir>`: the
 * config's strategy (one of `strategy.instances`, `--strategy <id>` when there are several)
 * over the tape on the config's paper venues and accounts; a progress line, the summary,
 * and the equity chart as one HTML page (default
 * `<dataDir>/backtests/<id>-seed<seed>-<duration>.html`, `<id>-session-<session id>.html`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { type Decimal, ValidationError } from '@perpmesh/core';
import { configArgsFromArgv, loadConfig } from '@perpmesh/runtime';
import { parseStrategyInstances } from '@perpmesh/strategy/runtime';
import { paperHubOptionsFromConfig } from '@perpmesh/venues';
import type { CommandIo } from '../commands.js';
import { embeddedConfigSchema } from '../embedded.js';
import { parseOverrides } from '../replay/overrides.js';
import { equityChartHtml } from './chart.js';
import { type BacktestResult, runBacktest } from './engine.js';
import type { BacktestSummary } from './ledger.js';
import { loadSessionTape } from './session-tape.js';
import { parseDurationText, parseTape } from './tape.js';

export interface BacktestFlags {
  tape?: string;
  strategy?: string;
  step?: string;
  set?: string[];
  param?: string[];
  chart?: string;
  json?: boolean;
  /** Show the progress line (default: when stderr is a terminal). */
  progress?: boolean;
}

export async function backtestCommand(
  configPath: string,
  flags: BacktestFlags,
  io: Pick<CommandIo, 'out' | 'err'>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  if (!flags.tape)
    throw new ValidationError(
      '--tape',
      'is required: synthetic:<seed>:<duration> (e.g. synthetic:7:24h) or session:<dir>',
    );
  const tape = parseTape(flags.tape);
  const recorded = tape.kind === 'session' ? await loadSessionTape(tape.dir) : undefined;
  const { argvOverrides } = configArgsFromArgv((flags.set ?? []).flatMap((kv) => ['--set', kv]));
  const { config } = loadConfig(embeddedConfigSchema, { path: configPath, env, argvOverrides });
  const params = parseOverrides(flags.param);
  const wanted = flags.strategy ?? config.strategy.instances[0]?.id;
  const instances = parseStrategyInstances(
    config.strategy.instances.map((raw) => (raw.id === wanted ? withParams(raw, params) : raw)),
  );
  if (instances.length === 0) {
    throw new ValidationError('strategy.instances', `${configPath} has no strategy to backtest`);
  }
  const spec = flags.strategy === undefined ? instances[0] : instances.find((i) => i.id === flags.strategy);
  if (spec === undefined) {
    throw new ValidationError(
      '--strategy',
      `no strategy ${JSON.stringify(flags.strategy)} in ${configPath} (${instances.map((i) => i.id).join(', ')})`,
    );
  }
  if (flags.strategy === undefined && instances.length > 1) {
    io.err.write(
      `perpmesh backtest: ${instances.length} strategies in the config; running ${spec.id} (--strategy)\n`,
    );
  }
  const stepMs =
    flags.step === undefined ? config.strategy.tickInterval : parseDurationText(flags.step, '--step');
  const hub = paperHubOptionsFromConfig({
    venues: config.venues,
    paper: config.paper,
    clock: { kind: 'manual' },
  });
  const progress = flags.progress ?? (io.err as NodeJS.WriteStream).isTTY === true;
  const bar = progress ? progressLine(io.err) : undefined;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const result = await runBacktest({
    strategy: spec,
    hub: { ...(hub.venues ? { venues: hub.venues } : {}), accounts: hub.accounts ?? [] },
    seed: tape.kind === 'synthetic' ? tape.seed : 0,
    durationMs: recorded ? recorded.endMs - recorded.startMs : (tape as { durationMs: number }).durationMs,
    ...(recorded ? { recorded } : {}),
    stepMs,
    balancePollIntervalMs: config.strategy.balancePollInterval,
    balanceStaleAfterMs: config.strategy.balanceStaleAfter,
    ...(bar ? { onProgress: bar.update } : {}),
  });
  bar?.done();
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const lines = summaryLines(result);
  const chartName =
    tape.kind === 'synthetic'
      ? `${spec.id}-seed${tape.seed}-${flags.tape.split(':')[2]}`
      : `${spec.id}-session-${basename(resolve(tape.dir))}`;
  const chartPath = resolve(flags.chart ?? `${config.dataDir}/backtests/${chartName}.html`);
  mkdirSync(dirname(chartPath), { recursive: true });
  writeFileSync(chartPath, equityChartHtml(result, lines));
  if (flags.json) {
    io.out.write(`${JSON.stringify({ ...summaryJson(result), chart: chartPath }, null, 2)}\n`);
  } else {
    io.out.write(`${lines.join('\n')}\nchart: ${chartPath}\n`);
  }
  // Wall time is not part of the result (it differs run to run): stderr only.
  // CPU time too: on a shared machine the wall time says more about the neighbours.
  io.err.write(
    `perpmesh backtest: ${result.steps} steps in ${(wallMs / 1000).toFixed(1)} s (CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s)\n`,
  );
  return 0;
}

/** The instance's raw config with `--param key.sub=value` applied; an unknown key is an error (typos). */
export function withParams(
  raw: Readonly<Record<string, unknown>>,
  params: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out = structuredClone(raw) as Record<string, unknown>;
  for (const [path, value] of Object.entries(params)) {
    const keys = path.split('.');
    let at = out;
    for (const k of keys.slice(0, -1)) {
      const next = at[k];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) {
        throw new ValidationError('--param', `${path}: ${k} is not a section of the strategy config`);
      }
      at = next as Record<string, unknown>;
    }
    const last = keys[keys.length - 1] as string;
    if (!(last in at)) throw new ValidationError('--param', `${path}: no such key in the strategy config`);
    at[last] = value;
  }
  return out;
}

const money = (d: Decimal) => d.toFixed(2);

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}h${String(m).padStart(2, '0')}m${String(s % 60).padStart(2, '0')}s`;
}

/** The summary as printed (and shown under the chart): money rounded to cents for reading. */
export function summaryLines(result: BacktestResult): string[] {
  const s: BacktestSummary = result.summary;
  return [
    `backtest ${result.strategyId}: ${result.tape}, ${duration(result.durationMs)} of tape, step ${result.stepMs} ms`,
    `equity          ${money(s.startEquity)} -> ${money(s.endEquity)}`,
    `net PnL         ${money(s.netPnl)}`,
    `  funding       ${money(s.funding)}  (${s.fundingPayments} payments)`,
    `  price/basis   ${money(s.priceAndBasis)}`,
    `  fees          ${money(s.fees)}`,
    `  slippage      ${money(s.slippage)}`,
    `max drawdown    ${money(s.maxDrawdown)} (${s.maxDrawdownFraction.mul(100).toFixed(3)}%)`,
    `one-legged      ${duration(s.oneLeggedMs)}, ${s.oneLeggedNotionalSeconds.toFixed(0)} notional-seconds, peak ${money(s.maxOneLeggedNotional)}`,
    `orders          ${s.orders} placed, ${s.fills} fills, ${s.rejects} rejects, ${s.cancels} cancels; ${s.decisions} decisions`,
  ];
}

/** The whole summary with exact decimals (strings). */
export function summaryJson(result: BacktestResult): Record<string, unknown> {
  const summary: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(result.summary))
    summary[k] = typeof v === 'number' ? v : (v as Decimal).toFixed();
  return {
    strategyId: result.strategyId,
    tape: result.tape,
    seed: result.seed,
    durationMs: result.durationMs,
    stepMs: result.stepMs,
    steps: result.steps,
    summary,
  };
}

/** One self-rewriting terminal line, redrawn at most every 200 ms of wall time. */
function progressLine(err: NodeJS.WritableStream): {
  update: (doneMs: number, totalMs: number) => void;
  done: () => void;
} {
  const width = 30;
  let last = 0;
  const started = performance.now();
  const draw = (doneMs: number, totalMs: number) => {
    const fraction = totalMs === 0 ? 1 : doneMs / totalMs;
    const filled = Math.round(fraction * width);
    const elapsed = (performance.now() - started) / 1000;
    const eta = fraction > 0 ? elapsed / fraction - elapsed : 0;
    err.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(1)}% ` +
        `${duration(doneMs)} of ${duration(totalMs)} tape, ${elapsed.toFixed(0)} s elapsed, ~${eta.toFixed(0)} s left `,
    );
  };
  let lastArgs: [number, number] = [0, 0];
  return {
    update: (doneMs, totalMs) => {
      lastArgs = [doneMs, totalMs];
      const now = performance.now();
      if (now - last < 200 && doneMs < totalMs) return;
      last = now;
      draw(doneMs, totalMs);
    },
    done: () => {
      draw(...lastArgs);
      err.write('\n');
    },
  };
}
