/**
 * The `paper` venue kind: a simulated venue of the paper hub, reached in process when the
 * host offers the hub (embedded), else through the paper-venue service over gRPC
 * (distributed). With public access it opens the venue's public port (no account).
 */
import type { OpenedVenue, VenueKindDefinition, VenueOpenContext } from '../factories.js';
import { PaperVenueClient } from '../paper-service/client.js';
import { PUBLIC_ACCOUNT, type VenuePort } from '../port.js';
import { PAPER_KIND, type PaperVenueSection, paperVenueConfigSchema } from './config.js';

async function openPaperVenue(context: VenueOpenContext<PaperVenueSection>): Promise<OpenedVenue> {
  const { venue, host } = context;
  const hub = host.paperHub;
  const connect = (account: string, apiKeyId: string) =>
    PaperVenueClient.connect({
      address: host.paperAddress,
      venue,
      account,
      apiKeyId,
      callTimeoutMs: host.callTimeoutMs,
      ...(host.authToken === undefined ? {} : { authToken: host.authToken }),
    });
  if (context.access === 'public') {
    return { accountPorts: [], marketPort: hub ? hub.marketVenue(venue) : await connect(PUBLIC_ACCOUNT, '') };
  }
  const ports: VenuePort[] = [];
  try {
    for (const { account, apiKeyId } of context.accounts) {
      ports.push(hub ? hub.venue(venue, account, apiKeyId) : await connect(account, apiKeyId));
    }
  } catch (err) {
    await Promise.allSettled(ports.map((p) => p.close()));
    throw err;
  }
  return { accountPorts: ports };
}

export const paperVenueKind: VenueKindDefinition<PaperVenueSection> = {
  kind: PAPER_KIND,
  configSchema: paperVenueConfigSchema,
  open: openPaperVenue,
};
