/**
 * TEST ENTRYPOINT ONLY (never deployed as the service's main): the execution process with a
 * hook that kills itself with SIGKILL right after a venue acknowledged an order and before
 * any event about the answer is published, for the crash/restart e2e test.
 *
 *   PERPMESH_TEST_KILL_AFTER_VENUE_ACK=<client_order_id prefix>  node dist/crash-test-main.js --config ...
 *
 * Only orders whose client_order_id starts with the prefix trigger the kill. main.ts never
 * reads this variable.
 */
import { runIfEntryPoint } from '@perpmesh/app';
import { EXECUTION_SERVICE } from './config.js';
import { main } from './main.js';

const prefix = process.env.PERPMESH_TEST_KILL_AFTER_VENUE_ACK ?? '';

runIfEntryPoint(import.meta.url, EXECUTION_SERVICE, () =>
  main(process.argv.slice(2), {
    afterVenueAck: (order) => {
      if (prefix !== '' && order.state.clientOrderId.startsWith(prefix)) process.kill(process.pid, 'SIGKILL');
    },
  }),
);
