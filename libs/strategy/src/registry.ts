/**
 * The one list of strategy kinds. Each strategy lives in its own folder
 * (`strategies/<name>/`) and describes itself with a `StrategyDefinition`: its config
 * `kind`, how to parse its config, how to build its decider, and what it needs (the
 * venue accounts it trades, the markets it reads). Config parsing (`parseStrategyConfig`),
 * the decider factory (`makeStrategyDecider`) and the runtime's runner all look the kind
 * up here; nothing else switches on strategy kinds.
 *
 * Adding a strategy: a folder with its decider and `definition.ts`, plus one import and
 * one entry in `BUILT_IN` below. Tests may `registerStrategy` a fixture kind of their own.
 */
import { ValidationError } from '@perpmesh/core';
import type { BaseStrategyConfig, StrategyState } from './engine.js';
import type { StrategyDecider } from './model.js';
import { fundingArbStrategy } from './strategies/funding-arb/definition.js';
import { gridStrategy } from './strategies/grid/definition.js';
import { scalperStrategy } from './strategies/scalper/definition.js';

/** A venue account a strategy places orders on (and reads balances, positions, orders of). */
export interface StrategyAccount {
  readonly venue: string;
  readonly account: string;
}

/** A market a strategy reads (book and funding). */
export interface StrategyMarket {
  readonly venue: string;
  readonly instrument: string;
}

export interface StrategyDefinition<C extends BaseStrategyConfig = BaseStrategyConfig, S = unknown> {
  /** The config `kind` (`funding_arb`, `grid`...): snake_case, stable (persisted in state). */
  readonly kind: string;
  /** Validates the strategy's own config; errors name the field under `field` (`strategy.instances[0]`). */
  parseConfig(raw: unknown, field: string): C;
  makeDecider(config: C): StrategyDecider<StrategyState<S>>;
  /** The (venue, account) pairs it trades on: balances, positions and own open orders are read there. */
  accounts(config: C): StrategyAccount[];
  /** The (venue, instrument) markets it reads: the runtime loads their rules and waits for their data. */
  markets(config: C): StrategyMarket[];
}

/** Any registered strategy's definition (its config type erased). */
// biome-ignore lint/suspicious/noExplicitAny: a registry holds definitions of every config type
export type AnyStrategyDefinition = StrategyDefinition<any, unknown>;

/** Every built-in strategy: one import above and one entry here per strategy. */
const BUILT_IN: readonly AnyStrategyDefinition[] = [fundingArbStrategy, gridStrategy, scalperStrategy];

const definitions = new Map<string, AnyStrategyDefinition>();

/** Registers a strategy kind; returns a function that removes it again (tests). */
export function registerStrategy(definition: AnyStrategyDefinition): () => void {
  if (!/^[a-z][a-z0-9_]*$/.test(definition.kind)) {
    throw new ValidationError(
      'kind',
      `expected snake_case letters and digits, got ${JSON.stringify(definition.kind)}`,
    );
  }
  if (definitions.has(definition.kind)) {
    throw new ValidationError(
      'kind',
      `strategy kind ${JSON.stringify(definition.kind)} is already registered`,
    );
  }
  definitions.set(definition.kind, definition);
  return () => {
    if (definitions.get(definition.kind) === definition) definitions.delete(definition.kind);
  };
}

/** The definition of `kind`; a ValidationError naming `field` (e.g. `strategy.kind`) when unknown. */
export function lookupStrategy(kind: unknown, field = 'kind'): AnyStrategyDefinition {
  const definition = typeof kind === 'string' ? definitions.get(kind) : undefined;
  if (!definition) {
    throw new ValidationError(
      field,
      `must be one of ${strategyKinds().join(', ')}, got ${JSON.stringify(kind)}`,
    );
  }
  return definition;
}

/** The registered kinds, in registration order. */
export function strategyKinds(): string[] {
  return [...definitions.keys()];
}

for (const definition of BUILT_IN) registerStrategy(definition);
