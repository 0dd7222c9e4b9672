/**
 * TEST ENTRYPOINT ONLY (the chaos suite's "can it fail" switch; never deployed): the
 * execution process with a deliberately broken ordering, "resend on timeout": after the
 * venue acknowledged an order, it sends the same order again as a naive client would after
 * a timeout, so the venue holds two orders for one client order id.
 *
 *   PERPMESH_TEST_CHAOS_RESEND=<client_order_id prefix>   orders whose id starts with it
 *   PERPMESH_TEST_CHAOS_VENUE_ADDRESS=<host:port>         the paper-venue service
 *   PERPMESH_TEST_CHAOS_TOKEN_ENV=<env var>               where the bearer token is
 *
 * Only venues without nonces are hit (a resend there needs no nonce). services/execution's
 * main.ts never reads these variables.
 */
import { runIfEntryPoint } from '@perpmesh/app';
import { Secret } from '@perpmesh/runtime';
import { PaperVenueClient } from '@perpmesh/venues';
import { EXECUTION_SERVICE } from '../../services/execution/src/config.js';
import { main } from '../../services/execution/src/main.js';

const prefix = process.env.PERPMESH_TEST_CHAOS_RESEND ?? '';
const address = process.env.PERPMESH_TEST_CHAOS_VENUE_ADDRESS ?? '';
const token = process.env[process.env.PERPMESH_TEST_CHAOS_TOKEN_ENV ?? ''] ?? '';
const ports = new Map<string, Promise<PaperVenueClient>>();

function portOf(venue: string, account: string): Promise<PaperVenueClient> {
  const key = `${venue}/${account}`;
  let port = ports.get(key);
  if (!port) {
    port = PaperVenueClient.connect({
      address,
      venue,
      account,
      apiKeyId: 'default',
      callTimeoutMs: 5_000,
      readinessPollMs: 0,
      ...(token ? { authToken: new Secret(token) } : {}),
    });
    ports.set(key, port);
  }
  return port;
}

runIfEntryPoint(import.meta.url, EXECUTION_SERVICE, () =>
  main(process.argv.slice(2), {
    afterVenueAck: async (order, venueOrder) => {
      if (prefix === '' || !order.state.clientOrderId.startsWith(prefix)) return;
      const port = await portOf(order.state.venue, order.state.account);
      if (port.capabilities.nonces) return;
      await port
        .createOrder({
          clientOrderId: venueOrder.clientOrderId,
          instrument: venueOrder.instrument,
          side: venueOrder.side,
          type: venueOrder.type,
          timeInForce: venueOrder.timeInForce,
          ...(venueOrder.price ? { price: venueOrder.price } : {}),
          size: venueOrder.size,
          reduceOnly: venueOrder.reduceOnly,
        })
        .catch(() => undefined);
    },
  }),
);
