/**
 * A paper-venue that is not up when the other services start: market-data, account and
 * execution keep running, /readyz names the unreachable venue as the reason, and each
 * becomes ready once paper-venue comes up — no process exits.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually } from '@perpmesh/testing';
import { E2eStack, type ServiceProcess } from './harness.js';

describe('paper-venue unreachable at start', () => {
  let stack: E2eStack;

  before(async () => {
    stack = await E2eStack.create();
  });

  after(async () => {
    await stack?.close();
  });

  test('services run not ready with the reason, then become ready when paper-venue starts', async () => {
    const services: ServiceProcess[] = [stack.marketData, stack.account, stack.execution];
    for (const s of services) s.start();
    for (const s of services) {
      const notReady = await eventually(
        `${s.label} /readyz naming the unreachable paper-venue`,
        async () => {
          assert.ok(s.running, `${s.label} exited\n${s.describe(30)}`);
          const seen = await s.readyz();
          if (!seen) return undefined;
          const down = seen.body.components.filter((c) => !c.ready);
          return seen.status !== 200 && down.some((c) => (c.reason ?? '').includes(stack.paperAddress))
            ? down
            : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      assert.ok(notReady.length > 0);
    }
    stack.paperVenue.start();
    await stack.paperVenue.waitReady({ timeoutMs: 60_000 });
    for (const s of services) await s.waitReady({ timeoutMs: 90_000 });
    for (const s of services) assert.ok(s.running, `${s.label} is still running`);
  });
});
