/**
 * One entry point for strategy configs: `parseStrategyConfig(raw)` picks the schema by
 * `kind` and `makeStrategyDecider(config)` builds the matching decider, so the runtime
 * does not switch on strategy kinds itself.
 */
import { ValidationError } from '@perpmesh/core';
import type { StrategyState } from './engine.js';
import { type GridConfig, type GridState, gridDecider, parseGridConfig } from './grid.js';
import type { StrategyDecider } from './model.js';
import { parseScalperConfig, type ScalperConfig, type ScalperState, scalperDecider } from './scalper.js';
import {
  type FundingArbConfig,
  type FundingArbState,
  fundingArbDecider,
  parseFundingArbConfig,
} from './strategies/funding-arb/index.js';

export type StrategyConfig =
  | (FundingArbConfig & { kind: 'funding_arb' })
  | (GridConfig & { kind: 'grid' })
  | (ScalperConfig & { kind: 'scalper' });

export const STRATEGY_KINDS = ['funding_arb', 'grid', 'scalper'] as const;

/** Validates a strategy config by its `kind`; errors name the field (`strategies[0].risk.leverage`). */
export function parseStrategyConfig(raw: unknown, field = 'strategy'): StrategyConfig {
  const kind = typeof raw === 'object' && raw !== null ? (raw as { kind?: unknown }).kind : undefined;
  switch (kind) {
    case 'funding_arb':
      return { ...parseFundingArbConfig(raw, field), kind };
    case 'grid':
      return { ...parseGridConfig(raw, field), kind };
    case 'scalper':
      return { ...parseScalperConfig(raw, field), kind };
    default:
      throw new ValidationError(
        `${field}.kind`,
        `must be one of ${STRATEGY_KINDS.join(', ')}, got ${JSON.stringify(kind)}`,
      );
  }
}

export type AnyStrategyDecider =
  | StrategyDecider<StrategyState<FundingArbState>>
  | StrategyDecider<StrategyState<GridState>>
  | StrategyDecider<StrategyState<ScalperState>>;

export function makeStrategyDecider(config: StrategyConfig): AnyStrategyDecider {
  switch (config.kind) {
    case 'funding_arb':
      return fundingArbDecider(config);
    case 'grid':
      return gridDecider(config);
    case 'scalper':
      return scalperDecider(config);
  }
}
