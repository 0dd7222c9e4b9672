/**
 * The funding arb of config/perpmesh.yaml over a synthetic tape, as the benches run it
 * (bench/backtest.bench.ts, bench/sim-fingerprint.ts): the backtest's options and the
 * paper venues it trades on.
 */
import { loadConfig } from '@perpmesh/runtime';
import { parseStrategyInstances } from '@perpmesh/strategy/runtime';
import { paperHubOptionsFromConfig } from '@perpmesh/venues';
import type { BacktestOptions } from '../libs/cli/src/backtest/engine.js';
import { parseTape } from '../libs/cli/src/backtest/tape.js';
import { embeddedConfigSchema } from '../libs/cli/src/embedded.js';

/** `tapeText` is synthetic:<seed>:<duration>; `field` names where it came from in errors. */
export function shippedArbBacktest(
  tapeText: string,
  field: string,
): { readonly options: BacktestOptions; readonly venueIds: readonly string[] | undefined } {
  const tape = parseTape(tapeText, field);
  if (tape.kind !== 'synthetic') throw new Error(`${field}: a synthetic tape`);
  const root = new URL('..', import.meta.url).pathname;
  const { config } = loadConfig(embeddedConfigSchema, { path: `${root}config/perpmesh.yaml`, env: {} });
  const [spec] = parseStrategyInstances(config.strategy.instances.slice(0, 1));
  if (spec === undefined) throw new Error('config/perpmesh.yaml: no strategy instance');
  const hub = paperHubOptionsFromConfig({
    venues: config.venues,
    paper: config.paper,
    clock: { kind: 'manual' },
  });
  return {
    options: {
      strategy: spec,
      hub: { ...(hub.venues ? { venues: hub.venues } : {}), accounts: hub.accounts ?? [] },
      seed: tape.seed,
      durationMs: tape.durationMs,
      stepMs: config.strategy.tickInterval,
    },
    venueIds: hub.venues?.map((v) => v.venueId),
  };
}
