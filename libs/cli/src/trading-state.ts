/**
 * The kill switch: `perpmesh halt | reduce | resume` set the trading state the strategy
 * service owns, over `perpmesh.v1.StrategyService.SetTradingState`:
 *   HALTED    strategies cancel their open orders and place nothing new
 *   REDUCING  only reduce-only orders
 *   ACTIVE    trading as configured
 * One strategy with `--strategy-id`, else every strategy the service runs. When the
 * strategy service is not running the command exits 2 saying so, having changed nothing.
 */
import {
  TradingState as ProtoTradingState,
  type StrategyInstance,
  StrategyMode,
  TRADING_STATE,
  type TradingStateName,
} from '@perpmesh/contracts';

export type { TradingStateName };

import { EXIT_OK } from './cli-errors.js';
import type { CommandIo, OutputOptions } from './commands.js';
import { renderTable } from './format.js';
import type { OperatorApi } from './operator-api.js';

export const TRADING_STATE_OF_COMMAND = {
  halt: 'HALTED',
  reduce: 'REDUCING',
  resume: 'ACTIVE',
} as const satisfies Record<string, TradingStateName>;
export type TradingStateCommand = keyof typeof TRADING_STATE_OF_COMMAND;

export function tradingStateName(state: ProtoTradingState): TradingStateName | 'UNKNOWN' {
  try {
    return TRADING_STATE.fromProto(state, 'state');
  } catch {
    return 'UNKNOWN';
  }
}

function modeName(mode: StrategyMode): 'live' | 'dry_run' | 'unknown' {
  if (mode === StrategyMode.STRATEGY_MODE_LIVE) return 'live';
  if (mode === StrategyMode.STRATEGY_MODE_DRY_RUN) return 'dry_run';
  return 'unknown';
}

export interface TradingStateRow {
  strategyId: string;
  kind: string;
  mode: 'live' | 'dry_run' | 'unknown';
  /** Runtime state: running, standby, stopped... */
  state: string;
  previousTradingState: TradingStateName | 'UNKNOWN';
  tradingState: TradingStateName | 'UNKNOWN';
  openOrders: number;
}

export interface TradingStateReport {
  requested: TradingStateName;
  strategies: TradingStateRow[];
}

export async function tradingStateCommand(
  api: OperatorApi,
  command: TradingStateCommand,
  opts: OutputOptions & { reason?: string; strategyId?: string },
  io: CommandIo,
): Promise<number> {
  const requested = TRADING_STATE_OF_COMMAND[command];
  const res = await api.setTradingState({
    strategyId: opts.strategyId ?? '',
    state: TRADING_STATE.toProto(requested),
    reason: opts.reason ?? `perpmesh ${command}`,
  });
  const strategies = res.strategies.map(
    (s: StrategyInstance, i): TradingStateRow => ({
      strategyId: s.strategyId,
      kind: s.kind,
      mode: modeName(s.mode),
      state: s.state,
      previousTradingState: tradingStateName(res.previous[i] ?? ProtoTradingState.TRADING_STATE_UNSPECIFIED),
      tradingState: tradingStateName(s.tradingState),
      openOrders: s.openOrders,
    }),
  );
  const report: TradingStateReport = { requested, strategies };
  if (opts.json) {
    io.out.write(`${JSON.stringify(report, null, 2)}\n`);
    return EXIT_OK;
  }
  io.out.write(
    `${renderTable(
      ['STRATEGY', 'KIND', 'MODE', 'STATE', 'WAS', 'NOW', 'OPEN ORDERS'],
      strategies.map((s) => [
        s.strategyId,
        s.kind,
        s.mode,
        s.state,
        s.previousTradingState,
        s.tradingState,
        String(s.openOrders),
      ]),
      { alignRight: [6] },
    )}\n`,
  );
  io.out.write(
    strategies.length === 0
      ? 'the strategy service runs no strategies: nothing to change\n'
      : `trading state ${requested} on ${strategies.length} strateg${strategies.length === 1 ? 'y' : 'ies'}\n`,
  );
  return EXIT_OK;
}
