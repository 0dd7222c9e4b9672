/**
 * A paper-venue server that is not there when the port is opened: the open does not fail;
 * the port says why it is not ready, refuses calls without sending, accepts subscriptions,
 * and connects (subscriptions included) once the server comes up.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { eventually } from '@perpmesh/testing';
import { VenueDisconnectedError, VenueRejectedError } from '../errors.js';
import type { UserStreamEvent } from '../port.js';
import { PaperVenueClient } from './client.js';
import { DeferredVenuePort, openOrDefer } from './deferred-port.js';
import { FakeVenue, sampleBalance, startTestPaperVenueServer } from './fake-venue.test-helper.js';

const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
});

/** A port nothing listens on (a server was there and is gone). */
async function closedPort(): Promise<number> {
  const server = await startTestPaperVenueServer({ venues: [] });
  const { port } = server;
  await server.close();
  return port;
}

const connectTo =
  (port: number, account = 'main') =>
  () =>
    PaperVenueClient.connect({
      address: `127.0.0.1:${port}`,
      venue: 'paper',
      account,
      apiKeyId: 'key-1',
      callTimeoutMs: 300,
      readinessPollMs: 0,
    });

test('unreachable at open: not ready with the reason, then connected when the server comes up', async () => {
  const port = await closedPort();
  const venue = await openOrDefer({
    venue: 'paper',
    account: 'main',
    apiKeyId: 'key-1',
    target: `paper-venue at 127.0.0.1:${port}`,
    connect: connectTo(port),
    retryInitialDelayMs: 50,
    retryMaxDelayMs: 200,
  });
  closers.push(() => venue.close());
  assert.ok(venue instanceof DeferredVenuePort);
  const link = venue.readiness().find((c) => c.component === 'link');
  assert.equal(link?.ready, false);
  assert.match(
    link?.reason ?? '',
    new RegExp(`cannot reach paper-venue at 127\\.0\\.0\\.1:${port}.*retrying`),
  );
  assert.ok(venue.readiness().every((c) => !c.ready));
  await assert.rejects(
    venue.fetchBalances(),
    (e: unknown) => e instanceof VenueDisconnectedError && /nothing was sent/.test(e.message),
  );
  assert.equal(venue.capabilities.nonces, false);
  const events: UserStreamEvent[] = [];
  const subscription = await venue.watchUserStream((e) => events.push(e));
  closers.push(() => subscription.close());

  const fake = new FakeVenue({ venue: 'paper', account: 'main', apiKeyId: 'key-1', nextNonce: 5n });
  const server = await startTestPaperVenueServer({ venues: [fake], port });
  closers.push(() => server.close());
  await eventually('connected', () => venue.readiness().find((c) => c.component === 'link')?.ready, 10_000);
  assert.equal(venue.capabilities.nonces, true, "the server's capabilities once connected");
  assert.equal(await venue.fetchNextNonce?.(), 5n, 'optional members follow the connected port');
  assert.equal((await venue.fetchBalances()).length, 1);
  await eventually('the early subscription attached', () => fake.activeSubscriptions === 1);
  fake.emitUser({ kind: 'balance', balance: sampleBalance() });
  await eventually('a user event through the early subscription', () => events.length === 1);
});

test('a permanent failure (the server does not host the venue) still fails the open', async () => {
  const server = await startTestPaperVenueServer({ venues: [] });
  closers.push(() => server.close());
  await assert.rejects(
    openOrDefer({
      venue: 'paper',
      account: 'main',
      apiKeyId: 'key-1',
      target: `paper-venue at ${server.address}`,
      connect: connectTo(server.port),
    }),
    (e: unknown) =>
      !(e instanceof VenueDisconnectedError) && (e instanceof VenueRejectedError || e instanceof Error),
  );
});
