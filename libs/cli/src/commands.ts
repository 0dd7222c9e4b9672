/**
 * The operator commands: each asks the services over gRPC, turns the answer into rows
 * with stable field names (what `--json` prints; decimals stay strings, times are ms
 * since epoch, durations ms), and prints them as a table otherwise.
 *
 * Every command returns its exit code (see cli-errors.ts); failures are thrown as
 * `CliError` and printed as one line by main.ts.
 */
import {
  balanceRows,
  byVenueAccount,
  fundingRows,
  type OrderRow,
  orderRow,
  orderRows,
  positionRows,
  type VenueView,
  venuesView,
} from '@perpmesh/gateway';
import { type CliService, CORE_SERVICES } from './cli-config.js';
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, ServiceUnreachableError } from './cli-errors.js';
import {
  formatDecimal,
  formatDurationMs,
  formatIntervalMs,
  formatPercent,
  NO_VALUE,
  renderTable,
} from './format.js';
import type { OperatorApi, ServiceHealth } from './operator-api.js';

/** Where a command writes, and how it asks the operator. */
export interface CommandIo {
  /** Tables and JSON. */
  readonly out: NodeJS.WritableStream;
  /** Warnings, prompts and errors. */
  readonly err: NodeJS.WritableStream;
  /** Asks a yes/no question; undefined when there is no terminal to ask on. */
  readonly confirm: ((question: string) => Promise<boolean>) | undefined;
}

export interface OutputOptions {
  json?: boolean;
}

export interface Filter {
  venue?: string;
  account?: string;
  instrument?: string;
}

/** The rows are the operator read model the dashboard renders too (libs/gateway views.ts). */
export type {
  BalanceRow,
  ComponentView,
  FundingRow,
  OrderRow,
  PositionRow,
  VenueComponentRow,
  VenueStatusRow,
  VenueView,
} from '@perpmesh/gateway';
export { orderRow };

function writeJson(io: CommandIo, value: unknown): void {
  io.out.write(`${JSON.stringify(value, null, 2)}\n`);
}

function ageCell(ageMs: number, stale: boolean): string {
  return `${formatDurationMs(ageMs)}${stale ? ' STALE' : ''}`;
}

// ---- status -------------------------------------------------------------------------------

export interface ServiceHealthRow {
  service: CliService;
  address: string;
  health: ServiceHealth;
  /** Why it could not be asked; absent when it answered. */
  error?: string;
}

export interface StatusReport {
  /** Every service SERVING and every venue ready. */
  ready: boolean;
  services: ServiceHealthRow[];
  /**
   * Per venue: every component (market data's own, its venue port's, each account's balances
   * and venue port's) with its state and reason, and whether the venue is emulated: the
   * dashboard's venue view (libs/gateway views.ts `venuesView`).
   */
  venues: VenueView[];
  /** The venues whose URLs point at a local emulator (simulated money). */
  emulatedVenues: string[];
  /** Why the venue list is missing or partial; absent when market-data answered. */
  venuesError?: string;
}

export async function statusCommand(
  api: OperatorApi,
  opts: OutputOptions & { venue?: string },
  io: CommandIo,
  nowMs: () => number,
): Promise<number> {
  const checks = await Promise.all(
    CORE_SERVICES.map(async (service) => ({ service, ...(await api.health(service)) })),
  );
  const services: ServiceHealthRow[] = checks.map((c) => ({
    service: c.service,
    address: api.address(c.service),
    health: c.health,
    ...(c.error ? { error: c.error.message } : {}),
  }));
  const check = (service: CliService) => checks.find((c) => c.service === service);
  /** The answer, or the error that says why there is none (an unreachable service is not asked). */
  const ask = async <T>(service: CliService, call: () => Promise<T>): Promise<T | CliError> => {
    const health = check(service);
    if (health?.health === 'UNREACHABLE' && health.error) return health.error;
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      return err;
    }
  };
  const venue = opts.venue ?? '';
  const [status, balances, account, execution] = await Promise.all([
    ask('market-data', () => api.getVenueStatus({ venue })),
    ask('account', () => api.getBalances({ venue, account: '' })),
    ask('account', () => api.getVenueReadiness({ venue, account: '' })),
    ask('execution', () => api.getExecutionVenueReadiness({ venue, account: '' })),
  ]);
  const venuesError = status instanceof CliError ? status : undefined;
  const venues = venuesView(status, balances, { account, execution }).filter(
    (v) => venuesError === undefined || v.venue !== '(unknown)',
  );
  const emulatedVenues = venues.filter((v) => v.emulated === true).map((v) => v.venue);
  const ready =
    services.every((s) => s.health === 'SERVING') &&
    venuesError === undefined &&
    venues.length > 0 &&
    venues.every((v) => v.ready);
  const report: StatusReport = {
    ready,
    services,
    venues,
    emulatedVenues,
    ...(venuesError ? { venuesError: venuesError.message } : {}),
  };
  if (opts.json) {
    writeJson(io, report);
  } else {
    io.out.write(
      `${renderTable(
        ['SERVICE', 'ADDRESS', 'HEALTH'],
        services.map((s) => [s.service, s.address, s.health]),
      )}\n`,
    );
    io.out.write(`${renderTable(VENUE_STATUS_COLUMNS, venueStatusTableRows(venues, nowMs()))}\n`);
    if (emulatedVenues.length > 0) {
      io.out.write(`EMULATED (local emulators, simulated money): ${emulatedVenues.join(', ')}\n`);
    }
    io.out.write(ready ? 'perpmesh is ready\n' : 'perpmesh is NOT ready\n');
  }
  const unreachable = checks.filter((c) => c.health === 'UNREACHABLE');
  for (const c of unreachable) if (c.error) io.err.write(`perpmesh status: ${c.error.message}\n`);
  if (venuesError && !(venuesError instanceof ServiceUnreachableError)) {
    io.err.write(`perpmesh status: venues: ${venuesError.message}\n`);
  }
  if (unreachable.length > 0 || (venuesError && venuesError.exitCode === EXIT_UNAVAILABLE))
    return EXIT_UNAVAILABLE;
  return ready ? EXIT_OK : EXIT_FAILED;
}

const VENUE_STATUS_COLUMNS = ['VENUE', 'VENUE READY', 'COMPONENT', 'SOURCE', 'STATE', 'REASON', 'FOR'];

/**
 * One row per component; the venue (marked EMULATED when it is) and its verdict on its first
 * row. An informational component that is not ready reads `low (info)`: shown, not deciding.
 */
export function venueStatusTableRows(venues: readonly VenueView[], now: number): string[][] {
  return venues.flatMap((v) =>
    v.components.map((c, i) => [
      i === 0 ? `${v.venue}${v.emulated ? ' EMULATED' : ''}` : '',
      i === 0 ? (v.ready ? 'ready' : 'NOT READY') : '',
      c.name,
      c.port ? `${c.service} port` : c.service,
      c.ready ? 'ready' : c.informational ? 'not ready (info)' : 'NOT READY',
      c.reason ?? NO_VALUE,
      c.sinceMs ? formatDurationMs(now - c.sinceMs) : NO_VALUE,
    ]),
  );
}

// ---- balance ------------------------------------------------------------------------------

export async function balanceCommand(
  api: OperatorApi,
  opts: OutputOptions & Filter,
  io: CommandIo,
): Promise<number> {
  const res = await api.getBalances({ venue: opts.venue ?? '', account: opts.account ?? '' });
  const balances = balanceRows(res);
  if (opts.json) {
    writeJson(io, { balances });
    return EXIT_OK;
  }
  io.out.write(
    `${renderTable(
      ['VENUE', 'ACCOUNT', 'CCY', 'TOTAL', 'AVAILABLE', 'EQUITY', 'UPNL', 'SOURCE', 'AGE'],
      balances.map((b) => [
        b.venue,
        b.account,
        b.currency,
        formatDecimal(b.total),
        formatDecimal(b.available),
        formatDecimal(b.equity),
        formatDecimal(b.unrealizedPnl),
        b.source,
        ageCell(b.ageMs, b.stale),
      ]),
      { alignRight: [3, 4, 5, 6, 8] },
    )}\n`,
  );
  const stale = balances.filter((b) => b.stale).length;
  if (balances.length === 0) io.out.write('no balances\n');
  else if (stale > 0) io.out.write(`${stale} balance(s) STALE: older than the account service's limit\n`);
  return EXIT_OK;
}

// ---- positions ----------------------------------------------------------------------------

export async function positionsCommand(
  api: OperatorApi,
  opts: OutputOptions & Filter & { all?: boolean },
  io: CommandIo,
): Promise<number> {
  const res = await api.getPositions({
    venue: opts.venue ?? '',
    account: opts.account ?? '',
    instrument: opts.instrument ?? '',
  });
  const positions = positionRows(res, { includeFlat: opts.all === true });
  if (opts.json) {
    writeJson(io, { positions });
    return EXIT_OK;
  }
  io.out.write(
    `${renderTable(
      [
        'VENUE',
        'ACCOUNT',
        'INSTRUMENT',
        'SIDE',
        'SIZE',
        'ENTRY',
        'MARK',
        'UPNL',
        'REALIZED',
        'LIQ',
        'LIQ DIST',
        'AGE',
      ],
      positions.map((p) => [
        p.venue,
        p.account,
        p.instrument,
        p.side,
        formatDecimal(p.size),
        formatDecimal(p.entryPrice),
        formatDecimal(p.markPrice),
        formatDecimal(p.unrealizedPnl),
        formatDecimal(p.realizedPnl),
        formatDecimal(p.liquidationPrice),
        p.liquidationDistance ? formatPercent(p.liquidationDistance, 2) : NO_VALUE,
        ageCell(p.ageMs, p.stale),
      ]),
      { alignRight: [4, 5, 6, 7, 8, 9, 10, 11] },
    )}\n`,
  );
  if (positions.length === 0) io.out.write(opts.all ? 'no positions\n' : 'no open positions\n');
  return EXIT_OK;
}

// ---- orders -------------------------------------------------------------------------------

function orderTable(orders: readonly OrderRow[], nowMs: number): string {
  return renderTable(
    [
      'VENUE',
      'ACCOUNT',
      'INSTRUMENT',
      'SIDE',
      'TYPE',
      'TIF',
      'PRICE',
      'SIZE',
      'FILLED',
      'STATUS',
      'CLIENT ID',
      'VENUE ID',
      'AGE',
    ],
    orders.map((o) => [
      o.venue,
      o.account,
      o.instrument,
      o.side,
      o.type,
      o.timeInForce,
      formatDecimal(o.price),
      formatDecimal(o.size),
      formatDecimal(o.filledSize),
      o.status,
      o.clientOrderId,
      o.venueOrderId || NO_VALUE,
      o.createdAtMs > 0 ? formatDurationMs(nowMs - o.createdAtMs) : NO_VALUE,
    ]),
    { alignRight: [6, 7, 8, 12] },
  );
}

export async function ordersCommand(
  api: OperatorApi,
  opts: OutputOptions & Filter,
  io: CommandIo,
  nowMs: () => number,
): Promise<number> {
  const res = await api.listOpenOrders({
    venue: opts.venue ?? '',
    account: opts.account ?? '',
    instrument: opts.instrument ?? '',
  });
  const orders = orderRows(res);
  if (opts.json) {
    writeJson(io, { orders });
    return EXIT_OK;
  }
  io.out.write(`${orderTable(orders, nowMs())}\n`);
  io.out.write(`${orders.length} open order(s)\n`);
  return EXIT_OK;
}

export interface OrderLookupOptions {
  readonly venue: string;
  readonly account: string;
  readonly instrument?: string;
  /** `id` is the venue's order id, not ours. */
  readonly venueOrderId?: boolean;
}

/** One order by client (or venue) order id, open or finished, every field of it. */
export async function orderCommand(
  api: OperatorApi,
  id: string,
  opts: OutputOptions & OrderLookupOptions,
  io: CommandIo,
  nowMs: () => number,
): Promise<number> {
  const res = await api.getOrder({
    venue: opts.venue,
    account: opts.account,
    instrument: opts.instrument ?? '',
    orderId: opts.venueOrderId ? { $case: 'venueOrderId', value: id } : { $case: 'clientOrderId', value: id },
  });
  if (!res.order)
    throw new CliError('NOT_FOUND', `execution answered without an order for ${id}`, EXIT_FAILED);
  const o = orderRow(res.order);
  if (opts.json) {
    writeJson(io, { order: o });
    return EXIT_OK;
  }
  const at = (ms: number) =>
    ms > 0 ? `${new Date(ms).toISOString()} (${formatDurationMs(nowMs() - ms)} ago)` : NO_VALUE;
  const rows: Array<[string, string]> = [
    ['venue / account', `${o.venue} / ${o.account}`],
    ['instrument', o.instrument],
    ['client order id', o.clientOrderId],
    ['venue order id', o.venueOrderId || NO_VALUE],
    ['side / type / tif', `${o.side} / ${o.type} / ${o.timeInForce}${o.reduceOnly ? ' / reduce-only' : ''}`],
    ['price', formatDecimal(o.price)],
    ['size', formatDecimal(o.size)],
    ['filled', formatDecimal(o.filledSize)],
    ['average fill price', formatDecimal(o.averageFillPrice)],
    ['fees', o.feeTotal ? `${formatDecimal(o.feeTotal)} ${o.feeCurrency}`.trim() : NO_VALUE],
    ['status', o.status],
    ['reason', o.reason || NO_VALUE],
    ['created', at(o.createdAtMs)],
    ['updated', at(o.updatedAtMs)],
    ['correlation id', o.correlationId || NO_VALUE],
  ];
  io.out.write(`${renderTable(['FIELD', 'VALUE'], rows)}\n`);
  return EXIT_OK;
}

// ---- funding ------------------------------------------------------------------------------

export async function fundingCommand(
  api: OperatorApi,
  opts: OutputOptions & Filter,
  io: CommandIo,
  nowMs: () => number,
): Promise<number> {
  const res = await api.getFundingRates({ venue: opts.venue ?? '', instrument: opts.instrument ?? '' });
  const rates = fundingRows(res);
  if (opts.json) {
    writeJson(io, { rates });
    return EXIT_OK;
  }
  const now = nowMs();
  io.out.write(
    `${renderTable(
      ['INSTRUMENT', 'VENUE', 'RATE', 'INTERVAL', 'PER HOUR', 'ANNUALIZED', 'NEXT IN', 'MARK', 'AGE'],
      rates.map((r) => [
        r.instrument,
        r.venue,
        formatPercent(r.rate, 4),
        formatIntervalMs(r.intervalMs),
        formatPercent(r.ratePerHour, 5),
        formatPercent(r.annualized, 2),
        r.nextFundingTimeMs > 0 ? formatDurationMs(r.nextFundingTimeMs - now) : NO_VALUE,
        formatDecimal(r.markPrice),
        ageCell(r.ageMs, r.stale),
      ]),
      { alignRight: [2, 3, 4, 5, 6, 7, 8] },
    )}\n`,
  );
  if (rates.length === 0) io.out.write('no funding rates yet\n');
  return EXIT_OK;
}

// ---- cancel-all ---------------------------------------------------------------------------

export interface CancelAllAccountResult {
  venue: string;
  account: string;
  /** Orders a cancel was requested for, as they were after the request. */
  orders: OrderRow[];
  /** Why this account's cancel failed; absent when it went through. */
  error?: string;
}

export interface CancelAllReport {
  /** Orders a cancel was requested for, over every account. */
  requested: number;
  accounts: CancelAllAccountResult[];
}

function pairKey(p: { venue: string; account: string }): string {
  return `${p.venue}/${p.account}`;
}

/**
 * Every (venue, account) to cancel on: the configured accounts the account service
 * knows (a venue can hold orders we do not track) plus every account with an open order.
 * Cancel-all is the emergency action, so it proceeds on the execution service alone
 * when the account service is down.
 */
async function cancelTargets(
  api: OperatorApi,
  opts: Filter,
  open: readonly OrderRow[],
  io: CommandIo,
): Promise<{ venue: string; account: string }[]> {
  if (opts.venue && opts.account) return [{ venue: opts.venue, account: opts.account }];
  const pairs = new Map<string, { venue: string; account: string }>();
  try {
    const summary = await api.getAccountSummary({ venue: opts.venue ?? '', account: opts.account ?? '' });
    for (const a of summary.accounts) pairs.set(pairKey(a), { venue: a.venue, account: a.account });
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    io.err.write(
      `perpmesh cancel-all: warning: ${err.message}; canceling on the accounts with open orders only\n`,
    );
  }
  for (const o of open) pairs.set(pairKey(o), { venue: o.venue, account: o.account });
  return [...pairs.values()].sort(byVenueAccount);
}

export async function cancelAllCommand(
  api: OperatorApi,
  opts: OutputOptions & Filter & { yes?: boolean },
  io: CommandIo,
  nowMs: () => number,
): Promise<number> {
  const open = (
    await api.listOpenOrders({
      venue: opts.venue ?? '',
      account: opts.account ?? '',
      instrument: opts.instrument ?? '',
    })
  ).orders.map(orderRow);
  const targets = await cancelTargets(api, opts, open, io);
  if (targets.length === 0) {
    throw new CliError(
      'NO_ACCOUNTS',
      `no account matches${opts.venue ? ` --venue ${opts.venue}` : ''}${opts.account ? ` --account ${opts.account}` : ''}`,
      EXIT_FAILED,
    );
  }
  const scope = `${targets.map(pairKey).join(', ')}${opts.instrument ? ` (${opts.instrument} only)` : ''}`;
  if (!opts.yes) {
    if (!io.confirm) {
      throw new CliError(
        'NOT_CONFIRMED',
        'refusing to cancel without confirmation: no terminal to ask on; pass --yes',
        EXIT_FAILED,
      );
    }
    if (!opts.json && open.length > 0) io.err.write(`${orderTable(open, nowMs())}\n`);
    const ok = await io.confirm(`Cancel ${open.length} open order(s) on ${scope}? [y/N] `);
    if (!ok) {
      io.err.write('perpmesh cancel-all: not confirmed; nothing was canceled\n');
      return EXIT_FAILED;
    }
  }
  // One account at a time: a venue that fails must not stop the others being canceled.
  const accounts: CancelAllAccountResult[] = [];
  for (const t of targets) {
    try {
      const res = await api.cancelAllOrders({
        venue: t.venue,
        account: t.account,
        instrument: opts.instrument ?? '',
      });
      accounts.push({ ...t, orders: res.orders.map(orderRow) });
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      if (err instanceof ServiceUnreachableError) throw err;
      accounts.push({ ...t, orders: [], error: err.message });
    }
  }
  const report: CancelAllReport = {
    requested: accounts.reduce((n, a) => n + a.orders.length, 0),
    accounts,
  };
  if (opts.json) {
    writeJson(io, report);
  } else {
    io.out.write(
      `${renderTable(
        ['VENUE', 'ACCOUNT', 'CANCEL REQUESTED', 'RESULT'],
        accounts.map((a) => [
          a.venue,
          a.account,
          String(a.orders.length),
          a.error ? `FAILED: ${a.error}` : 'ok',
        ]),
        { alignRight: [2] },
      )}\n`,
    );
    io.out.write(`cancel requested for ${report.requested} order(s) on ${accounts.length} account(s)\n`);
  }
  const failed = accounts.filter((a) => a.error);
  for (const a of failed) io.err.write(`perpmesh cancel-all: ${pairKey(a)}: ${a.error}\n`);
  return failed.length > 0 ? EXIT_FAILED : EXIT_OK;
}
