/**
 * The `lighter` venue kind: our own adapter (port.ts) over Lighter's REST API and websocket
 * with our signer. `trading` opens one port per account with its API private key;
 * `public` one market port with none. `baseUrl` / `wsUrl` point at a local emulator.
 */
import { ValidationError } from '@perpmesh/core';
import type { LighterPrivateKey as LighterKey } from '@perpmesh/signing';
import type { OpenedVenue, VenueKindDefinition, VenueOpenContext } from '../factories.js';
import { PUBLIC_ACCOUNT, type VenuePort } from '../port.js';
import {
  LIGHTER_CHAIN_ID,
  LIGHTER_KIND,
  LIGHTER_TIER_REQUESTS_PER_MINUTE,
  type LighterVenueConfig,
  lighterVenueConfigSchema,
} from './config.js';
import type { LighterVenuePort, LighterVenuePortOptions } from './port.js';

export const LIGHTER_URLS = {
  mainnet: { rest: 'https://mainnet.zklighter.elliot.ai', ws: 'wss://mainnet.zklighter.elliot.ai/stream' },
  testnet: { rest: 'https://testnet.zklighter.elliot.ai', ws: 'wss://testnet.zklighter.elliot.ai/stream' },
} as const;

/** Where the port connects: the venue's URLs, or `baseUrl` (and `wsUrl`, else `<baseUrl as ws>/stream`). */
export function lighterEndpoints(config: Pick<LighterVenueConfig, 'testnet' | 'baseUrl' | 'wsUrl'>): {
  baseUrl: string;
  wsUrl: string;
  chainId: number;
} {
  const net = config.testnet ? LIGHTER_URLS.testnet : LIGHTER_URLS.mainnet;
  const baseUrl = (config.baseUrl ?? net.rest).replace(/\/+$/, '');
  const wsUrl =
    config.wsUrl ?? (config.baseUrl === undefined ? net.ws : `${baseUrl.replace(/^http/, 'ws')}/stream`);
  return { baseUrl, wsUrl, chainId: config.testnet ? LIGHTER_CHAIN_ID.testnet : LIGHTER_CHAIN_ID.mainnet };
}

/**
 * Opens a Lighter port outside the kinds registry (tests, tools): the adapter and the signer
 * load on first use, not with `@perpmesh/venues`.
 */
export async function openLighterVenuePort(options: LighterVenuePortOptions): Promise<LighterVenuePort> {
  const { LighterVenuePort } = await import('./port.js');
  return LighterVenuePort.open(options);
}

const open = async (context: VenueOpenContext<LighterVenueConfig>): Promise<OpenedVenue> => {
  // The signer (bigint field and curve code) loads with the processes that open Lighter.
  const [{ LighterVenuePort }, { LighterPrivateKey }] = await Promise.all([
    import('./port.js'),
    import('@perpmesh/signing'),
  ]);
  const config = context.config;
  const common = {
    venue: context.venue,
    instruments: config.instruments,
    ...lighterEndpoints(config),
    callTimeoutMs: context.host.callTimeoutMs,
    accountTier: config.accountTier,
    requestsPerMinute: config.requestsPerMinute ?? LIGHTER_TIER_REQUESTS_PER_MINUTE[config.accountTier],
    scheduledCancelAllMinMs: config.scheduledCancelAllMin,
  };
  if (context.access === 'public') {
    return {
      accountPorts: [],
      marketPort: await LighterVenuePort.open({ ...common, account: PUBLIC_ACCOUNT }),
    };
  }
  const ports: VenuePort[] = [];
  try {
    for (const account of context.accounts) {
      const accountConfig = config.accounts[account.account];
      const secret = account.credentials.apiPrivateKey;
      if (accountConfig === undefined || secret === undefined) {
        throw new ValidationError(
          `venues.${context.venue}.accounts.${account.account}.apiPrivateKey`,
          'is required',
        );
      }
      let privateKey: LighterKey;
      try {
        privateKey = LighterPrivateKey.fromHex(secret.reveal());
      } catch (err) {
        // The key's text never reaches the message.
        throw new ValidationError(
          `venues.${context.venue}.accounts.${account.account}.apiPrivateKey`,
          (err as Error).message,
        );
      }
      ports.push(
        await LighterVenuePort.open({
          ...common,
          account: account.account,
          credentials: {
            accountIndex: accountConfig.accountIndex,
            apiKeyIndex: accountConfig.apiKeyIndex,
            privateKey,
          },
        }),
      );
    }
  } catch (err) {
    await Promise.allSettled(ports.map((p) => p.close()));
    throw err;
  }
  return { accountPorts: ports };
};

export const lighterVenueKind: VenueKindDefinition<LighterVenueConfig> = {
  kind: LIGHTER_KIND,
  configSchema: lighterVenueConfigSchema,
  open,
};
