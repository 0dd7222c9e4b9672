/**
 * The venue kind of a ccxt venue: its config schema plus its profile. `trading` opens one
 * port per account with that account's credentials; `public` one market port with none.
 * `baseUrl` / `wsUrl` of the config point ccxt at a local emulator (or another gateway).
 */
import type { InstrumentId } from '@perpmesh/core';
import type { z } from 'zod';
import type { VenueSection } from '../config.js';
import type { OpenedVenue, VenueKindDefinition, VenueOpenContext } from '../factories.js';
import { PUBLIC_ACCOUNT, type VenuePort } from '../port.js';
import type { CcxtVenueProfile } from './profile.js';

interface EndpointFields {
  testnet?: boolean;
  baseUrl?: string;
  wsUrl?: string;
}

export function ccxtVenueKind<C extends VenueSection>(
  kind: string,
  configSchema: z.ZodType<C, unknown>,
  profile: CcxtVenueProfile,
): VenueKindDefinition<C> {
  const open = async (context: VenueOpenContext<C>): Promise<OpenedVenue> => {
    // ccxt is large: loaded by the processes that open a ccxt venue, not by every importer.
    const { CcxtVenuePort } = await import('./port.js');
    const config = context.config as C & EndpointFields;
    const common = {
      venue: context.venue,
      profile,
      instruments: config.instruments as InstrumentId[],
      endpoints: {
        testnet: config.testnet ?? false,
        ...(config.baseUrl === undefined ? {} : { baseUrl: config.baseUrl }),
        ...(config.wsUrl === undefined ? {} : { wsUrl: config.wsUrl }),
      },
      callTimeoutMs: context.host.callTimeoutMs,
    };
    if (context.access === 'public') {
      return {
        accountPorts: [],
        marketPort: await CcxtVenuePort.open({ ...common, account: PUBLIC_ACCOUNT, apiKeyId: '' }),
      };
    }
    const ports: VenuePort[] = [];
    try {
      for (const account of context.accounts) {
        const revealed: Record<string, string> = {};
        for (const [field, secret] of Object.entries(account.credentials)) revealed[field] = secret.reveal();
        const accountConfig = (config.accounts[account.account] ?? {}) as Record<string, unknown>;
        ports.push(
          await CcxtVenuePort.open({
            ...common,
            account: account.account,
            apiKeyId: account.apiKeyId,
            credentials: profile.credentials(revealed, accountConfig),
          }),
        );
      }
    } catch (err) {
      await Promise.allSettled(ports.map((p) => p.close()));
      throw err;
    }
    return { accountPorts: ports };
  };
  return { kind, configSchema, open };
}
