/**
 * The kill switch: HALTED (cancel and stop), REDUCING (only reduce positions), ACTIVE.
 *
 * The switch belongs to the strategy service. The gateway forwards to a
 * `TradingStateService` (`GatewayOptions.tradingState`: the strategy runtime in process,
 * or its gRPC client, StrategyService) and answers 503 while none is reachable.
 */
import { TRADING_STATE, type TradingStateName } from '@perpmesh/contracts';
import { ValidationError } from '@perpmesh/core';

export type TradingState = TradingStateName;
export const TRADING_STATES = Object.keys(TRADING_STATE.table) as TradingState[];

export interface TradingStateChange {
  readonly state: TradingState;
  /** Operator's note, kept with the change. */
  readonly reason: string;
}

export interface TradingStateService {
  setTradingState(change: TradingStateChange): Promise<{ state: TradingState }>;
}

/** Longest operator note accepted with a trading-state change. */
export const MAX_REASON_CHARS = 500;

export function parseTradingStateChange(body: unknown): TradingStateChange {
  const value = (body ?? {}) as { state?: unknown; reason?: unknown };
  if (typeof value.state !== 'string' || !(TRADING_STATES as readonly string[]).includes(value.state)) {
    throw new ValidationError(
      'state',
      `must be one of ${TRADING_STATES.join(', ')}, got ${JSON.stringify(String(value.state).slice(0, 40))}`,
    );
  }
  if (value.reason !== undefined && typeof value.reason !== 'string') {
    throw new ValidationError('reason', `must be text, got ${JSON.stringify(value.reason)}`);
  }
  const reason = value.reason ?? '';
  if (reason.length > MAX_REASON_CHARS) {
    throw new ValidationError(
      'reason',
      `must be at most ${MAX_REASON_CHARS} characters, got ${reason.length}`,
    );
  }
  return { state: value.state as TradingState, reason: reason || 'operator via gateway' };
}
