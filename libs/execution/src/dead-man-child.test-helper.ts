/**
 * An execution process for the dead-man-switch tests, run as a child so a test can kill it
 * with SIGKILL: the execution service (embedded backend) over the venue opened FROM ITS
 * CONFIG (`venues.<id>`, through its kind, credentials read from `{ env }` references the
 * test sets), with `deadManSwitch` configured. Execution arms the venue's switch and
 * refreshes it (engine #armDeadManSwitch); the child places one resting buy through the
 * engine and prints `armed <clientOrderId> <status>`. It never exits on its own.
 *
 * Input: one JSON argument, a `DeadManChildInput` (the emulators' test keys only).
 */
import { dec } from '@perpmesh/core';
import { openTestBackend } from '@perpmesh/testing';
import { openConfiguredVenues, venuesSectionSchema } from '@perpmesh/venues';
import { newService } from './harness.test-helper.js';
import { limitRequest } from './scenarios.test-helper.js';
import { placeOrderCommandFromProto } from './validation.js';

export interface DeadManChildInput {
  /** `venues.<id>` of the venue under test, as in perpmesh.yaml. */
  readonly venues: Record<string, unknown>;
  readonly venue: string;
  readonly clientOrderId: string;
  /** The resting buy's price (below the book). */
  readonly price: string;
  readonly size: string;
  /** `execution.deadManSwitch` / `deadManSwitchRefresh`, ms. */
  readonly afterMs: number;
  readonly refreshMs: number;
}

const input = JSON.parse(process.argv[2] ?? '{}') as DeadManChildInput;
const backend = await openTestBackend('embedded', { prefix: 'DMS' });
const directory = await openConfiguredVenues(venuesSectionSchema.parse(input.venues), {
  access: 'trading',
  host: { paperAddress: '127.0.0.1:1', callTimeoutMs: 5_000 },
});
const svc = newService({
  ...backend,
  directory,
  settings: { deadManSwitch: { afterMs: input.afterMs, refreshMs: input.refreshMs } },
});
await svc.service.start();
const placed = await svc.service.engine.placeOrder(
  placeOrderCommandFromProto(
    limitRequest(input.venue, input.clientOrderId, 'buy', dec(input.price), input.size),
  ),
);
console.log(`armed ${input.clientOrderId} ${placed.order.state.status}`);
