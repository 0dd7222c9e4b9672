import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { type ExecutionServiceClient, PlaceOrderRequest } from '@perpmesh/contracts';
import type { AccountId, VenueId } from '@perpmesh/core';
import { PeerCallError } from '@perpmesh/runtime';
import type { ReplicaAddresses } from '@perpmesh/state';
import { freePort } from '@perpmesh/testing';
import { ExecutionRouter, ownerDidNotAnswer } from './forwarding.js';
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
    storedLease: async () => undefined,
    recheck: async () => {},
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

describe('the owner does not answer', () => {
  /** Forwarding toward a reserved port nothing listens on: the owner's connection is refused. */
  async function deadOwnerRouter(routes: NonceKeyRoute[], lease?: { holder: string; expiresAtMs: number }) {
    const scripted = scriptedOwnership(routes);
    let rechecks = 0;
    Object.assign(scripted.ownership, {
      recheck: async () => {
        rechecks += 1;
      },
      storedLease: async () => lease,
    });
    const deadAddress = `127.0.0.1:${await freePort()}`;
    const router = new ExecutionRouter(scripted.ownership, { address: '127.0.0.1:1', timeoutMs: 2_000 }, {
      addressOf: async () => deadAddress,
    } as unknown as ReplicaAddresses);
    return { router, rechecks: () => rechecks, asked: scripted.asked };
  }
  const placeOrder = (c: ExecutionServiceClient) => c.placeOrder.bind(c) as never;

  test('the members are judged again at once and the call goes to the next owner (here)', async () => {
    const { router, rechecks } = await deadOwnerRouter([
      { kind: 'owner', holder: 'dead' },
      { kind: 'owner', holder: 'dead' },
      { kind: 'moving' },
      { kind: 'here' },
    ]);
    try {
      const answer = await router.call(
        target,
        { deadline: Date.now() + 10_000, metadata: undefined } as never,
        async () => 'placed here',
        placeOrder,
        PlaceOrderRequest.fromPartial({}),
      );
      assert.equal(answer, 'placed here');
      assert.equal(rechecks(), 1);
    } finally {
      router.close();
    }
  });

  test('no next owner within the deadline: UNAVAILABLE "ownership is moving", naming the silent owner and when its lease lapses', async () => {
    const expiresAtMs = Date.now() + 8_000;
    const { router, rechecks } = await deadOwnerRouter([{ kind: 'owner', holder: 'dead' }], {
      holder: 'dead',
      expiresAtMs,
    });
    let ran = false;
    try {
      await assert.rejects(
        router.call(
          target,
          { deadline: Date.now() + 1_500, metadata: undefined } as never,
          async () => {
            ran = true;
            return 'x';
          },
          placeOrder,
          PlaceOrderRequest.fromPartial({}),
        ),
        (err: unknown) => {
          assert.ok(err instanceof NonceKeyMovingError);
          assert.match(err.message, /ownership is moving/);
          assert.match(err.message, /owner execution replica dead did not answer/);
          assert.ok(err.message.includes(new Date(expiresAtMs).toISOString()), err.message);
          return true;
        },
      );
      assert.equal(ran, false);
      assert.equal(rechecks(), 1);
    } finally {
      router.close();
    }
  });

  test('only a failure without an answer from the owner counts: its own answers pass on as they are', () => {
    assert.equal(
      ownerDidNotAnswer(new PeerCallError(status.UNAVAILABLE, 'No connection established', false)),
      true,
    );
    assert.equal(
      ownerDidNotAnswer(
        new PeerCallError(status.UNAVAILABLE, 'venue unavailable (from execution replica x)', true),
      ),
      false,
    );
    assert.equal(
      ownerDidNotAnswer(new PeerCallError(status.DEADLINE_EXCEEDED, 'Deadline exceeded', false)),
      false,
    );
    assert.equal(ownerDidNotAnswer(new Error('UNAVAILABLE')), false);
  });
});
