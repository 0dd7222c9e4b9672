/**
 * `venues.<id>` of `kind: paper`: a simulated venue of the paper hub. Its own fields pick a
 * sim preset and override fees and the funding interval; each account is funded with
 * `paperDeposit` when the simulated exchange starts fresh. Finer rules (margin, nonce rules,
 * instrument specs) are the paper-venue service's `paperVenue.venueRules`.
 */
import { decimalString, durationMs } from '@perpmesh/runtime';
import { z } from 'zod';
import { type VenueSection, venueKindSchema } from '../config.js';

export const PAPER_KIND = 'paper';

export const paperVenueConfigSchema = venueKindSchema(PAPER_KIND, {
  venue: {
    /** The preset to start from (defaults to the venue id when it names one). */
    preset: z.enum(['paper', 'paper-lighter', 'paper-extended']).optional(),
    makerFeeRate: decimalString.optional(),
    takerFeeRate: decimalString.optional(),
    fundingInterval: durationMs.optional(),
  },
  account: {
    /** Collateral (USDC) deposited when the simulated exchange starts fresh. */
    paperDeposit: decimalString.optional(),
  },
});

export type PaperVenueSection = z.output<typeof paperVenueConfigSchema>;

export function isPaperVenueSection(venue: VenueSection): venue is VenueSection & PaperVenueSection {
  return venue.kind === PAPER_KIND;
}
