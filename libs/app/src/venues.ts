/**
 * The venue directory of a process, built from the `venues` config section:
 * - embedded: ports of the in-process PaperVenueHub;
 * - distributed: `PaperVenueClient` ports to the paper-venue service at `paper.address`.
 * Real venue adapters (ccxt, Lighter, Extended) plug in here by `kind`.
 */
import type { BaseConfig, Secret } from '@perpmesh/runtime';
import {
  configuredAccounts,
  type PaperSection,
  type PaperVenueHub,
  PaperVenueClient,
  StaticVenueDirectory,
  type VenuePort,
  type VenuesSection,
} from '@perpmesh/venues';

export interface OpenVenuesOptions {
  /** Embedded mode: the hub whose ports to use. */
  hub?: PaperVenueHub;
  /** Deadline of each venue call over gRPC (distributed). Default 10 s. */
  callTimeoutMs?: number;
}

export async function openVenueDirectory(
  config: Pick<BaseConfig, 'mode' | 'auth'> & { venues: VenuesSection; paper: PaperSection },
  options: OpenVenuesOptions = {},
): Promise<StaticVenueDirectory> {
  const ports: VenuePort[] = [];
  try {
    for (const { venue, account, apiKeyId } of configuredAccounts(config.venues)) {
      const kind = config.venues[venue]?.kind;
      if (kind !== 'paper') throw new Error(`venues.${venue}.kind: ${String(kind)} is not supported yet`);
      if (options.hub) {
        ports.push(options.hub.venue(venue, account, apiKeyId));
        continue;
      }
      const authToken: Secret | undefined = config.auth.token;
      ports.push(
        await PaperVenueClient.connect({
          address: config.paper.address,
          venue,
          account,
          apiKeyId,
          callTimeoutMs: options.callTimeoutMs ?? 10_000,
          ...(authToken === undefined ? {} : { authToken }),
        }),
      );
    }
  } catch (err) {
    await Promise.allSettled(ports.map((p) => p.close()));
    throw err;
  }
  return new StaticVenueDirectory(ports);
}
