/**
 * The `venues` section of perpmesh.yaml: which venues, which of our accounts on each, and
 * which instruments we follow there. Every service reads the same section; the paper
 * venue's own settings (fees, funding interval, nonce rules, deposits) live under
 * `paper`, used by whoever hosts the simulated exchange (the embedded runner, or the
 * paper-venue service).
 *
 *   venues:
 *     paper-lighter:
 *       kind: paper
 *       instruments: [BTC-USDC-PERP, ETH-USDC-PERP]
 *       accounts:
 *         main: { paperDeposit: "100000" }
 */
import { parseInstrumentId, parseVenueId } from '@perpmesh/core';
import { decimalString, durationMs, secretSchema } from '@perpmesh/runtime';
import { z } from 'zod';

const instrumentIdSchema = z.string().superRefine((value, ctx) => {
  try {
    parseInstrumentId(value, 'instrument');
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const accountIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected 1-64 letters, digits, "_" or "-"' });

export const venueAccountSchema = z.strictObject({
  /** Non-secret id of the API key (Lighter's api key index); the nonce counter key. Default "default". */
  apiKeyId: z.string().min(1).default('default'),
  /** Credentials for real venues, only as { env } or { file } references. */
  apiKey: secretSchema.optional(),
  secret: secretSchema.optional(),
  privateKey: secretSchema.optional(),
  /** Paper venues: collateral (USDC) deposited when the simulated exchange starts fresh. */
  paperDeposit: decimalString.optional(),
});

export const venueSchema = z.strictObject({
  kind: z.enum(['paper']),
  /** Instruments followed on this venue (`BTC-USDC-PERP`). */
  instruments: z.array(instrumentIdSchema).min(1),
  accounts: z.record(accountIdSchema, venueAccountSchema).default({}),
  /** Paper venues: the preset to start from (defaults to the venue id when it names one). */
  preset: z.enum(['paper', 'paper-lighter', 'paper-extended']).optional(),
  /** Paper venues: overrides of the preset. */
  makerFeeRate: decimalString.optional(),
  takerFeeRate: decimalString.optional(),
  fundingInterval: durationMs.optional(),
});

export const venuesSectionSchema = z
  .record(z.string(), venueSchema)
  .superRefine((venues, ctx) => {
    for (const id of Object.keys(venues)) {
      try {
        parseVenueId(id, 'venue');
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: [id], message: (err as Error).message });
      }
    }
  })
  .default({});

/** The simulated exchange: in process (embedded) or the paper-venue service (distributed). */
export const paperSectionSchema = z
  .strictObject({
    seed: z.int().default(42),
    /** How often the synthetic market moves. */
    stepInterval: durationMs.default(250),
    /** Where distributed services reach the paper-venue service. */
    address: z.string().min(1).default('127.0.0.1:50054'),
  })
  .prefault({});

export type VenuesSection = z.output<typeof venuesSectionSchema>;
export type VenueSection = z.output<typeof venueSchema>;
export type PaperSection = z.output<typeof paperSectionSchema>;

/** The config pieces a service adds to its schema: `{ ...venueConfigShape }`. */
export const venueConfigShape = { venues: venuesSectionSchema, paper: paperSectionSchema };

export interface VenueAccountRef {
  venue: string;
  account: string;
  apiKeyId: string;
}

/** Every (venue, account) configured, in config order. */
export function configuredAccounts(venues: VenuesSection): VenueAccountRef[] {
  return Object.entries(venues).flatMap(([venue, v]) =>
    Object.entries(v.accounts).map(([account, a]) => ({ venue, account, apiKeyId: a.apiKeyId })),
  );
}
