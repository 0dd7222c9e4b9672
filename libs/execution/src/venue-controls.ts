/**
 * What execution sets up at a venue account besides orders:
 *
 * - Account settings from config (leverage and margin mode per venue / account /
 *   instrument), applied before the account is ready. A venue that cannot take a setting
 *   is a config error the account's readiness names, never silently skipped.
 * - The venue's dead-man switch (`scheduleCancelAll`): armed once the account is up,
 *   refreshed well before its deadline; if execution dies or loses the venue, the venue
 *   cancels the account's open orders when the deadline passes. The kill switch (HALTED)
 *   stops the refreshing after canceling everything now.
 *
 * Pure planning here (what to call, with which deadline); the engine makes the calls.
 */
import {
  type AccountId,
  type Decimal,
  type InstrumentId,
  ValidationError,
  type VenueId,
} from '@perpmesh/core';
import type { MarginMode, VenueCapabilities } from '@perpmesh/venues';
import { StrategyHaltedError } from './errors.js';

/** One account setting from config. */
export interface AccountSetting {
  readonly venue: VenueId;
  readonly account: AccountId;
  readonly instrument: InstrumentId;
  readonly leverage?: Decimal | undefined;
  readonly marginMode?: MarginMode | undefined;
}

/** The dead-man switch from config: `afterMs` the deadline, refreshed every `refreshMs`. */
export interface DeadManSwitchSettings {
  readonly afterMs: number;
  readonly refreshMs: number;
}

/** The settings of one account, each checked against what the venue supports. */
export function accountSettingsFor(
  settings: readonly AccountSetting[],
  venue: VenueId,
  account: AccountId,
  capabilities: Pick<VenueCapabilities, 'setLeverage' | 'marginModes'>,
): AccountSetting[] {
  const mine = settings.filter((s) => s.venue === venue && s.account === account);
  for (const s of mine) {
    const where = `execution.accountSettings[${venue}/${account}/${s.instrument}]`;
    if (s.leverage !== undefined && !capabilities.setLeverage) {
      throw new ValidationError(`${where}.leverage`, `${venue} does not support setting leverage`);
    }
    if (s.marginMode !== undefined && !(capabilities.marginModes ?? []).includes(s.marginMode)) {
      const offered = capabilities.marginModes?.length ? capabilities.marginModes.join(', ') : 'none';
      throw new ValidationError(
        `${where}.marginMode`,
        `${venue} does not offer margin mode ${s.marginMode} (offers: ${offered})`,
      );
    }
  }
  return mine;
}

/**
 * The deadline to arm at a venue: the configured one, raised to the venue's minimum; and the
 * refresh period, kept below a third of the deadline so two missed refreshes still do not
 * let it fire. Undefined when the switch is off (`afterMs` 0) or the venue has none.
 */
export function deadManSwitchPlan(
  settings: DeadManSwitchSettings | undefined,
  capabilities: Pick<VenueCapabilities, 'scheduleCancelAll' | 'scheduleCancelAllMinMs'>,
): DeadManSwitchSettings | undefined {
  if (!settings || settings.afterMs <= 0 || !capabilities.scheduleCancelAll) return undefined;
  const afterMs = Math.max(settings.afterMs, capabilities.scheduleCancelAllMinMs ?? 0);
  const refreshMs = Math.max(1, Math.min(settings.refreshMs, Math.floor(afterMs / 3)));
  return { afterMs, refreshMs };
}

// ---- the kill switch, as execution follows it ----------------------------------------------

/** A strategy's trading state (the strategy's kill switch; libs/strategy TRADING_STATES). */
export type StrategyTradingState = 'active' | 'reducing' | 'halted';
const TRADING_STATES: readonly StrategyTradingState[] = ['active', 'reducing', 'halted'];

/**
 * The strategy a client order id belongs to: strategies place `${strategyId}_${seq}` (a
 * strategy id has no `_`); undefined for an id without one (an operator's, a test's).
 */
export function strategyOfClientOrderId(clientOrderId: string): string | undefined {
  const cut = clientOrderId.indexOf('_');
  return cut > 0 ? clientOrderId.slice(0, cut) : undefined;
}

/**
 * The trading state a strategy decision announces: the strategy runtime publishes one
 * `trading_state` decision (inputs.trading_state) on every halt, reduce, resume and close-all,
 * whether the operator asked through StrategyService or the gateway. Undefined for any other.
 */
export function tradingStateOfDecision(decision: {
  readonly strategyId: string;
  readonly kind: string;
  readonly inputs: Readonly<Record<string, string>>;
}): { strategyId: string; state: StrategyTradingState } | undefined {
  if (decision.kind !== 'trading_state' || !decision.strategyId) return undefined;
  const state = decision.inputs.trading_state as StrategyTradingState | undefined;
  return state && TRADING_STATES.includes(state) ? { strategyId: decision.strategyId, state } : undefined;
}

/**
 * Execution's copy of every strategy's kill switch (the strategy's state is the one concept;
 * this follows it from the bus). A strategy HALTED or REDUCING gets only reduce-only orders
 * through; an account whose every strategy is HALTED is killed at the venue (its orders
 * canceled now, its dead-man switch no longer refreshed).
 */
export class StrategyTradingStates {
  readonly #states = new Map<string, StrategyTradingState>();

  /** Records a strategy's state; true when it changed. */
  set(strategyId: string, state: StrategyTradingState): boolean {
    const before = this.#states.get(strategyId) ?? 'active';
    this.#states.set(strategyId, state);
    return before !== state;
  }

  state(strategyId: string): StrategyTradingState {
    return this.#states.get(strategyId) ?? 'active';
  }

  /** The error for an order its strategy's state does not allow, else undefined. */
  refusal(order: {
    readonly clientOrderId: string;
    readonly reduceOnly: boolean;
  }): StrategyHaltedError | undefined {
    if (order.reduceOnly) return undefined;
    const strategyId = strategyOfClientOrderId(order.clientOrderId);
    if (strategyId === undefined) return undefined;
    const state = this.state(strategyId);
    return state === 'active' ? undefined : new StrategyHaltedError(strategyId, state);
  }

  /** True when there is at least one strategy and every one of them is HALTED. */
  allHalted(strategyIds: Iterable<string>): boolean {
    let any = false;
    for (const id of strategyIds) {
      any = true;
      if (this.state(id) !== 'halted') return false;
    }
    return any;
  }
}
