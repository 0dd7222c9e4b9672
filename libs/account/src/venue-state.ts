/**
 * What the venue told us about one tracked (venue, account): balances, positions, open
 * orders, the settle currency per instrument, and the user-stream subscription, with the
 * last error of each read. Pure bookkeeping (no publishing, no clock): the service feeds it
 * and turns its readiness verdicts into health components.
 *
 * A newer reading is never overwritten by an older one (a poll answered late must not undo
 * a user-stream update), and balances never read stay `undefined`: never zeros.
 */
import { type EpochMs, readingAgeMs } from '@perpmesh/core';
import type { Subscription, VenueBalance, VenuePort, VenuePosition } from '@perpmesh/venues';
import { accountKey } from './projection.js';
import { latestOf } from './readings.js';

/** A venue balance with when we knew it true, on our clock (core `readingAgeMs`). */
export type ObservedBalance = VenueBalance & { readonly observedAtMs: EpochMs };
/** A venue position with when we knew it true, on our clock. */
export type ObservedPosition = VenuePosition & { readonly observedAtMs: EpochMs };

/**
 * When the same venue reading (same venue time) was last known true: a poll sent before a
 * push of the same state arrived does not make it older.
 */
function newestObservedAt(
  current: { readonly tsEventMs: EpochMs; readonly observedAtMs: EpochMs } | undefined,
  next: { readonly tsEventMs: EpochMs },
  observedAtMs: EpochMs,
): EpochMs {
  return current !== undefined && current.tsEventMs === next.tsEventMs
    ? Math.max(current.observedAtMs, observedAtMs)
    : observedAtMs;
}

export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

export class AccountVenueState {
  readonly venue: string;
  readonly account: string;
  /** `venue/account`, for reasons and logs. */
  readonly name: string;
  /** `accountKey(venue, account)`. */
  readonly key: string;
  readonly port: VenuePort;
  /** By asset; undefined until the first successful read (never zeros). */
  balances: Map<string, ObservedBalance> | undefined;
  balancesError: string | undefined;
  /** By instrument: what the venue holds. */
  positions = new Map<string, ObservedPosition>();
  positionsFetched = false;
  /** Venue time of the newest position reading (or of the poll that listed them). */
  positionsAsOfMs: EpochMs = 0;
  /** Our clock when the positions were last known (a poll's request, a pushed report's arrival); 0 before. */
  positionsObservedAtMs: EpochMs = 0;
  positionsError: string | undefined;
  openOrders: number | undefined;
  subscription: Subscription | undefined;
  subscribing = false;
  userStreamError: string | undefined;
  userStreamReady = false;
  /**
   * Funding payments at or after this venue time are not known to be published yet: where
   * the next read of the venue's funding history starts. Undefined until first derived.
   */
  fundingHistorySinceMs: EpochMs | undefined;
  /** Settle currency per instrument (from loadMarkets); kept across standby periods. */
  readonly settle = new Map<string, string>();

  constructor(port: VenuePort) {
    this.port = port;
    this.venue = port.venue;
    this.account = port.account;
    this.name = `${port.venue}/${port.account}`;
    this.key = accountKey(port.venue, port.account);
  }

  /**
   * Takes a balance unless we hold a newer one (by venue time); true when taken. `observedAtMs`:
   * our clock when it was known true (a poll's request time, a pushed message's arrival). The
   * same venue time again (a venue that dates a balance by its last change) is taken: it
   * refreshes when we last knew it.
   */
  acceptBalance(balance: VenueBalance, observedAtMs: EpochMs): boolean {
    this.balances ??= new Map();
    const current = this.balances.get(balance.asset);
    if (current !== undefined && current.tsEventMs > balance.tsEventMs) return false;
    this.balances.set(balance.asset, {
      ...balance,
      observedAtMs: newestObservedAt(current, balance, observedAtMs),
    });
    return true;
  }

  /** Takes a position report unless we hold a newer one; true when taken. `observedAtMs` as for balances. */
  acceptPosition(position: VenuePosition, observedAtMs: EpochMs): boolean {
    const current = this.positions.get(position.instrument);
    if (current !== undefined && current.tsEventMs > position.tsEventMs) return false;
    this.positions.set(position.instrument, {
      ...position,
      observedAtMs: newestObservedAt(current, position, observedAtMs),
    });
    this.positionsAsOfMs = Math.max(this.positionsAsOfMs, position.tsEventMs);
    this.positionsObservedAtMs = Math.max(this.positionsObservedAtMs, observedAtMs);
    return true;
  }

  /**
   * A successful positions poll: what the venue no longer lists is flat there. As of the
   * newest venue time among the reports and the same poll's balances, else `requestedAtMs`
   * (when the poll was sent): the venue's state is known as of then at the latest; its
   * answer can arrive long after fills the state does not hold.
   */
  acceptPolledPositions(
    positions: readonly VenuePosition[],
    polledBalances: readonly VenueBalance[],
    requestedAtMs: EpochMs,
  ): VenuePosition[] {
    this.positionsError = undefined;
    const taken = positions.filter((p) => this.acceptPosition(p, requestedAtMs));
    const seen = new Set(positions.map((p) => p.instrument));
    for (const instrument of [...this.positions.keys()])
      if (!seen.has(instrument)) this.positions.delete(instrument);
    const asOf = latestOf(...positions.map((p) => p.tsEventMs), ...polledBalances.map((b) => b.tsEventMs));
    this.positionsAsOfMs = Math.max(this.positionsAsOfMs, asOf ?? requestedAtMs);
    this.positionsObservedAtMs = Math.max(this.positionsObservedAtMs, requestedAtMs);
    this.positionsFetched = true;
    return taken;
  }

  /** Settle currency of `instrument`, else any market's, else the only balance asset, else ''. */
  settleCurrency(instrument?: string): string {
    const fromMarkets = instrument === undefined ? undefined : this.settle.get(instrument);
    if (fromMarkets !== undefined) return fromMarkets;
    const anySettle = [...this.settle.values()][0];
    if (anySettle !== undefined) return anySettle;
    const assets = [...(this.balances?.keys() ?? [])];
    return assets.length === 1 ? assets[0]! : '';
  }

  /** Why the balances are unknown (never read), or undefined when they are known. */
  balancesUnavailable(): string | undefined {
    if (this.balances !== undefined) return undefined;
    return this.balancesError ? `last fetch failed: ${this.balancesError}` : 'not fetched yet';
  }

  /** Not ready while never read, or while the newest balance is older than `staleAfterMs` (on our clock). */
  balancesReadiness(nowMs: EpochMs, staleAfterMs: number): Readiness {
    const unavailable = this.balancesUnavailable();
    if (unavailable !== undefined)
      return {
        ready: false,
        reason: `${this.name} balances: not fetched yet${this.balancesError ? `: ${unavailable}` : ''}`,
      };
    const ages = [...(this.balances?.values() ?? [])].map((b) =>
      readingAgeMs({ asOfMs: b.tsEventMs, observedAtMs: b.observedAtMs }, nowMs),
    );
    const youngest = ages.length === 0 ? undefined : Math.min(...ages);
    if (youngest !== undefined && youngest > staleAfterMs) {
      const lastError = this.balancesError ? `; last fetch failed: ${this.balancesError}` : '';
      return {
        ready: false,
        reason: `${this.name} balances: stale: last reading is ${youngest} ms old (bound ${staleAfterMs} ms)${lastError}`,
      };
    }
    return { ready: true };
  }

  /** Not ready while never read, or while the venue's reading is older than `staleAfterMs`. */
  positionsReadiness(nowMs: EpochMs, staleAfterMs: number): Readiness {
    if (!this.positionsFetched) {
      return {
        ready: false,
        reason: this.positionsError
          ? `${this.name} positions: not fetched yet: last fetch failed: ${this.positionsError}`
          : `${this.name} positions: not fetched yet`,
      };
    }
    const age = readingAgeMs(
      { asOfMs: this.positionsAsOfMs, observedAtMs: this.positionsObservedAtMs },
      nowMs,
    );
    if (age > staleAfterMs) {
      return {
        ready: false,
        reason:
          `${this.name} positions: venue reading is ${age} ms old (bound ${staleAfterMs} ms)` +
          (this.positionsError ? `; last fetch failed: ${this.positionsError}` : ''),
      };
    }
    return { ready: true };
  }

  /** Forgets every reading and the subscription (back to standby: a takeover starts fresh). */
  reset(): void {
    this.subscription = undefined;
    this.userStreamReady = false;
    this.balances = undefined;
    this.balancesError = undefined;
    this.positions = new Map();
    this.positionsFetched = false;
    this.positionsAsOfMs = 0;
    this.positionsObservedAtMs = 0;
    this.positionsError = undefined;
    this.openOrders = undefined;
  }
}
