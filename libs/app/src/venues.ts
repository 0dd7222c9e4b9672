/**
 * The venue directory of a process, built from the `venues` config section through the
 * venue kinds registered in @perpmesh/venues (factories.ts): paper venues come from the
 * in-process PaperVenueHub when `hub` is given (embedded), else from the paper-venue
 * service at `paper.address` (distributed); real venues from their adapters.
 *
 * `access` says what the process may hold: `trading` (execution, account) opens one port
 * per configured account with its credentials; `public` (market-data, strategy) opens one
 * market-data port per venue and resolves no credential at all.
 */
import type { BaseConfig } from '@perpmesh/runtime';
import {
  openConfiguredVenues,
  type PaperSection,
  type PaperVenueHub,
  type StaticVenueDirectory,
  type VenueAccess,
  type VenuesSection,
} from '@perpmesh/venues';

export interface OpenVenuesOptions {
  /** Embedded mode: the hub whose ports to use. */
  hub?: PaperVenueHub;
  /** Deadline of each venue call (over gRPC in distributed mode). Default 10 s. */
  callTimeoutMs?: number;
  /** `public`: market data only, no account, no credentials. Default `trading`. */
  access?: VenueAccess;
}

export const DEFAULT_VENUE_CALL_TIMEOUT_MS = 10_000;

export async function openVenueDirectory(
  config: Pick<BaseConfig, 'mode' | 'auth'> & { venues: VenuesSection; paper: PaperSection },
  options: OpenVenuesOptions = {},
): Promise<StaticVenueDirectory> {
  return openConfiguredVenues(config.venues, {
    access: options.access ?? 'trading',
    host: {
      ...(options.hub === undefined ? {} : { paperHub: options.hub }),
      paperAddress: config.paper.address,
      ...(config.auth.token === undefined ? {} : { authToken: config.auth.token }),
      callTimeoutMs: options.callTimeoutMs ?? DEFAULT_VENUE_CALL_TIMEOUT_MS,
    },
  });
}
