/**
 * The operator read model: pure functions from the services' gRPC answers to the rows
 * both the dashboard (this gateway's HTTP API) and the `perpmesh` CLI tables and `--json`
 * render. Decimal math (per-hour, annualized, liquidation distance, spreads) is done here
 * with `Decimal`, once, so the page and the CLI only format text.
 */

import type {
  ArbAttribution,
  ArbLeg,
  BalanceView,
  ExecutionServiceGetVenueReadinessResponse,
  FundingRateView,
  GetAccountSummaryResponse,
  GetArbBookResponse,
  GetBalancesResponse,
  GetFundingRatesResponse,
  GetPositionsResponse,
  GetVenueReadinessResponse,
  GetVenueStatusResponse,
  ListOpenOrdersResponse,
  Order,
  PositionView,
  VenuePortComponent,
  VenueStatus,
} from '@perpmesh/contracts';
import { Decimal, parseDecimal, toWire } from '@perpmesh/core';
import { enumWords, type JsonObject } from './wire-json.js';

const HOUR_MS = 3_600_000;
const HOURS_PER_YEAR = 8760;
const HUNDRED = new Decimal(100);

/** Wire decimal text through core's one strict grammar; '' or bad text is unknown. */
function decimalOrUndefined(text: string): Decimal | undefined {
  if (text === '') return undefined;
  try {
    return parseDecimal(text, 'decimal');
  } catch {
    return undefined;
  }
}

/** A fraction as percent text with `places` decimals ("0.0001" → "0.0100"). */
function pct(fraction: Decimal, places: number): string {
  return fraction.times(HUNDRED).toFixed(places);
}

// ---- venues and readiness ---------------------------------------------------------------

/** One readiness component of a venue as market data reports it (`perpmesh status`). */
export interface VenueComponentRow {
  /** e.g. `symbols`, `order_books`, `funding`. */
  readonly component: string;
  readonly ready: boolean;
  /** Why not ready ('' when ready); a not-ready component without a reason says so. */
  readonly reason: string;
  /** Since when in this state (ms since epoch); 0 when unknown. */
  readonly sinceMs: number;
}

export interface VenueStatusRow {
  readonly venue: string;
  readonly ready: boolean;
  readonly components: VenueComponentRow[];
}

export function venueStatusRow(v: VenueStatus): VenueStatusRow {
  return {
    venue: v.venue,
    ready: v.ready,
    components: v.components.map((c) => ({
      component: c.component,
      ready: c.ready,
      reason: c.reason || (c.ready ? '' : `${c.component}: not ready (no reason given)`),
      sinceMs: c.sinceMs,
    })),
  };
}

/** Market data's venues and their components, by venue. */
export function venueStatusRows(res: GetVenueStatusResponse): VenueStatusRow[] {
  return res.venues.map(venueStatusRow).sort((a, b) => a.venue.localeCompare(b.venue));
}

export interface ComponentView {
  /** e.g. `symbols`, `order_books`, `funding`, `main/balances`; a port's: `markets`, `main: auth token`. */
  readonly name: string;
  /** Which service vouches for it. */
  readonly service: 'market-data' | 'account' | 'execution';
  readonly ready: boolean;
  /** Why not ready; null when ready, except a venue port component's note ("52 of 60 left"). */
  readonly reason: string | null;
  readonly sinceMs: number | null;
  /** Shown, never deciding the venue's readiness (a port's `request budget`, `balance`). */
  readonly informational: boolean;
  /** On a venue port's component: whose port (account '' = the public one) and the VENUE_COMPONENT name. */
  readonly port?: { readonly account: string; readonly component: string };
}

export interface VenueView {
  readonly venue: string;
  /** Every component that decides readiness is ready. */
  readonly ready: boolean;
  /**
   * The venue's URLs point at a local emulator (simulated money), as market data says;
   * null when market data did not answer (unknown: never guessed either way).
   */
  readonly emulated: boolean | null;
  readonly components: ComponentView[];
}

/** The venue port components of the services that trade (GetVenueReadiness); omitted = not asked. */
export interface TradingPortReadiness {
  readonly account?: GetVenueReadinessResponse | Error | undefined;
  readonly execution?: ExecutionServiceGetVenueReadinessResponse | Error | undefined;
}

/**
 * Per venue: market-data's components (from GetVenueStatus) and its port's, whether the
 * account service has fresh balances (from GetBalances) and, per account, every component
 * of the venue port the account and execution services hold (tradingPorts). A service that
 * did not answer becomes a not-ready component on every venue, with its error as the reason.
 */
export function venuesView(
  status: GetVenueStatusResponse | Error,
  balances: GetBalancesResponse | Error,
  tradingPorts: TradingPortReadiness = {},
): VenueView[] {
  const byVenue = new Map<string, ComponentView[]>();
  const emulated = new Map<string, boolean>();
  const add = (venue: string, c: ComponentView) => {
    const list = byVenue.get(venue) ?? [];
    list.push(c);
    byVenue.set(venue, list);
  };
  if (!(status instanceof Error)) {
    for (const v of status.venues) emulated.set(v.venue, v.emulated);
    for (const v of venueStatusRows(status)) {
      byVenue.set(v.venue, byVenue.get(v.venue) ?? []);
      for (const c of v.components) {
        add(v.venue, {
          name: c.component,
          service: 'market-data',
          ready: c.ready,
          reason: c.ready ? null : c.reason,
          sinceMs: c.sinceMs || null,
          informational: false,
        });
      }
    }
    for (const v of status.venues) {
      for (const c of v.portComponents) add(c.venue || v.venue, portComponentView(c, 'market-data'));
    }
  }
  if (!(balances instanceof Error)) {
    const accounts = new Map<string, { stale: boolean; ageMs: number; count: number }>();
    for (const view of balances.balances) {
      const b = view.balance;
      if (!b) continue;
      const key = `${b.venue}\u0000${b.account}`;
      const prev = accounts.get(key);
      accounts.set(key, {
        stale: (prev?.stale ?? false) || view.stale,
        ageMs: Math.max(prev?.ageMs ?? 0, view.ageMs),
        count: (prev?.count ?? 0) + 1,
      });
    }
    for (const [key, a] of accounts) {
      const [venue, account] = key.split('\u0000') as [string, string];
      add(venue, {
        name: `${account}/balances`,
        service: 'account',
        ready: !a.stale,
        reason: a.stale
          ? `${account} balances are stale: the newest reading is ${formatAge(a.ageMs)} old`
          : null,
        sinceMs: null,
        informational: false,
      });
    }
  }
  for (const [venue, row] of tradingPortRows(tradingPorts)) add(venue, row);
  const unreachable: Array<[ComponentView['service'], string, Error]> = [];
  if (status instanceof Error) unreachable.push(['market-data', 'market-data', status]);
  if (balances instanceof Error) unreachable.push(['account', 'account', balances]);
  // Said once: an account service that is down fails both of its calls.
  else if (tradingPorts.account instanceof Error)
    unreachable.push(['account', 'account venue ports', tradingPorts.account]);
  if (tradingPorts.execution instanceof Error)
    unreachable.push(['execution', 'execution venue ports', tradingPorts.execution]);
  if (byVenue.size === 0 && unreachable.length > 0) byVenue.set('(unknown)', []);
  for (const [service, name, err] of unreachable) {
    for (const venue of byVenue.keys()) {
      add(venue, { name, service, ready: false, reason: err.message, sinceMs: null, informational: false });
    }
  }
  return [...byVenue.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([venue, components]) => ({
      venue,
      ready: components.length > 0 && components.every((c) => c.ready || c.informational),
      emulated: status instanceof Error ? null : (emulated.get(venue) ?? false),
      components,
    }));
}

// ---- venue port components (every component of every venue port, per venue/account) ----

/**
 * One component of a venue port as a row: `markets` for market data's public port,
 * `main: auth token` for account `main`'s. A ready component keeps its note as the reason.
 */
export function portComponentView(c: VenuePortComponent, service: ComponentView['service']): ComponentView {
  return {
    name: c.account ? `${c.account}: ${c.component}` : c.component,
    service,
    ready: c.ready,
    reason: c.reason || (c.ready ? null : `${c.component}: not ready (no reason given)`),
    sinceMs: c.sinceMs || null,
    informational: c.informational,
    port: { account: c.account, component: c.component },
  };
}

/**
 * The account's and execution's port components as rows, by venue. Where both report one
 * component of one account in the same state (the same port in one process, or two ports
 * that agree) it is one row, the account service's; where they disagree, both rows.
 */
function tradingPortRows(ports: TradingPortReadiness): Array<[string, ComponentView]> {
  const rows: Array<[string, ComponentView]> = [];
  const seen = new Set<string>();
  const sources: Array<[ComponentView['service'], { components: VenuePortComponent[] } | Error | undefined]> =
    [
      ['account', ports.account],
      ['execution', ports.execution],
    ];
  for (const [service, answer] of sources) {
    if (answer === undefined || answer instanceof Error) continue;
    for (const c of answer.components) {
      const key = `${c.venue}\u0000${c.account}\u0000${c.component}\u0000${c.ready}`;
      if (seen.has(key)) continue;
      seen.add(key);
      rows.push([c.venue, portComponentView(c, service)]);
    }
  }
  return rows;
}

/** The venues flagged emulated, by id (the `make run` ready line, `perpmesh status`). */
export function emulatedVenueIds(venues: readonly VenueView[]): string[] {
  return venues.filter((v) => v.emulated === true).map((v) => v.venue);
}

function formatAge(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

// ---- balances, positions, orders ------------------------------------------------------------

/** Where a balance or position reading came from: `projection`, `venue` (or `unspecified`). */
export type StateSourceWord = string;

export interface BalanceRow {
  readonly venue: string;
  readonly account: string;
  readonly currency: string;
  readonly total: string;
  readonly available: string;
  readonly equity: string;
  readonly unrealizedPnl: string;
  readonly asOfMs: number;
  readonly ageMs: number;
  /** Older than the account service's limit. */
  readonly stale: boolean;
  readonly source: StateSourceWord;
}

/** Rows ordered by venue, then account. */
export const byVenueAccount = (
  a: { venue: string; account: string },
  b: { venue: string; account: string },
): number => a.venue.localeCompare(b.venue) || a.account.localeCompare(b.account);

function balanceRow(view: BalanceView & { balance: NonNullable<BalanceView['balance']> }): BalanceRow {
  const b = view.balance;
  return {
    venue: b.venue,
    account: b.account,
    currency: b.currency,
    total: b.total,
    available: b.available,
    equity: b.equity,
    unrealizedPnl: b.unrealizedPnl,
    asOfMs: b.asOfMs,
    ageMs: view.ageMs,
    stale: view.stale,
    source: enumWords.stateSource(b.source),
  };
}

/** Balances by venue, account and currency. */
export function balanceRows(res: GetBalancesResponse): BalanceRow[] {
  return res.balances
    .filter(
      (v): v is BalanceView & { balance: NonNullable<BalanceView['balance']> } => v.balance !== undefined,
    )
    .map(balanceRow)
    .sort((a, b) => byVenueAccount(a, b) || a.currency.localeCompare(b.currency));
}

/** Places of the liquidation distance fraction (the percent shows 2). */
export const LIQUIDATION_DISTANCE_PLACES = 8;

/**
 * Distance from mark to liquidation as a fraction of mark ("0.25" = a 25 % move away);
 * undefined when either price is unknown.
 */
export function liquidationDistance(markPrice: string, liquidationPrice: string): Decimal | undefined {
  const mark = decimalOrUndefined(markPrice);
  const liq = decimalOrUndefined(liquidationPrice);
  if (!mark || !liq || mark.isZero()) return undefined;
  return liq.minus(mark).abs().div(mark);
}

export interface PositionRow {
  readonly venue: string;
  readonly account: string;
  readonly instrument: string;
  /** `long`, `short`, `flat`. */
  readonly side: string;
  readonly size: string;
  readonly entryPrice: string;
  readonly markPrice: string;
  readonly unrealizedPnl: string;
  readonly realizedPnl: string;
  readonly leverage: string;
  readonly liquidationPrice: string;
  /** |mark - liquidation| / mark, 8 places, trailing zeros dropped; '' when either is unknown. */
  readonly liquidationDistance: string;
  /** The same as a percent with 2 places ("25.00"); '' when unknown. */
  readonly liquidationDistancePct: string;
  readonly asOfMs: number;
  readonly ageMs: number;
  readonly stale: boolean;
  readonly source: StateSourceWord;
}

function positionRow(view: PositionView & { position: NonNullable<PositionView['position']> }): PositionRow {
  const p = view.position;
  const distance = liquidationDistance(p.markPrice, p.liquidationPrice)?.toDecimalPlaces(
    LIQUIDATION_DISTANCE_PLACES,
  );
  return {
    venue: p.venue,
    account: p.account,
    instrument: p.instrument,
    side: enumWords.positionSide(p.side),
    size: p.size,
    entryPrice: p.entryPrice,
    markPrice: p.markPrice,
    unrealizedPnl: p.unrealizedPnl,
    realizedPnl: p.realizedPnl,
    leverage: p.leverage,
    liquidationPrice: p.liquidationPrice,
    liquidationDistance: distance ? toWire(distance) : '',
    liquidationDistancePct: distance ? pct(distance, 2) : '',
    asOfMs: p.asOfMs,
    ageMs: view.ageMs,
    stale: view.stale,
    source: enumWords.stateSource(p.source),
  };
}

/** A flat position: side flat, or no (or zero) size. */
export function isFlatPosition(row: Pick<PositionRow, 'side' | 'size'>): boolean {
  return row.side === 'flat' || row.size === '' || decimalOrUndefined(row.size)?.isZero() === true;
}

/** Positions by venue, account and instrument; flat ones only with `includeFlat`. */
export function positionRows(
  res: GetPositionsResponse,
  options: { includeFlat?: boolean } = {},
): PositionRow[] {
  return res.positions
    .filter(
      (v): v is PositionView & { position: NonNullable<PositionView['position']> } =>
        v.position !== undefined,
    )
    .map(positionRow)
    .filter((p) => options.includeFlat || !isFlatPosition(p))
    .sort((a, b) => byVenueAccount(a, b) || a.instrument.localeCompare(b.instrument));
}

export interface OrderRow {
  readonly venue: string;
  readonly account: string;
  readonly instrument: string;
  readonly clientOrderId: string;
  readonly venueOrderId: string;
  /** Wire enums as the domain's words: `buy`, `limit`, `post_only`, `partially_filled`. */
  readonly side: string;
  readonly type: string;
  readonly timeInForce: string;
  readonly price: string;
  readonly size: string;
  readonly filledSize: string;
  readonly averageFillPrice: string;
  readonly status: string;
  readonly reduceOnly: boolean;
  readonly reason: string;
  readonly feeTotal: string;
  readonly feeCurrency: string;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly correlationId: string;
}

export function orderRow(o: Order): OrderRow {
  return {
    venue: o.venue,
    account: o.account,
    instrument: o.instrument,
    clientOrderId: o.clientOrderId,
    venueOrderId: o.venueOrderId,
    side: enumWords.side(o.side),
    type: enumWords.orderType(o.type),
    timeInForce: enumWords.timeInForce(o.timeInForce),
    price: o.price,
    size: o.size,
    filledSize: o.filledSize,
    averageFillPrice: o.averageFillPrice,
    status: enumWords.orderStatus(o.status),
    reduceOnly: o.reduceOnly,
    reason: o.reason,
    feeTotal: o.feeTotal,
    feeCurrency: o.feeCurrency,
    createdAtMs: o.createdAtMs,
    updatedAtMs: o.updatedAtMs,
    correlationId: o.correlationId,
  };
}

/** Open orders by venue and account, oldest first. */
export function orderRows(res: ListOpenOrdersResponse): OrderRow[] {
  return res.orders.map(orderRow).sort((a, b) => byVenueAccount(a, b) || a.createdAtMs - b.createdAtMs);
}

// The API's names for the same rows.
export const balancesView = balanceRows;
export const positionsView = (res: GetPositionsResponse): PositionRow[] => positionRows(res);
export const ordersView = orderRows;

// ---- funding matrix -------------------------------------------------------------------------

export interface FundingRow {
  readonly venue: string;
  readonly instrument: string;
  /** Raw rate for the venue's own interval (fraction, "0.0001" = 0.01 %). */
  readonly rate: string;
  readonly intervalMs: number;
  readonly intervalHours: string;
  /** The service's own per-hour rate, or derived from rate and interval when it gave none. */
  readonly ratePerHour: string;
  readonly ratePerHourPct: string;
  /** `ratePerHour` x 8760, simple. */
  readonly annualized: string;
  readonly annualizedPct: string;
  readonly nextFundingTimeMs: number;
  readonly markPrice: string;
  readonly indexPrice: string;
  readonly asOfMs: number;
  readonly ageMs: number;
  readonly stale: boolean;
}

/** A funding matrix cell is one funding row. */
export type FundingCell = FundingRow;

function fundingRow(
  view: FundingRateView & { rate: NonNullable<FundingRateView['rate']> },
): FundingRow & { perHour: Decimal | undefined } {
  const r = view.rate;
  const rate = decimalOrUndefined(r.rate);
  // Prefer the service's own normalisation; derive it only when absent.
  const perHour =
    decimalOrUndefined(r.ratePerHour) ??
    (rate && r.intervalMs > 0 ? rate.times(HOUR_MS).div(r.intervalMs) : undefined);
  const annualized = decimalOrUndefined(r.annualized) ?? perHour?.times(HOURS_PER_YEAR);
  return {
    venue: r.venue,
    instrument: r.instrument,
    rate: r.rate,
    intervalMs: r.intervalMs,
    intervalHours: r.intervalMs > 0 ? new Decimal(r.intervalMs).div(HOUR_MS).toFixed() : '',
    ratePerHour: perHour?.toFixed() ?? '',
    ratePerHourPct: perHour ? pct(perHour, 5) : '',
    annualized: annualized?.toFixed() ?? '',
    annualizedPct: annualized ? pct(annualized, 2) : '',
    nextFundingTimeMs: r.nextFundingTimeMs,
    markPrice: r.markPrice,
    indexPrice: r.indexPrice,
    asOfMs: r.asOfMs,
    ageMs: view.ageMs,
    stale: view.stale,
    perHour,
  };
}

function fundingRowsWithPerHour(res: GetFundingRatesResponse) {
  return res.rates
    .filter(
      (v): v is FundingRateView & { rate: NonNullable<FundingRateView['rate']> } => v.rate !== undefined,
    )
    .map(fundingRow)
    .sort((a, b) => a.instrument.localeCompare(b.instrument) || a.venue.localeCompare(b.venue));
}

/** Funding rates by instrument and venue. */
export function fundingRows(res: GetFundingRatesResponse): FundingRow[] {
  return fundingRowsWithPerHour(res).map(({ perHour: _, ...row }) => row);
}

export interface FundingSpread {
  readonly instrument: string;
  /** Venue with the highest per-hour rate: the one to be short on (shorts receive). */
  readonly shortVenue: string;
  /** Venue with the lowest per-hour rate: the one to be long on. */
  readonly longVenue: string;
  readonly spreadPerHour: string;
  readonly spreadAnnualized: string;
  readonly spreadAnnualizedPct: string;
}

export interface FundingMatrix {
  readonly venues: string[];
  readonly instruments: string[];
  readonly cells: FundingCell[];
  readonly spreads: FundingSpread[];
}

export function fundingMatrix(res: GetFundingRatesResponse): FundingMatrix {
  const cells: FundingCell[] = [];
  const perHourOf = new Map<string, Array<{ venue: string; perHour: Decimal }>>();
  for (const { perHour, ...cell } of fundingRowsWithPerHour(res)) {
    cells.push(cell);
    if (perHour && !cell.stale) {
      const list = perHourOf.get(cell.instrument) ?? [];
      list.push({ venue: cell.venue, perHour });
      perHourOf.set(cell.instrument, list);
    }
  }
  const spreads: FundingSpread[] = [];
  for (const [instrument, list] of [...perHourOf.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (list.length < 2) continue;
    const sorted = [...list].sort(
      (a, b) => a.perHour.comparedTo(b.perHour) || a.venue.localeCompare(b.venue),
    );
    const low = sorted[0]!;
    const high = sorted[sorted.length - 1]!;
    const spread = high.perHour.minus(low.perHour);
    const annual = spread.times(HOURS_PER_YEAR);
    spreads.push({
      instrument,
      shortVenue: high.venue,
      longVenue: low.venue,
      spreadPerHour: spread.toFixed(),
      spreadAnnualized: annual.toFixed(),
      spreadAnnualizedPct: pct(annual, 2),
    });
  }
  const venues = [...new Set(cells.map((c) => c.venue))].sort();
  const instruments = [...new Set(cells.map((c) => c.instrument))].sort();
  return { venues, instruments, cells, spreads };
}

// ---- account summary (equity / PnL chart) ---------------------------------------------------

export function summaryView(res: GetAccountSummaryResponse): JsonObject {
  return {
    accounts: res.accounts.map((a) => ({ ...a })),
    totals: res.totals.map((t) => ({ ...t })),
  };
}

// ---- funding-arb book: PnL split, break-even, funding history, alarms, breaker ------------

/** The strategy kind that has an arb book (StrategyService.GetArbBook answers only for it). */
export const ARB_BOOK_STRATEGY_KIND = 'funding_arb';

/** Where an arb's (or a book's) money came from; decimal text, quote currency. */
export interface ArbAttributionRow {
  readonly funding: string;
  readonly fundingPredicted: string;
  /** Price / basis PnL: realized plus the open size marked at the book mids. */
  readonly basisPnl: string;
  readonly fees: string;
  /** Fills against the decision's mid (positive = cost); inside basisPnl. */
  readonly slippage: string;
  /** funding + basisPnl - fees. */
  readonly net: string;
}

export interface ArbLegRow {
  readonly venue: string;
  readonly account: string;
  /** Signed base size the leg holds. */
  readonly size: string;
  readonly entryPrice: string;
  readonly mark: string;
  readonly pricePnl: string;
  readonly unrealizedPnl: string;
  readonly fees: string;
  readonly funding: string;
  readonly fundingPredicted: string;
  readonly slippage: string;
  readonly settlements: number;
}

export interface ArbRow {
  readonly strategyId: string;
  readonly dryRun: boolean;
  readonly arbId: string;
  readonly instrument: string;
  /** entering, open, exiting, unwinding, closed. */
  readonly phase: string;
  readonly active: boolean;
  readonly short: ArbLegRow;
  readonly long: ArbLegRow;
  readonly attribution: ArbAttributionRow;
  /** Hours of the current funding still needed to break even after exit costs; '' = never (or closed). */
  readonly breakEvenHours: string;
  readonly carryPerHour: string;
  readonly expectedNetCarry: string;
  readonly startedAtMs: number;
  /** 0 while not open yet. */
  readonly openedAtMs: number;
  /** 0 while not closed. */
  readonly closedAtMs: number;
  readonly closeReason: string;
}

/** One settled payment of an arb leg next to what the reading before it predicted (the dashboard's chart). */
export interface FundingSettlementRow {
  readonly strategyId: string;
  readonly arbId: string;
  readonly instrument: string;
  readonly leg: 'short' | 'long';
  readonly venue: string;
  readonly fundingTimeMs: number;
  readonly settled: string;
  /** '' when there was no reading before the payment. */
  readonly predicted: string;
  readonly rate: string;
}

/** A venue's funding reading at a settlement (or the current one, `pending`), per market. */
export interface FundingReadingRow {
  readonly strategyId: string;
  readonly venue: string;
  readonly instrument: string;
  readonly fundingTimeMs: number;
  readonly rate: string;
  readonly intervalMs: number;
  readonly ratePerHour: string;
  /** ratePerHour as percent with 5 decimals. */
  readonly ratePerHourPct: string;
  readonly mark: string;
  readonly pending: boolean;
}

export interface ArbAlarmRow {
  readonly strategyId: string;
  readonly key: string;
  readonly name: string;
  readonly sinceMs: number;
  readonly ageMs: number;
  readonly message: string;
}

export interface ArbStrategyRow {
  readonly strategyId: string;
  readonly dryRun: boolean;
  readonly totals: ArbAttributionRow;
  readonly breakEvenHours: string;
  readonly breaker: {
    readonly tripped: boolean;
    readonly reasonCode: string;
    readonly message: string;
    readonly trippedAtMs: number;
    readonly realizedNet: string;
    readonly drawdown: string;
    readonly consecutiveLosses: number;
  };
}

export interface ArbBookView {
  readonly strategies: ArbStrategyRow[];
  /** Active arbs first (instrument order), then closed ones, newest first. */
  readonly arbs: ArbRow[];
  /** Every strategy's totals summed. */
  readonly totals: ArbAttributionRow;
  readonly alarms: ArbAlarmRow[];
  /** Every leg's settled payments with their predictions, oldest first. */
  readonly funding: FundingSettlementRow[];
  /** Each venue's funding reading at each settlement and now, oldest first. */
  readonly fundingReadings: FundingReadingRow[];
}

const ATTRIBUTION_FIELDS = ['funding', 'fundingPredicted', 'basisPnl', 'fees', 'slippage', 'net'] as const;
type AttributionField = (typeof ATTRIBUTION_FIELDS)[number];

function attributionFrom(value: (field: AttributionField) => string): ArbAttributionRow {
  return Object.fromEntries(ATTRIBUTION_FIELDS.map((f) => [f, value(f)])) as Record<AttributionField, string>;
}

function attributionRow(a: ArbAttribution | undefined): ArbAttributionRow {
  return attributionFrom((f) => a?.[f] || '0');
}

function sumAttributionRows(rows: ReadonlyArray<ArbAttributionRow>): ArbAttributionRow {
  return attributionFrom((f) =>
    toWire(rows.reduce((sum, r) => sum.plus(decimalOrUndefined(r[f]) ?? 0), new Decimal(0))),
  );
}

function arbLegRow(leg: ArbLeg | undefined): ArbLegRow {
  return {
    venue: leg?.venue ?? '',
    account: leg?.account ?? '',
    size: leg?.size ?? '0',
    entryPrice: leg?.entryPrice ?? '',
    mark: leg?.mark ?? '',
    pricePnl: leg?.pricePnl || '0',
    unrealizedPnl: leg?.unrealizedPnl || '0',
    fees: leg?.fees || '0',
    funding: leg?.fundingReceived || '0',
    fundingPredicted: leg?.fundingPredicted || '0',
    slippage: leg?.slippage || '0',
    settlements: leg?.settlements ?? 0,
  };
}

/**
 * The arb books of every funding-arb strategy as one view: arbs with their PnL split and
 * break-even, totals per strategy and overall, raised alarms (oldest first) and the
 * funding history (predicted vs settled per leg) the dashboard charts.
 */
export function arbBookView(books: ReadonlyArray<GetArbBookResponse>, nowMs: number): ArbBookView {
  const strategies: ArbStrategyRow[] = [];
  const active: ArbRow[] = [];
  const closed: ArbRow[] = [];
  const alarms: ArbAlarmRow[] = [];
  const funding: FundingSettlementRow[] = [];
  const fundingReadings: FundingReadingRow[] = [];
  for (const book of books) {
    const { strategyId, dryRun } = book;
    const b = book.breaker;
    strategies.push({
      strategyId,
      dryRun,
      totals: attributionRow(book.totals),
      breakEvenHours: book.breakEvenHours,
      breaker: {
        tripped: b?.tripped ?? false,
        reasonCode: b?.reasonCode ?? '',
        message: b?.message ?? '',
        trippedAtMs: b?.trippedAtMs ?? 0,
        realizedNet: b?.realizedNet || '0',
        drawdown: b?.drawdown || '0',
        consecutiveLosses: b?.consecutiveLosses ?? 0,
      },
    });
    for (const [list, arbs, isActive] of [
      [active, book.active, true],
      [closed, book.closed, false],
    ] as const) {
      for (const a of arbs) {
        list.push({
          strategyId,
          dryRun,
          arbId: a.arbId,
          instrument: a.instrument,
          phase: a.phase,
          active: isActive,
          short: arbLegRow(a.shortLeg),
          long: arbLegRow(a.longLeg),
          attribution: attributionRow(a.attribution),
          breakEvenHours: a.breakEvenHours,
          carryPerHour: a.carryPerHour,
          expectedNetCarry: a.expectedNetCarry,
          startedAtMs: a.startedAtMs,
          openedAtMs: a.openedAtMs,
          closedAtMs: a.closedAtMs,
          closeReason: a.closeReason,
        });
        for (const [legName, leg] of [
          ['short', a.shortLeg],
          ['long', a.longLeg],
        ] as const) {
          for (const h of leg?.fundingHistory ?? []) {
            funding.push({
              strategyId,
              arbId: a.arbId,
              instrument: a.instrument,
              leg: legName,
              venue: h.venue,
              fundingTimeMs: h.fundingTimeMs,
              settled: h.settled,
              predicted: h.predicted,
              rate: h.rate,
            });
          }
        }
      }
    }
    for (const r of book.fundingReadings) {
      const perHour = decimalOrUndefined(r.ratePerHour);
      fundingReadings.push({
        strategyId,
        venue: r.venue,
        instrument: r.instrument,
        fundingTimeMs: r.fundingTimeMs,
        rate: r.rate,
        intervalMs: r.intervalMs,
        ratePerHour: r.ratePerHour,
        ratePerHourPct: perHour ? pct(perHour, 5) : '',
        mark: r.mark,
        pending: r.pending,
      });
    }
    for (const al of book.alarms) {
      alarms.push({
        strategyId,
        key: al.key,
        name: al.name,
        sinceMs: al.sinceMs,
        ageMs: Math.max(0, nowMs - al.sinceMs),
        message: al.message,
      });
    }
  }
  closed.sort((x, y) => y.closedAtMs - x.closedAtMs);
  alarms.sort((x, y) => x.sinceMs - y.sinceMs || x.key.localeCompare(y.key));
  funding.sort((x, y) => x.fundingTimeMs - y.fundingTimeMs || x.arbId.localeCompare(y.arbId));
  fundingReadings.sort(
    (x, y) =>
      x.fundingTimeMs - y.fundingTimeMs ||
      x.venue.localeCompare(y.venue) ||
      x.instrument.localeCompare(y.instrument),
  );
  return {
    strategies,
    arbs: [...active, ...closed],
    totals: sumAttributionRows(strategies.map((s) => s.totals)),
    alarms,
    funding,
    fundingReadings,
  };
}
