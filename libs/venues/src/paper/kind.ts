/**
 * The `paper` venue kind: a simulated venue of the paper hub, reached in process when the
 * host offers the hub (embedded), else through the paper-venue service over gRPC
 * (distributed). With public access it opens the venue's public port (no account).
 *
 * A paper-venue service that is not reachable at start does not fail the open: the port
 * keeps connecting in the background and reports itself not ready with the reason until it
 * is connected (deferred-port.ts), so the process runs and becomes ready when the venue does.
 */
import type { OpenedVenue, VenueKindDefinition, VenueOpenContext } from '../factories.js';
import { PaperVenueClient } from '../paper-service/client.js';
import { openOrDefer } from '../paper-service/deferred-port.js';
import { PUBLIC_ACCOUNT, type VenuePort } from '../port.js';
import { PAPER_KIND, type PaperVenueSection, paperVenueConfigSchema } from './config.js';

async function openPaperVenue(context: VenueOpenContext<PaperVenueSection>): Promise<OpenedVenue> {
  const { venue, host } = context;
  const hub = host.paperHub;
  const connect = (account: string, apiKeyId: string) =>
    openOrDefer({
      venue,
      account,
      apiKeyId,
      target: `paper-venue at ${host.paperAddress}`,
      connect: () =>
        PaperVenueClient.connect({
          address: host.paperAddress,
          venue,
          account,
          apiKeyId,
          callTimeoutMs: host.callTimeoutMs,
          ...(host.authToken === undefined ? {} : { authToken: host.authToken }),
        }),
    });
  if (context.access === 'public') {
    return { accountPorts: [], marketPort: hub ? hub.marketVenue(venue) : await connect(PUBLIC_ACCOUNT, '') };
  }
  // In parallel: an unreachable server costs one connect deadline, not one per account.
  const opened = await Promise.allSettled(
    context.accounts.map(async ({ account, apiKeyId }) =>
      hub ? hub.venue(venue, account, apiKeyId) : connect(account, apiKeyId),
    ),
  );
  const ports = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled(ports.map((p: VenuePort) => p.close()));
    throw failed.reason;
  }
  return { accountPorts: ports };
}

export const paperVenueKind: VenueKindDefinition<PaperVenueSection> = {
  kind: PAPER_KIND,
  configSchema: paperVenueConfigSchema,
  open: openPaperVenue,
};
