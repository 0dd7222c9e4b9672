/**
 * Venue kinds by name: the one place a `kind:` in `venues.<id>` becomes a config schema
 * and ports. An adapter is one folder that exports a `VenueKindDefinition`; kinds.ts
 * registers the built-in ones (one line each), a test registers a fixture kind the same
 * way.
 *
 * Access decides what a kind is given (see README "Who holds keys"):
 * - `trading` (execution, account): the configured accounts, each with its credential
 *   fields resolved to `Secret`s; the kind returns one port per account.
 * - `public` (market-data, strategy): no accounts and no credentials (the venue config is
 *   handed over with `accounts: {}`, nothing is resolved); the kind returns one market
 *   port that needs no account.
 */
import type { AccountId, VenueId } from '@perpmesh/core';
import { ValidationError } from '@perpmesh/core';
import type { Secret } from '@perpmesh/runtime';
import type { z } from 'zod';
import type { VenueSection } from './config.js';
import type { PaperVenueHub } from './paper/hub.js';
import type { VenuePort } from './port.js';

export type VenueAccess = 'public' | 'trading';

/** One account to open with trading access: its ids and its credentials, resolved. */
export interface VenueAccountToOpen {
  readonly account: AccountId;
  readonly apiKeyId: string;
  /** Every credential field of the account config (`apiKey`, `passphrase`, ...), resolved. */
  readonly credentials: Readonly<Record<string, Secret>>;
}

/** What the process offers the kinds: where the paper venue lives, deadlines. */
export interface VenueHostContext {
  /** Embedded mode: the in-process simulated exchange. Absent: reach the paper-venue service. */
  readonly paperHub?: PaperVenueHub;
  /** `host:port` of the paper-venue service (distributed mode). */
  readonly paperAddress: string;
  /** Bearer token of our own gRPC services (not a venue credential). */
  readonly authToken?: Secret;
  /** Deadline of each venue call, ms. */
  readonly callTimeoutMs: number;
}

export interface VenueOpenContext<C extends VenueSection = VenueSection> {
  /** The venue id (`venues.<id>`). */
  readonly venue: VenueId;
  /** The venue's config; with `public` access its `accounts` is empty. */
  readonly config: C;
  readonly access: VenueAccess;
  /** `trading`: the configured accounts, in config order; `public`: none. */
  readonly accounts: readonly VenueAccountToOpen[];
  readonly host: VenueHostContext;
}

export interface OpenedVenue {
  /** `trading`: one port per account of the context, in the same order. `public`: empty. */
  readonly accountPorts: readonly VenuePort[];
  /** `public`: the port for market data, holding no credentials. `trading`: optional. */
  readonly marketPort?: VenuePort;
}

export interface VenueKindDefinition<C extends VenueSection = VenueSection> {
  readonly kind: string;
  /** The schema of `venues.<id>` for this kind; build it with `venueKindSchema(kind, ...)`. */
  readonly configSchema: z.ZodType<C, unknown>;
  /**
   * Set when this build cannot open the kind (only its config is known): why, in words.
   * Checked before any credential is read.
   */
  readonly unavailable?: string;
  /** Opens the venue's ports. Must close whatever it opened when it fails. */
  open(context: VenueOpenContext<C>): Promise<OpenedVenue>;
}

const kinds = new Map<string, VenueKindDefinition>();

/** Adds a kind. A second registration of the same kind is a programming error. */
export function registerVenueKind<C extends VenueSection>(definition: VenueKindDefinition<C>): void {
  if (!/^[a-z][a-z0-9_-]*$/.test(definition.kind)) {
    throw new ValidationError(
      'kind',
      `must be lower-case letters, digits, "_" or "-", got ${JSON.stringify(definition.kind)}`,
    );
  }
  if (kinds.has(definition.kind)) {
    throw new ValidationError('kind', `venue kind ${JSON.stringify(definition.kind)} is already registered`);
  }
  kinds.set(definition.kind, definition as unknown as VenueKindDefinition);
}

/** Removes a kind (tests that register a fixture kind clean up with it). */
export function unregisterVenueKind(kind: string): void {
  kinds.delete(kind);
}

export function venueKind(kind: string): VenueKindDefinition | undefined {
  return kinds.get(kind);
}

export function registeredVenueKinds(): string[] {
  return [...kinds.keys()].sort();
}

/**
 * The definition of a kind whose config is known but whose adapter is not in this build:
 * the config parses (so a config file can be written ahead), opening it fails clearly.
 */
export function plannedVenueKind<C extends VenueSection>(
  kind: string,
  configSchema: z.ZodType<C, unknown>,
  issue: string,
): VenueKindDefinition<C> {
  const unavailable = `${kind}: the adapter is not in this build yet (planned in ${issue}); only its config is known`;
  return {
    kind,
    configSchema,
    unavailable,
    open: async (context) => {
      throw new ValidationError(`venues.${context.venue}.kind`, unavailable);
    },
  };
}
