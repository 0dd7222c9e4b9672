/**
 * What a paper venue hub is made of: named simulated venues (each a sim preset with
 * field-by-field overrides) and funded accounts. `resolvePaperVenueConfig` is the one
 * place a setup becomes a validated sim `VenueConfig`; errors name the dotted field
 * (`venues.paper-fast.funding.intervalMs`).
 */
import {
  type AccountId,
  type DecimalInput,
  type EpochMs,
  isPaperVenue,
  parseAccountId,
  parseDecimal,
  ValidationError,
  type VenueId,
} from '@perpmesh/core';
import {
  type FundingParamsInput,
  type InstrumentSpecInput,
  PRESET_VENUE_IDS,
  type VenueConfig,
  type VenueConfigInput,
  venueConfig,
  venuePreset,
} from '@perpmesh/sim';

/** Overrides of a preset. `funding` merges per field; `instruments` lists the instruments to list, each merged with the preset's spec of the same id. */
export interface PaperVenueOverrides extends Omit<VenueConfigInput, 'venueId' | 'funding' | 'instruments'> {
  readonly funding?: FundingParamsInput;
  readonly instruments?: readonly InstrumentSpecInput[];
}

export interface PaperVenueSetup {
  /** `paper` or `paper-<name>` (it appears in subjects and keys). */
  readonly venueId: VenueId;
  /** The sim preset to start from; default the venueId itself when it names one. */
  readonly preset?: string;
  readonly overrides?: PaperVenueOverrides;
}

export interface PaperAccountSetup {
  readonly venueId: VenueId;
  readonly accountId: AccountId;
  /** Collateral in the venue's settle asset; must be > 0. */
  readonly deposit: DecimalInput;
  /** Non-secret API key id the account's port signs with (nonce counter key). Default `default`. */
  readonly apiKeyId?: string;
}

/**
 * How the hub's simulated time moves. `manual`: only `hub.advanceTo(nowMs)` moves it
 * (tests, replay); `realtime`: the hub steps the world to the wall clock every
 * `tickIntervalMs` once started.
 */
export type PaperClock =
  | { readonly kind: 'manual' }
  | { readonly kind: 'realtime'; readonly tickIntervalMs: number; readonly nowMs?: () => EpochMs };

export const DEFAULT_PAPER_VENUE_IDS: readonly VenueId[] = ['paper', 'paper-lighter', 'paper-extended'];
export const DEFAULT_API_KEY_ID = 'default';
export const DEFAULT_TICK_INTERVAL_MS = 250;
export const DEFAULT_FILL_HISTORY_LIMIT = 10_000;

/** Account ids the simulated market uses for itself (sim `bg:` participants and `house:` accounts). */
const RESERVED_ACCOUNT_PREFIXES = ['bg:', 'house:'];

export function parsePaperVenueId(value: unknown, field: string): VenueId {
  if (typeof value !== 'string' || !isPaperVenue(value)) {
    throw new ValidationError(
      field,
      `must be "paper" or "paper-<name>" (lowercase letters, digits, dashes), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

export function parsePaperAccountId(value: unknown, field: string): AccountId {
  const accountId = parseAccountId(value, field);
  if (RESERVED_ACCOUNT_PREFIXES.some((p) => accountId.startsWith(p))) {
    throw new ValidationError(
      field,
      `${JSON.stringify(accountId)} is reserved for the simulated market (${RESERVED_ACCOUNT_PREFIXES.join(', ')} accounts)`,
    );
  }
  return accountId;
}

export function parseApiKeyId(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
    throw new ValidationError(
      field,
      `must be 1-64 characters of A-Z a-z 0-9 _ -, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** The validated sim config of one paper venue: preset, then overrides, then `venueConfig` checks. */
export function resolvePaperVenueConfig(
  setup: PaperVenueSetup,
  path = `venues.${setup.venueId}`,
): VenueConfig {
  const venueId = parsePaperVenueId(setup.venueId, `${path}.venueId`);
  const presetId = setup.preset ?? venueId;
  if (!PRESET_VENUE_IDS.includes(presetId)) {
    throw new ValidationError(
      `${path}.preset`,
      `${JSON.stringify(presetId)} is not a preset; known: ${PRESET_VENUE_IDS.join(', ')}`,
    );
  }
  const base = venuePreset(presetId);
  const { funding, instruments, ...scalars } = setup.overrides ?? {};
  const merged: VenueConfigInput = {
    ...base,
    ...scalars,
    venueId,
    funding: { ...base.funding, ...funding },
    instruments:
      instruments === undefined
        ? base.instruments
        : instruments.map((spec) => ({
            ...base.instruments.find((b) => b.instrumentId === spec.instrumentId),
            ...spec,
          })),
  };
  return venueConfig(merged, path);
}

/** Checks the account list: known venues, no duplicates, positive deposits. */
export function validateAccountSetups(
  accounts: readonly PaperAccountSetup[],
  venueIds: readonly VenueId[],
): PaperAccountSetup[] {
  const seen = new Set<string>();
  return accounts.map((a, n) => {
    const path = `accounts[${n}]`;
    const venueId = parsePaperVenueId(a.venueId, `${path}.venueId`);
    if (!venueIds.includes(venueId)) {
      throw new ValidationError(
        `${path}.venueId`,
        `${JSON.stringify(venueId)} is not one of the hub's venues (${venueIds.join(', ')})`,
      );
    }
    const accountId = parsePaperAccountId(a.accountId, `${path}.accountId`);
    const key = `${venueId}/${accountId}`;
    if (seen.has(key)) throw new ValidationError(`${path}.accountId`, `duplicate account ${key}`);
    seen.add(key);
    const deposit = parseDecimal(a.deposit, `${path}.deposit`);
    if (!deposit.gt(0)) throw new ValidationError(`${path}.deposit`, `must be > 0, got ${deposit.toFixed()}`);
    return {
      venueId,
      accountId,
      deposit,
      apiKeyId: parseApiKeyId(a.apiKeyId ?? DEFAULT_API_KEY_ID, `${path}.apiKeyId`),
    };
  });
}
