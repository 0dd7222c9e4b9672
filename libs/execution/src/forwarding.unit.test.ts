import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AccountId, VenueId } from '@perpmesh/core';
import { ExecutionRouter } from './forwarding.js';
import { NonceKeyMovingError, type NonceKeyOwnership, type NonceKeyRoute } from './nonce-ownership.js';

const target = { venue: 'paper-lighter' as VenueId, account: 'main' as AccountId };
const port = { venue: 'paper-lighter', account: 'main', apiKeyId: 'default' };

/** An ownership whose routes are scripted: one answer per ask, the last one repeated. */
function scriptedOwnership(routes: NonceKeyRoute[], takeoverBoundMs = 5_000) {
  let asked = 0;
  const ownership = {
    takeoverBoundMs,
    members: [],
    portOf: () => port,
    route: async () => routes[Math.min(asked++, routes.length - 1)],
  };
  return { ownership: ownership as unknown as NonceKeyOwnership, asked: () => asked };
}

const never = () => Promise.reject(new Error('no forwarding in this test'));

test('a call for a key nobody owns yet waits for the owner, then runs where the key now is', async () => {
  const { ownership, asked } = scriptedOwnership([{ kind: 'moving' }, { kind: 'moving' }, { kind: 'here' }]);
  const router = new ExecutionRouter(ownership, undefined, undefined);
  const answer = await router.call(
    target,
    { deadline: Date.now() + 10_000, metadata: undefined } as never,
    async () => 'placed here',
    never as never,
    {},
  );
  assert.equal(answer, 'placed here');
  assert.equal(asked(), 3);
});

test('still nobody within the caller deadline: UNAVAILABLE "ownership is moving", the call not run', async () => {
  const { ownership } = scriptedOwnership([{ kind: 'moving' }]);
  const router = new ExecutionRouter(ownership, undefined, undefined);
  let ran = false;
  await assert.rejects(
    router.call(
      target,
      { deadline: Date.now() + 1_500, metadata: undefined } as never,
      async () => {
        ran = true;
        return 'x';
      },
      never as never,
      {},
    ),
    NonceKeyMovingError,
  );
  assert.equal(ran, false);
});
