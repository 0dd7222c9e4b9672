/**
 * Every component of a venue port, as the process holding the port reports it in its
 * health (`/readyz`, gRPC health) and its read APIs: one entry per (venue, account,
 * component) named `venue <venue>/<account>: <component>` (`venue <venue>: <component>`
 * for a public market-data port), with the port's reason.
 *
 * Which components decide readiness (docs/architecture.md, "Venue readiness"): a component
 * whose failure stops trading on that venue (or market data, for a public port) makes the
 * holder not ready with its reason; an informational one is shown with its state and
 * reason but never flips readiness. The rule is per component name, in
 * `VENUE_COMPONENT_DECIDES_READINESS`: a new name in VENUE_COMPONENT fails the build
 * until it says which it is.
 */
import { errorText } from '@perpmesh/core';
import type { HealthRegistry } from '@perpmesh/runtime';
import { PUBLIC_ACCOUNT, type ReadinessComponent, VENUE_COMPONENT, type VenueComponentName } from './port.js';

/**
 * True: not ready stops trading (or market data) on the venue, so the holder is not ready.
 * False: informational (shown, never flips readiness):
 * - `balance`: an empty account is the operator's to fund; orders into it are refused by
 *   pre-trade risk and the venue, and the account service's own `balances` component
 *   already says when balances cannot be read or are stale.
 * - `request budget`: a spent budget makes calls wait for the next slot (or fail as
 *   rate-limited) and refills on its own within seconds; flipping readiness on it would
 *   flap. Shown low or spent, with how much is left.
 */
export const VENUE_COMPONENT_DECIDES_READINESS: Readonly<Record<VenueComponentName, boolean>> = {
  [VENUE_COMPONENT.markets]: true,
  [VENUE_COMPONENT.marketStream]: true,
  [VENUE_COMPONENT.userStream]: true,
  [VENUE_COMPONENT.balance]: false,
  [VENUE_COMPONENT.link]: true,
  [VENUE_COMPONENT.signer]: true,
  [VENUE_COMPONENT.authToken]: true,
  [VENUE_COMPONENT.requestBudget]: false,
  [VENUE_COMPONENT.nonces]: true,
  [VENUE_COMPONENT.deadManSwitch]: true,
};

const COMPONENT_ORDER: readonly string[] = Object.values(VENUE_COMPONENT);

/** One component of one venue port: the port's readings of it merged, with the rule applied. */
export interface PortComponentState {
  readonly venue: string;
  /** '' for a public (market-data) port. */
  readonly account: string;
  /** A VENUE_COMPONENT name. */
  readonly component: string;
  readonly ready: boolean;
  /** The port's reason: why not ready, or what a ready one has ("BTC-USDC-PERP loaded"). */
  readonly reason: string;
  /** Shown, never deciding readiness (VENUE_COMPONENT_DECIDES_READINESS). */
  readonly informational: boolean;
}

/** `venue/account`, or `venue` for a public port. */
export function portHolderName(venue: string, account: string): string {
  return account === PUBLIC_ACCOUNT ? venue : `${venue}/${account}`;
}

/** The health component name of one port component: `venue lighter/main: auth token`. */
export function portComponentHealthName(venue: string, account: string, component: string): string {
  return `venue ${portHolderName(venue, account)}: ${component}`;
}

function decidesReadiness(component: string): boolean {
  // A name outside the union (a remote port of a newer build) decides readiness: safe side.
  return (VENUE_COMPONENT_DECIDES_READINESS as Record<string, boolean | undefined>)[component] ?? true;
}

function distinct(texts: readonly string[]): string[] {
  return [...new Set(texts.filter((t) => t.trim() !== ''))];
}

/**
 * The port's readiness as one state per component, in VENUE_COMPONENT order. Several
 * readings of one component (a market stream per instrument) merge: ready when all are,
 * the not-ready reasons (else every reason) joined. A port whose readiness throws reads as
 * its link down, with the error.
 */
export function portComponentStates(port: {
  readonly venue: string;
  readonly account: string;
  readiness(): readonly ReadinessComponent[];
}): PortComponentState[] {
  const { venue, account } = port;
  let readings: readonly ReadinessComponent[];
  try {
    readings = port.readiness();
  } catch (err) {
    readings = [
      {
        component: VENUE_COMPONENT.link,
        ready: false,
        reason: `readiness of the venue port failed: ${errorText(err)}`,
      },
    ];
  }
  const byComponent = new Map<string, ReadinessComponent[]>();
  for (const r of readings) byComponent.set(r.component, [...(byComponent.get(r.component) ?? []), r]);
  const rank = (c: string) => {
    const i = COMPONENT_ORDER.indexOf(c);
    return i < 0 ? COMPONENT_ORDER.length : i;
  };
  return [...byComponent.entries()]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([component, list]) => {
      const down = list.filter((r) => !r.ready);
      const ready = down.length === 0;
      const reason =
        distinct((ready ? list : down).map((r) => r.reason)).join('; ') ||
        (ready ? '' : `${component}: not ready (the venue port gave no reason)`);
      return { venue, account, component, ready, reason, informational: !decidesReadiness(component) };
    });
}

export interface PortComponentView extends PortComponentState {
  /** When `ready` last changed (ms since epoch), as this holder saw it. */
  readonly sinceMs: number;
}

/** How often a holder reads its ports' readiness into health, unless it has its own setting. */
export const PORT_READINESS_REFRESH_MS = 1_000;

/** What the mirror reads: a port's identity and its readiness. */
export type PortReadinessSource = Parameters<typeof portComponentStates>[0];

export interface PortReadinessMirrorOptions {
  /** Where the components go (`/readyz`); without it the mirror only keeps the views. */
  readonly health?: HealthRegistry;
  /** The ports this process holds (read on every refresh: a port opened later is picked up). */
  readonly ports: () => readonly PortReadinessSource[];
  readonly nowMs?: () => number;
}

/**
 * Mirrors every component of every port a process holds into its HealthRegistry and keeps
 * the last views for the process's read API. `refresh()` reads the ports now; `start`
 * refreshes on a timer. A component a port stops reporting is removed from health.
 */
export class PortReadinessMirror {
  readonly #options: PortReadinessMirrorOptions;
  readonly #nowMs: () => number;
  #views = new Map<string, PortComponentView>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: PortReadinessMirrorOptions) {
    this.#options = options;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  refresh(): PortComponentView[] {
    const now = this.#nowMs();
    const next = new Map<string, PortComponentView>();
    let ports: readonly PortReadinessSource[];
    try {
      ports = this.#options.ports();
    } catch {
      return this.views(); // the ports are not open yet (or closed): nothing to read
    }
    for (const port of ports) {
      for (const state of portComponentStates(port)) {
        const name = portComponentHealthName(state.venue, state.account, state.component);
        const previous = this.#views.get(name);
        const sinceMs = previous && previous.ready === state.ready ? previous.sinceMs : now;
        next.set(name, { ...state, sinceMs });
        this.#options.health?.report(name, {
          ready: state.ready,
          reason: state.reason,
          informational: state.informational,
        });
      }
    }
    for (const name of this.#views.keys()) if (!next.has(name)) this.#options.health?.unregister(name);
    this.#views = next;
    return this.views();
  }

  /**
   * The components as of the last refresh, by port, then VENUE_COMPONENT order; only those
   * of `filter.venue` / `filter.account` when given (undefined or '' = every one).
   */
  views(
    filter: { readonly venue?: string | undefined; readonly account?: string | undefined } = {},
  ): PortComponentView[] {
    return [...this.#views.values()].filter(
      (c) => (!filter.venue || c.venue === filter.venue) && (!filter.account || c.account === filter.account),
    );
  }

  start(intervalMs: number): void {
    this.refresh();
    if (this.#timer || intervalMs <= 0) return;
    this.#timer = setInterval(() => this.refresh(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
