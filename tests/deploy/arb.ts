/** The funding arb the deploy tests run on the chaos harness's system (tests/chaos/system.ts). */
import type { VenueFill, VenuePort } from '@perpmesh/venues';
import { ARB_ACCOUNT, type ChaosSystem, VENUES } from '../chaos/system.js';

/**
 * Priced over a horizon whose funding clears the fees (config/perpmesh.yaml's arb), on the
 * three paper venues: the arb enters once and holds (the chaos run's arb instead opens and
 * closes many short arbs on compressed funding: tests/chaos/system.ts `compressedFunding`).
 */
export const HOLDING_ARB = {
  holdingHorizonMs: '48h',
  maxHoldingMs: '48h',
  venues: VENUES.map((venue) => ({ venue, account: ARB_ACCOUNT })),
};

/** The arb account's port on each venue, straight to the paper-venue service (the truth). */
export async function arbVenues(system: ChaosSystem): Promise<Array<{ venue: string; port: VenuePort }>> {
  const out: Array<{ venue: string; port: VenuePort }> = [];
  for (const venue of VENUES) out.push({ venue, port: await system.venue(venue, ARB_ACCOUNT) });
  return out;
}

/** Every fill of the arb account, per venue. */
export async function arbFills(
  venues: ReadonlyArray<{ venue: string; port: VenuePort }>,
): Promise<Array<{ venue: string; fills: VenueFill[] }>> {
  return Promise.all(venues.map(async ({ venue, port }) => ({ venue, fills: await port.fetchFills(0) })));
}
