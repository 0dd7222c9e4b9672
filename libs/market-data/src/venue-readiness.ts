/**
 * A venue's readiness as market data reports it, pure: the four components (`symbols`,
 * `market_stream`, `order_books`, `funding`) with a reason a person can act on, computed
 * from what the feed knows, and the mirror of the venue port's own readiness (is its
 * market stream up?). The feed feeds the answers to the HealthRegistry and md.status.
 */
import { type EpochMs, errorText, type InstrumentId, type VenueId } from '@perpmesh/core';
import { type ReadinessComponent, VENUE_COMPONENT, type VenueComponentName } from '@perpmesh/venues';

/** The readiness components of a venue, in the order they are reported. */
export const VENUE_COMPONENTS = ['symbols', 'market_stream', 'order_books', 'funding'] as const;
export type VenueComponent = (typeof VENUE_COMPONENTS)[number];

export interface ComponentView {
  component: string;
  ready: boolean;
  reason: string;
  sinceMs: EpochMs;
}

/**
 * The port readiness components that carry market data: when one is not ready, the
 * market stream is down. Matched by exact name (VENUE_COMPONENT), never by pattern.
 */
export const DEFAULT_PORT_STREAM_COMPONENTS: readonly VenueComponentName[] = [
  VENUE_COMPONENT.marketStream,
  VENUE_COMPONENT.link,
];

/**
 * Why the port's market stream is down (the reason of the first of `streamComponents`
 * that is not ready; a port whose readiness throws is down too), or undefined when up.
 */
export function portStreamDownReason(
  readiness: () => readonly ReadinessComponent[],
  streamComponents: readonly VenueComponentName[],
): string | undefined {
  let components: readonly ReadinessComponent[];
  try {
    components = readiness();
  } catch (err) {
    return `readiness of the venue port failed: ${errorText(err)}`;
  }
  return components.find((c) => streamComponents.includes(c.component) && !c.ready)?.reason;
}

/**
 * What one poll of the port's readiness changes for the venue's market stream: `down`
 * (first time, or a new reason) with the reason the venue and its books show, `up` when a
 * down stream is back, undefined when nothing changed.
 */
export function portStreamChange(
  venue: VenueId,
  current: { readonly down: boolean; readonly reason: string },
  downReason: string | undefined,
): { readonly change: 'down'; readonly reason: string } | { readonly change: 'up' } | undefined {
  if (downReason !== undefined) {
    const reason = `market stream of ${venue} down: ${downReason}`;
    return current.down && current.reason === reason ? undefined : { change: 'down', reason };
  }
  return current.down ? { change: 'up' } : undefined;
}

/** What the feed knows about a venue, for its readiness. */
export interface VenueReadinessFacts {
  readonly venue: VenueId;
  /** The venue's markets are loaded and list every configured instrument. */
  readonly marketsLoaded: boolean;
  /** Why they are not (loading, failed, instruments not listed). */
  readonly marketsReason: string;
  readonly subscribed: boolean;
  /** The port says its market stream is down. */
  readonly portStreamDown: boolean;
  /** Why the stream is not up (cannot subscribe, port says down); '' for "not subscribed yet". */
  readonly streamReason: string;
  /** The reason of every book that is not trusted. */
  readonly unsyncedBookReasons: readonly string[];
  /** Instruments without a funding reading yet. */
  readonly fundingMissing: readonly InstrumentId[];
  /** The last funding fetch's error; '' when it worked. */
  readonly fundingError: string;
}

export type ComponentState = readonly [ready: boolean, reason: string];

export function venueComponentStates(f: VenueReadinessFacts): Record<VenueComponent, ComponentState> {
  const streamUp = f.subscribed && !f.portStreamDown;
  return {
    symbols: [f.marketsLoaded, f.marketsLoaded ? '' : f.marketsReason],
    market_stream: [
      streamUp,
      streamUp ? '' : f.streamReason || `market stream of ${f.venue}: not subscribed yet`,
    ],
    order_books: [f.unsyncedBookReasons.length === 0, f.unsyncedBookReasons.join('; ')],
    funding: [
      f.fundingMissing.length === 0,
      f.fundingMissing.length === 0
        ? ''
        : `funding on ${f.venue} not known yet for ${f.fundingMissing.join(', ')}${f.fundingError ? ` (last fetch failed: ${f.fundingError})` : ''}`,
    ],
  };
}

/**
 * Records `next` in `views` and answers the components that changed (readiness or
 * reason). `sinceMs` moves only when readiness flips: a new reason for the same state
 * keeps the time it became so.
 */
export function updateComponentViews(
  views: Map<string, ComponentView>,
  next: Record<VenueComponent, ComponentState>,
  nowMs: EpochMs,
): ComponentView[] {
  const changed: ComponentView[] = [];
  for (const component of VENUE_COMPONENTS) {
    const [ready, reason] = next[component];
    const prev = views.get(component);
    if (prev && prev.ready === ready && prev.reason === reason) continue;
    const view = { component, ready, reason, sinceMs: prev && prev.ready === ready ? prev.sinceMs : nowMs };
    views.set(component, view);
    changed.push(view);
  }
  return changed;
}
