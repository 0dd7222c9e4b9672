/**
 * The operator commands: each asks the services over gRPC, turns the answer into rows
 * with stable field names (what `--json` prints; decimals stay strings, times are ms
 * since epoch, durations ms), and prints them as a table otherwise.
 *
 * Every command returns its exit code (see cli-errors.ts); failures are thrown as
 * `CliError` and printed as one line by main.ts.
 */
import {
  type BalanceView,
  type FundingRateView,
  ORDER_STATUS,
  ORDER_TYPE,
  type Order,
  POSITION_SIDE,
  type PositionView,
  SIDE,
  StateSource,
  TIME_IN_FORCE,
  type VenueStatus,
} from '@perpmesh/contracts';
import { dec, toWire } from '@perpmesh/core';
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

function writeJson(io: CommandIo, value: unknown): void {
  io.out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Enum to text without throwing on a value this build does not know. */
function enumText<P extends number>(fromProto: (value: P, field: string) => string, value: P): string {
  try {
    return fromProto(value, 'value');
  } catch {
    return 'unknown';
  }
}

function sourceText(source: StateSource): 'projection' | 'venue' | 'unknown' {
  if (source === StateSource.STATE_SOURCE_PROJECTION) return 'projection';
  if (source === StateSource.STATE_SOURCE_VENUE) return 'venue';
  return 'unknown';
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

export interface VenueComponentRow {
  component: string;
  ready: boolean;
  reason: string;
  sinceMs: number;
}

export interface VenueStatusRow {
  venue: string;
  ready: boolean;
  components: VenueComponentRow[];
}

export interface StatusReport {
  /** Every service SERVING and every venue ready. */
  ready: boolean;
  services: ServiceHealthRow[];
  venues: VenueStatusRow[];
  /** Why the venue list is missing or partial; absent when market-data answered. */
  venuesError?: string;
}

function venueRow(v: VenueStatus): VenueStatusRow {
  return {
    venue: v.venue,
    ready: v.ready,
    components: v.components.map((c) => ({
      component: c.component,
      ready: c.ready,
      reason: c.reason,
      sinceMs: c.sinceMs,
    })),
  };
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
  let venues: VenueStatusRow[] = [];
  let venuesError: CliError | undefined;
  const marketData = checks.find((c) => c.service === 'market-data');
  if (marketData?.health === 'UNREACHABLE') {
    venuesError = marketData.error;
  } else {
    try {
      venues = (await api.getVenueStatus({ venue: opts.venue ?? '' })).venues.map(venueRow);
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      venuesError = err;
    }
  }
  venues.sort((a, b) => a.venue.localeCompare(b.venue));
  const ready =
    services.every((s) => s.health === 'SERVING') &&
    venuesError === undefined &&
    venues.length > 0 &&
    venues.every((v) => v.ready);
  const report: StatusReport = {
    ready,
    services,
    venues,
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
    const now = nowMs();
    const rows = venues.flatMap((v) =>
      v.components.map((c, i) => [
        i === 0 ? v.venue : '',
        i === 0 ? (v.ready ? 'ready' : 'NOT READY') : '',
        c.component,
        c.ready ? 'ready' : 'NOT READY',
        c.reason || NO_VALUE,
        c.sinceMs > 0 ? formatDurationMs(now - c.sinceMs) : NO_VALUE,
      ]),
    );
    io.out.write(`${renderTable(['VENUE', 'VENUE READY', 'COMPONENT', 'STATE', 'REASON', 'FOR'], rows)}\n`);
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

// ---- balance ------------------------------------------------------------------------------

export interface BalanceRow {
  venue: string;
  account: string;
  currency: string;
  total: string;
  available: string;
  equity: string;
  unrealizedPnl: string;
  asOfMs: number;
  ageMs: number;
  stale: boolean;
  source: 'projection' | 'venue' | 'unknown';
}

function balanceRow(v: BalanceView): BalanceRow {
  const b = v.balance;
  return {
    venue: b?.venue ?? '',
    account: b?.account ?? '',
    currency: b?.currency ?? '',
    total: b?.total ?? '',
    available: b?.available ?? '',
    equity: b?.equity ?? '',
    unrealizedPnl: b?.unrealizedPnl ?? '',
    asOfMs: b?.asOfMs ?? 0,
    ageMs: v.ageMs,
    stale: v.stale,
    source: sourceText(b?.source ?? StateSource.STATE_SOURCE_UNSPECIFIED),
  };
}

const byVenueAccount = (a: { venue: string; account: string }, b: { venue: string; account: string }) =>
  a.venue.localeCompare(b.venue) || a.account.localeCompare(b.account);

export async function balanceCommand(
  api: OperatorApi,
  opts: OutputOptions & Filter,
  io: CommandIo,
): Promise<number> {
  const res = await api.getBalances({ venue: opts.venue ?? '', account: opts.account ?? '' });
  const balances = res.balances
    .map(balanceRow)
    .sort((a, b) => byVenueAccount(a, b) || a.currency.localeCompare(b.currency));
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

export interface PositionRow {
  venue: string;
  account: string;
  instrument: string;
  side: string;
  size: string;
  entryPrice: string;
  markPrice: string;
  unrealizedPnl: string;
  realizedPnl: string;
  leverage: string;
  liquidationPrice: string;
  /** |mark - liquidation| / mark as a decimal fraction; empty when either is unknown. */
  liquidationDistance: string;
  asOfMs: number;
  ageMs: number;
  stale: boolean;
  source: 'projection' | 'venue' | 'unknown';
}

/** How far the mark is from liquidation, as a fraction of the mark (8 places). */
export function liquidationDistance(markPrice: string, liquidationPrice: string): string {
  if (markPrice === '' || liquidationPrice === '') return '';
  try {
    const mark = dec(markPrice);
    if (mark.isZero()) return '';
    return toWire(mark.minus(dec(liquidationPrice)).abs().div(mark).toDecimalPlaces(8));
  } catch {
    return '';
  }
}

function positionRow(v: PositionView): PositionRow {
  const p = v.position;
  const mark = p?.markPrice ?? '';
  const liq = p?.liquidationPrice ?? '';
  return {
    venue: p?.venue ?? '',
    account: p?.account ?? '',
    instrument: p?.instrument ?? '',
    side: p ? enumText(POSITION_SIDE.fromProto, p.side) : 'unknown',
    size: p?.size ?? '',
    entryPrice: p?.entryPrice ?? '',
    markPrice: mark,
    unrealizedPnl: p?.unrealizedPnl ?? '',
    realizedPnl: p?.realizedPnl ?? '',
    leverage: p?.leverage ?? '',
    liquidationPrice: liq,
    liquidationDistance: liquidationDistance(mark, liq),
    asOfMs: p?.asOfMs ?? 0,
    ageMs: v.ageMs,
    stale: v.stale,
    source: sourceText(p?.source ?? StateSource.STATE_SOURCE_UNSPECIFIED),
  };
}

function isFlat(row: PositionRow): boolean {
  if (row.side === 'flat') return true;
  try {
    return row.size === '' || dec(row.size).isZero();
  } catch {
    return false;
  }
}

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
  const positions = res.positions
    .map(positionRow)
    .filter((p) => opts.all || !isFlat(p))
    .sort((a, b) => byVenueAccount(a, b) || a.instrument.localeCompare(b.instrument));
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

export interface OrderRow {
  venue: string;
  account: string;
  instrument: string;
  clientOrderId: string;
  venueOrderId: string;
  side: string;
  type: string;
  timeInForce: string;
  price: string;
  size: string;
  filledSize: string;
  averageFillPrice: string;
  status: string;
  reduceOnly: boolean;
  reason: string;
  createdAtMs: number;
  updatedAtMs: number;
}

export function orderRow(o: Order): OrderRow {
  return {
    venue: o.venue,
    account: o.account,
    instrument: o.instrument,
    clientOrderId: o.clientOrderId,
    venueOrderId: o.venueOrderId,
    side: enumText(SIDE.fromProto, o.side),
    type: enumText(ORDER_TYPE.fromProto, o.type),
    timeInForce: enumText(TIME_IN_FORCE.fromProto, o.timeInForce),
    price: o.price,
    size: o.size,
    filledSize: o.filledSize,
    averageFillPrice: o.averageFillPrice,
    status: enumText(ORDER_STATUS.fromProto, o.status),
    reduceOnly: o.reduceOnly,
    reason: o.reason,
    createdAtMs: o.createdAtMs,
    updatedAtMs: o.updatedAtMs,
  };
}

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
  const orders = res.orders
    .map(orderRow)
    .sort((a, b) => byVenueAccount(a, b) || a.createdAtMs - b.createdAtMs);
  if (opts.json) {
    writeJson(io, { orders });
    return EXIT_OK;
  }
  io.out.write(`${orderTable(orders, nowMs())}\n`);
  io.out.write(`${orders.length} open order(s)\n`);
  return EXIT_OK;
}

// ---- funding ------------------------------------------------------------------------------

export interface FundingRow {
  venue: string;
  instrument: string;
  /** For the venue's own interval, as a fraction ("0.0001" = 0.01 %). */
  rate: string;
  intervalMs: number;
  ratePerHour: string;
  /** `ratePerHour` x 8760, simple. */
  annualized: string;
  nextFundingTimeMs: number;
  markPrice: string;
  indexPrice: string;
  asOfMs: number;
  ageMs: number;
  stale: boolean;
}

function fundingRow(v: FundingRateView): FundingRow {
  const r = v.rate;
  return {
    venue: r?.venue ?? '',
    instrument: r?.instrument ?? '',
    rate: r?.rate ?? '',
    intervalMs: r?.intervalMs ?? 0,
    ratePerHour: r?.ratePerHour ?? '',
    annualized: r?.annualized ?? '',
    nextFundingTimeMs: r?.nextFundingTimeMs ?? 0,
    markPrice: r?.markPrice ?? '',
    indexPrice: r?.indexPrice ?? '',
    asOfMs: r?.asOfMs ?? 0,
    ageMs: v.ageMs,
    stale: v.stale,
  };
}

export async function fundingCommand(
  api: OperatorApi,
  opts: OutputOptions & Filter,
  io: CommandIo,
  nowMs: () => number,
): Promise<number> {
  const res = await api.getFundingRates({ venue: opts.venue ?? '', instrument: opts.instrument ?? '' });
  const rates = res.rates
    .map(fundingRow)
    .sort((a, b) => a.instrument.localeCompare(b.instrument) || a.venue.localeCompare(b.venue));
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
