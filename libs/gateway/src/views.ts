/**
 * The API's views: pure functions from the services' gRPC answers to the JSON the
 * dashboard shows. Decimal math (per-hour, annualized, liquidation distance, spreads) is
 * done here with `Decimal`, once, so the page only formats text.
 */

import type {
  GetAccountSummaryResponse,
  GetBalancesResponse,
  GetFundingRatesResponse,
  GetPositionsResponse,
  GetVenueStatusResponse,
  ListOpenOrdersResponse,
} from '@perpmesh/contracts';
import { Decimal, dec } from '@perpmesh/core';
import { enumWords, type JsonObject, orderJson } from './wire-json.js';

const HOUR_MS = 3_600_000;
const HOURS_PER_YEAR = 8760;
const HUNDRED = new Decimal(100);

function decimalOrUndefined(text: string): Decimal | undefined {
  if (text === '') return undefined;
  try {
    const d = dec(text);
    return d.isFinite() ? d : undefined;
  } catch {
    return undefined;
  }
}

/** A fraction as percent text with `places` decimals ("0.0001" → "0.0100"). */
function pct(fraction: Decimal, places: number): string {
  return fraction.times(HUNDRED).toFixed(places);
}

// ---- venues and readiness ---------------------------------------------------------------

export interface ComponentView {
  /** e.g. `symbols`, `order_books`, `funding`, `main/balances`. */
  readonly name: string;
  /** Which service vouches for it. */
  readonly service: 'market-data' | 'account';
  readonly ready: boolean;
  /** Why not ready; null when ready. */
  readonly reason: string | null;
  readonly sinceMs: number | null;
}

export interface VenueView {
  readonly venue: string;
  readonly ready: boolean;
  readonly components: ComponentView[];
}

/**
 * Per venue: market-data's components (from GetVenueStatus) and, per account, whether the
 * account service has fresh balances (from GetBalances). A service that did not answer
 * becomes a not-ready component on every venue, with its error as the reason.
 */
export function venuesView(
  status: GetVenueStatusResponse | Error,
  balances: GetBalancesResponse | Error,
): VenueView[] {
  const byVenue = new Map<string, ComponentView[]>();
  const add = (venue: string, c: ComponentView) => {
    const list = byVenue.get(venue) ?? [];
    list.push(c);
    byVenue.set(venue, list);
  };
  if (!(status instanceof Error)) {
    for (const v of status.venues) {
      byVenue.set(v.venue, byVenue.get(v.venue) ?? []);
      for (const c of v.components) {
        add(v.venue, {
          name: c.component,
          service: 'market-data',
          ready: c.ready,
          reason: c.ready ? null : c.reason || `${c.component}: not ready (no reason given)`,
          sinceMs: c.sinceMs || null,
        });
      }
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
      });
    }
  }
  const unreachable: Array<[ComponentView['service'], Error]> = [];
  if (status instanceof Error) unreachable.push(['market-data', status]);
  if (balances instanceof Error) unreachable.push(['account', balances]);
  if (byVenue.size === 0 && unreachable.length > 0) byVenue.set('(unknown)', []);
  for (const [service, err] of unreachable) {
    for (const venue of byVenue.keys()) {
      add(venue, { name: service, service, ready: false, reason: err.message, sinceMs: null });
    }
  }
  return [...byVenue.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([venue, components]) => ({
      venue,
      ready: components.length > 0 && components.every((c) => c.ready),
      components,
    }));
}

function formatAge(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

// ---- balances, positions, orders ------------------------------------------------------------

export function balancesView(res: GetBalancesResponse): JsonObject[] {
  return res.balances
    .filter((v) => v.balance)
    .map((v) => {
      const b = v.balance!;
      return {
        venue: b.venue,
        account: b.account,
        currency: b.currency,
        total: b.total,
        available: b.available,
        equity: b.equity,
        unrealizedPnl: b.unrealizedPnl,
        asOfMs: b.asOfMs,
        ageMs: v.ageMs,
        stale: v.stale,
        source: enumWords.stateSource(b.source),
      };
    })
    .sort((a, b) =>
      `${a.venue}/${a.account}/${a.currency}`.localeCompare(`${b.venue}/${b.account}/${b.currency}`),
    );
}

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

export function positionsView(res: GetPositionsResponse): JsonObject[] {
  return res.positions
    .filter((v) => v.position && decimalOrUndefined(v.position.size)?.isZero() === false)
    .map((v) => {
      const p = v.position!;
      const distance = liquidationDistance(p.markPrice, p.liquidationPrice);
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
        liquidationDistance: distance?.toFixed(6) ?? '',
        liquidationDistancePct: distance ? pct(distance, 2) : '',
        asOfMs: p.asOfMs,
        ageMs: v.ageMs,
        stale: v.stale,
      };
    })
    .sort((a, b) =>
      `${a.venue}/${a.account}/${a.instrument}`.localeCompare(`${b.venue}/${b.account}/${b.instrument}`),
    );
}

export function ordersView(res: ListOpenOrdersResponse): JsonObject[] {
  return res.orders.map(orderJson).sort((a, b) => Number(a.createdAtMs) - Number(b.createdAtMs));
}

// ---- funding matrix -------------------------------------------------------------------------

export interface FundingCell {
  readonly venue: string;
  readonly instrument: string;
  /** Raw rate for the venue's own interval (fraction). */
  readonly rate: string;
  readonly intervalMs: number;
  readonly intervalHours: string;
  readonly ratePerHour: string;
  readonly ratePerHourPct: string;
  readonly annualized: string;
  readonly annualizedPct: string;
  readonly nextFundingTimeMs: number;
  readonly markPrice: string;
  readonly asOfMs: number;
  readonly ageMs: number;
  readonly stale: boolean;
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
  for (const view of res.rates) {
    const r = view.rate;
    if (!r) continue;
    const rate = decimalOrUndefined(r.rate);
    // Prefer the service's own normalisation; derive it only when absent.
    const perHour =
      decimalOrUndefined(r.ratePerHour) ??
      (rate && r.intervalMs > 0 ? rate.times(HOUR_MS).div(r.intervalMs) : undefined);
    const annualized = decimalOrUndefined(r.annualized) ?? perHour?.times(HOURS_PER_YEAR);
    cells.push({
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
      asOfMs: r.asOfMs,
      ageMs: view.ageMs,
      stale: view.stale,
    });
    if (perHour && !view.stale) {
      const list = perHourOf.get(r.instrument) ?? [];
      list.push({ venue: r.venue, perHour });
      perHourOf.set(r.instrument, list);
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
  cells.sort((a, b) => `${a.instrument}/${a.venue}`.localeCompare(`${b.instrument}/${b.venue}`));
  return { venues, instruments, cells, spreads };
}

// ---- account summary (equity / PnL chart) ---------------------------------------------------

export function summaryView(res: GetAccountSummaryResponse): JsonObject {
  return {
    accounts: res.accounts.map((a) => ({ ...a })),
    totals: res.totals.map((t) => ({ ...t })),
  };
}
