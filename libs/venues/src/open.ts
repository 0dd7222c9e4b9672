/**
 * Opens every configured venue through its kind (factories.ts) into one directory. With
 * `trading` access each account's credential fields are resolved here, just before its
 * kind gets them; with `public` access nothing is resolved and kinds get no accounts.
 */
import { ValidationError } from '@perpmesh/core';
import type { Secret } from '@perpmesh/runtime';
import type { VenuesSection } from './config.js';
import { CredentialRef } from './credentials.js';
import { StaticVenueDirectory } from './directory.js';
import {
  registeredVenueKinds,
  type VenueAccess,
  type VenueAccountToOpen,
  type VenueHostContext,
  venueKind,
} from './factories.js';
import type { VenuePort } from './port.js';

/** The credential fields of one account config, read from their references. */
function resolveCredentials(venue: string, account: string, config: object): Record<string, Secret> {
  const out: Record<string, Secret> = {};
  for (const [field, value] of Object.entries(config)) {
    if (value instanceof CredentialRef)
      out[field] = value.resolve(`venues.${venue}.accounts.${account}.${field}`);
  }
  return out;
}

export async function openConfiguredVenues(
  venues: VenuesSection,
  options: { access: VenueAccess; host: VenueHostContext },
): Promise<StaticVenueDirectory> {
  const { access, host } = options;
  const accountPorts: VenuePort[] = [];
  const marketPorts: VenuePort[] = [];
  try {
    for (const [venue, config] of Object.entries(venues)) {
      const definition = venueKind(config.kind);
      if (!definition) {
        throw new ValidationError(
          `venues.${venue}.kind`,
          `no venue kind ${JSON.stringify(config.kind)} in this build (known: ${registeredVenueKinds().join(', ')})`,
        );
      }
      if (definition.unavailable !== undefined) {
        throw new ValidationError(`venues.${venue}.kind`, definition.unavailable);
      }
      const accounts: VenueAccountToOpen[] =
        access === 'public'
          ? []
          : Object.entries(config.accounts).map(([account, a]) => ({
              account,
              apiKeyId: a.apiKeyId,
              credentials: resolveCredentials(venue, account, a),
            }));
      const opened = await definition.open({
        venue,
        config: access === 'public' ? { ...config, accounts: {} } : config,
        access,
        accounts,
        host,
      });
      accountPorts.push(...opened.accountPorts);
      if (opened.marketPort) marketPorts.push(opened.marketPort);
      const wanted = accounts.map((a) => a.account).join(',');
      const got = opened.accountPorts.map((p) => p.account).join(',');
      if (wanted !== got || (access === 'public' && !opened.marketPort)) {
        throw new ValidationError(
          `venues.${venue}.kind`,
          `venue kind ${config.kind} opened ${access === 'public' ? 'no market port' : `ports for [${got}] instead of [${wanted}]`}`,
        );
      }
    }
  } catch (err) {
    await Promise.allSettled([...accountPorts, ...marketPorts].map((p) => p.close()));
    throw err;
  }
  return new StaticVenueDirectory(accountPorts, { marketPorts, access });
}
