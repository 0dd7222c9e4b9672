/**
 * One entry point for strategy configs: `parseStrategyConfig(raw)` looks the `kind` up in
 * the registry (registry.ts) and runs that strategy's parser; `makeStrategyDecider(config)`
 * builds the matching decider. Neither switches on kinds: a new strategy only registers.
 */
import type { BaseStrategyConfig, StrategyState } from './engine.js';
import type { StrategyDecider } from './model.js';
import { lookupStrategy, strategyKinds } from './registry.js';

/** A parsed strategy config: the strategy's own fields plus its registered `kind`. */
export type StrategyConfig = BaseStrategyConfig & { readonly kind: string };

/**
 * The built-in kinds (a snapshot taken when this module loads; `strategyKinds()` in
 * registry.ts lists what is registered now, fixtures included).
 */
export const STRATEGY_KINDS: readonly string[] = strategyKinds();

/** Validates a strategy config by its `kind`; errors name the field (`strategies[0].risk.leverage`). */
export function parseStrategyConfig(raw: unknown, field = 'strategy'): StrategyConfig {
  const kind = typeof raw === 'object' && raw !== null ? (raw as { kind?: unknown }).kind : undefined;
  const definition = lookupStrategy(kind, `${field}.kind`);
  return { ...definition.parseConfig(raw, field), kind: definition.kind };
}

export type AnyStrategyDecider = StrategyDecider<StrategyState<unknown>>;

export function makeStrategyDecider(config: StrategyConfig): AnyStrategyDecider {
  return lookupStrategy(config.kind, 'kind').makeDecider(config);
}
