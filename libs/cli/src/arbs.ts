/**
 * `perpmesh arbs`: the funding-arb books of the strategy service, over
 * `perpmesh.v1.StrategyService` (ListStrategies, then GetArbBook per funding-arb
 * strategy): each arb's PnL split (funding, basis, fees, slippage against the decision
 * mid, net) and break-even time, the totals, raised alarms and the circuit breakers. The
 * rows are the gateway read model's (`arbBookView`), which the dashboard renders too.
 */

import { dec } from '@perpmesh/core';
import { ARB_BOOK_STRATEGY_KIND, type ArbBookView, type ArbRow, arbBookView } from '@perpmesh/gateway';
import { EXIT_OK } from './cli-errors.js';
import type { CommandIo, OutputOptions } from './commands.js';
import { formatDurationMs, NO_VALUE, renderTable } from './format.js';
import type { OperatorApi } from './operator-api.js';

export interface ArbsOptions extends OutputOptions {
  /** Only this strategy instance. */
  strategyId?: string;
  /** Include closed arbs in the table (JSON always has them). */
  all?: boolean;
}

/** Reads the books and builds the view the dashboard shows. */
export async function readArbBooks(
  api: OperatorApi,
  strategyId: string | undefined,
  nowMs: number,
): Promise<ArbBookView> {
  const ids = strategyId
    ? [strategyId]
    : (await api.listStrategies()).strategies
        .filter((s) => s.kind === ARB_BOOK_STRATEGY_KIND)
        .map((s) => s.strategyId);
  const books = await Promise.all(ids.map((id) => api.getArbBook({ strategyId: id })));
  return arbBookView(books, nowMs);
}

/** Hours as `4.8 h`; `never` when the funding does not pay; `-` for a closed arb. */
function breakEvenText(row: Pick<ArbRow, 'active' | 'breakEvenHours'>): string {
  if (!row.active) return NO_VALUE;
  return row.breakEvenHours === '' ? 'never' : `${round(row.breakEvenHours, 1)} h`;
}

/** Decimal text rounded for the table (the JSON keeps every digit). */
function round(text: string, places: number): string {
  if (text === '') return NO_VALUE;
  try {
    return dec(text).toFixed(places);
  } catch {
    return text;
  }
}

export async function arbsCommand(
  api: OperatorApi,
  opts: ArbsOptions,
  io: CommandIo,
  nowMs: () => number,
): Promise<number> {
  const view = await readArbBooks(api, opts.strategyId, nowMs());
  if (opts.json) {
    io.out.write(`${JSON.stringify(view, null, 2)}\n`);
    return EXIT_OK;
  }
  if (view.strategies.length === 0) {
    io.out.write('the strategy service runs no funding-arb strategy: no arb book\n');
    return EXIT_OK;
  }
  const rows = view.arbs.filter((a) => a.active || opts.all);
  const money = (t: string) => round(t, 4);
  const table = rows.map((a) => [
    a.arbId,
    a.phase,
    `${a.short.venue} ${a.short.size}`,
    `${a.long.venue} ${a.long.size}`,
    money(a.attribution.funding),
    money(a.attribution.basisPnl),
    money(a.attribution.fees),
    money(a.attribution.slippage),
    money(a.attribution.net),
    breakEvenText(a),
  ]);
  const t = view.totals;
  const active = view.arbs.filter((a) => a.active);
  const totalBreakEven = view.strategies.length === 1 ? view.strategies[0]!.breakEvenHours : '';
  table.push([
    'TOTAL',
    `${active.length} active`,
    '',
    '',
    money(t.funding),
    money(t.basisPnl),
    money(t.fees),
    money(t.slippage),
    money(t.net),
    active.length > 0 && view.strategies.length === 1
      ? breakEvenText({ active: true, breakEvenHours: totalBreakEven })
      : NO_VALUE,
  ]);
  io.out.write(
    `${renderTable(
      ['ARB', 'PHASE', 'SHORT', 'LONG', 'FUNDING', 'BASIS', 'FEES', 'SLIPPAGE', 'NET', 'BREAK-EVEN'],
      table,
      { alignRight: [4, 5, 6, 7, 8, 9] },
    )}\n`,
  );
  if (!opts.all && view.arbs.length > rows.length) {
    io.out.write(`${view.arbs.length - rows.length} closed arb(s) in the totals; --all lists them\n`);
  }
  for (const s of view.strategies) {
    const b = s.breaker;
    io.out.write(
      `${s.strategyId}${s.dryRun ? ' (DRY-RUN)' : ''}: ${b.tripped ? `ENTRIES PAUSED (${b.reasonCode}): ${b.message}; \`perpmesh resume\` re-arms` : 'entries allowed'}; realized ${round(b.realizedNet, 2)}, drawdown ${round(b.drawdown, 2)}, losing streak ${b.consecutiveLosses}\n`,
    );
  }
  if (view.alarms.length === 0) {
    io.out.write('no alarms\n');
  } else {
    io.out.write(
      `${renderTable(
        ['ALARM', 'STRATEGY', 'SINCE', 'MESSAGE'],
        view.alarms.map((a) => [a.name, a.strategyId, formatDurationMs(a.ageMs), a.message]),
      )}\n`,
    );
  }
  return EXIT_OK;
}
