/**
 * The `extended` venue kind: `trading` opens one ExtendedVenuePort per account with its API
 * key and Stark signer; `public` one market port with none. `baseUrl` / `wsUrl` point it at
 * a local emulator; without them, the venue's mainnet or (`testnet`) Sepolia URLs.
 */
import { type InstrumentId, ValidationError } from '@perpmesh/core';
import type { OpenedVenue, VenueKindDefinition, VenueOpenContext } from '../factories.js';
import { PUBLIC_ACCOUNT, type VenuePort } from '../port.js';
import { EXTENDED_KIND, type ExtendedVenueConfig, extendedVenueConfigSchema } from './config.js';
import { ExtendedVenuePort, type ExtendedVenuePortOptions } from './port.js';

const MAINNET = 'https://api.starknet.extended.exchange';
const SEPOLIA = 'https://api.starknet.sepolia.extended.exchange';
/** The websocket streams' path under the host. */
export const EXTENDED_STREAM_PATH = '/stream.extended.exchange/v1';

/** REST and websocket roots: the config's, else the venue's (the stream URL follows the REST host). */
export function extendedEndpoints(config: {
  testnet: boolean;
  baseUrl?: string | undefined;
  wsUrl?: string | undefined;
}): { baseUrl: string; wsUrl: string } {
  const baseUrl = (config.baseUrl ?? (config.testnet ? SEPOLIA : MAINNET)).replace(/\/+$/, '');
  const wsUrl = config.wsUrl ?? `${baseUrl.replace(/^http/, 'ws')}${EXTENDED_STREAM_PATH}`;
  return { baseUrl, wsUrl };
}

async function open(context: VenueOpenContext<ExtendedVenueConfig>): Promise<OpenedVenue> {
  const config = context.config;
  const common: Omit<ExtendedVenuePortOptions, 'account' | 'apiKeyId'> = {
    venue: context.venue,
    instruments: config.instruments as InstrumentId[],
    chainId: config.chainId,
    ...extendedEndpoints(config),
    callTimeoutMs: context.host.callTimeoutMs,
  };
  if (context.access === 'public') {
    return {
      accountPorts: [],
      marketPort: await ExtendedVenuePort.open({ ...common, account: PUBLIC_ACCOUNT, apiKeyId: '' }),
    };
  }
  const ports: VenuePort[] = [];
  // Imported here: a start without an Extended account never loads the signers.
  const { StarkSigner } = await import('@perpmesh/signing');
  try {
    for (const account of context.accounts) {
      const accountConfig = config.accounts[account.account];
      const apiKey = account.credentials.apiKey;
      const starkPrivateKey = account.credentials.starkPrivateKey;
      const where = `venues.${context.venue}.accounts.${account.account}`;
      if (accountConfig === undefined || apiKey === undefined || starkPrivateKey === undefined) {
        throw new ValidationError(where, 'needs apiKey, starkPrivateKey, starkPublicKey and vault');
      }
      ports.push(
        await ExtendedVenuePort.open({
          ...common,
          account: account.account,
          apiKeyId: account.apiKeyId,
          keys: {
            apiKey: apiKey.reveal(),
            signer: new StarkSigner(starkPrivateKey.reveal()),
            starkPublicKey: BigInt(accountConfig.starkPublicKey),
            vault: accountConfig.vault,
          },
        }),
      );
    }
  } catch (err) {
    await Promise.allSettled(ports.map((p) => p.close()));
    throw err;
  }
  return { accountPorts: ports };
}

export const extendedVenueKind: VenueKindDefinition<ExtendedVenueConfig> = {
  kind: EXTENDED_KIND,
  configSchema: extendedVenueConfigSchema,
  open,
};
