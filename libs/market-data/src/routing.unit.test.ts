import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import { PerpmeshError } from '@perpmesh/core';
import { createLogger } from '@perpmesh/runtime';
import { z } from 'zod';
import { marketDataLeasesOf, marketDataSectionFields } from './config.js';
import { isForwardedCall, MarketDataRouter, MD_FORWARDED_METADATA, ReplicaAddresses } from './routing.js';
import { keyStore } from './routing.test-helper.js';

const section = (fields: Record<string, unknown>) => z.strictObject(marketDataSectionFields).parse(fields);

describe('market-data query routing', () => {
  test('the advertised address: grpcHost:grpcPort, the host name for a wildcard, or the configured one', () => {
    const leases = { enabled: true };
    const of = (fields: Record<string, unknown>) =>
      marketDataLeasesOf(section({ leases, ...fields }), 'h', { hostName: 'pod-1' })?.address;
    assert.equal(of({ grpcPort: 50100 }), '127.0.0.1:50100');
    assert.equal(of({ grpcHost: '0.0.0.0', grpcPort: 50100 }), 'pod-1:50100');
    assert.equal(of({ grpcHost: '::1', grpcPort: 50100 }), '[::1]:50100');
    assert.equal(of({ grpcPort: 0 }), undefined, 'port 0: unknown until listening');
    assert.equal(
      of({ grpcPort: 50100, leases: { ...leases, advertiseAddress: '10.0.0.7:50053' } }),
      '10.0.0.7:50053',
    );
    assert.equal(marketDataLeasesOf(section({}), 'h'), undefined, 'no leases, no routing');
    const tls = credentials.createInsecure();
    assert.equal(
      marketDataLeasesOf(section({ leases }), 'h', { channelCredentials: tls })?.channelCredentials,
      tls,
      'forwarded calls get the credentials of the tls section',
    );
    assert.throws(() => section({ leases: { ...leases, advertiseAddress: 'no-port' } }), /host:port/);
  });

  test('addresses live in the store under the holder; a forwarded call is marked', async () => {
    const addresses = new ReplicaAddresses(keyStore());
    await addresses.register('md-a', '127.0.0.1:1');
    await addresses.register('md-a', '127.0.0.1:2');
    assert.equal(await addresses.addressOf('md-a'), '127.0.0.1:2', 'a re-registration replaces the address');
    await addresses.unregister('md-a', '127.0.0.1:2');
    assert.equal(await addresses.addressOf('md-a'), undefined);

    const forwarded = new Metadata();
    forwarded.set(MD_FORWARDED_METADATA, '1');
    assert.equal(isForwardedCall(forwarded), true);
    assert.equal(isForwardedCall(new Metadata()), false);
  });

  test('a book nobody else holds is answered with the original error; an owner without an address is UNAVAILABLE naming it', async () => {
    let owner: string | undefined;
    let expected: string | undefined;
    const router = new MarketDataRouter({
      membership: {
        holder: 'md-a',
        members: ['md-a', 'md-b', 'md-c'],
        currentOwner: async () => owner,
        expectedOwner: () => expected,
      },
      addresses: new ReplicaAddresses(keyStore()),
      logger: createLogger({ service: 'md-test', level: 'silent' }),
    });
    const notHere = new Error('not served here');
    const request = { venue: 'paper', instrument: 'BTC-USDC-PERP', depth: 5 };
    await assert.rejects(router.orderBook(request, notHere), (err) => err === notHere);
    assert.equal(router.comingHere(request, notHere), notHere);
    // Held here, or expected here with no holder: the pair is coming (its feed not following
    // it yet): UNAVAILABLE, worth a retry, on a call and on a call forwarded here.
    const comingHere = (err: unknown) => {
      assert.ok(err instanceof PerpmeshError && err.code === 'BOOK_NOT_SYNCED', String(err));
      assert.match(err.message, /being taken over by this replica: no snapshot yet/);
      return true;
    };
    expected = 'md-a';
    await assert.rejects(router.orderBook(request, notHere), comingHere);
    assert.ok(comingHere(router.comingHere(request, notHere)));
    owner = 'md-a';
    expected = 'md-b';
    await assert.rejects(router.orderBook(request, notHere), comingHere);
    assert.equal(
      router.comingHere(request, notHere),
      notHere,
      'a forwarded call for a pair expected elsewhere',
    );
    const unregistered = (who: string) => (err: { code?: number; message?: string }) => {
      assert.equal(err.code, status.UNAVAILABLE);
      assert.match(err.message ?? '', new RegExp(`${who} registered no address`));
      return true;
    };
    owner = 'md-b';
    await assert.rejects(router.orderBook(request, notHere), unregistered('md-b'));
    // Held by nobody (a handover between release and take): asked of the replica expected to serve it.
    owner = undefined;
    expected = 'md-c';
    await assert.rejects(router.orderBook(request, notHere), unregistered('md-c'));
    router.close();
  });

  test('one client per live member: a member that left, or moved, has its client closed', async () => {
    const store = keyStore();
    const addresses = new ReplicaAddresses(store);
    // Nothing listens there: each call fails fast and is left out; the clients still exist.
    await addresses.register('md-b', '127.0.0.1:1');
    await addresses.register('md-c', '127.0.0.1:2');
    const membership = {
      holder: 'md-a',
      members: ['md-a', 'md-b', 'md-c'],
      currentOwner: async () => 'md-c',
      expectedOwner: () => 'md-c',
    };
    const router = new MarketDataRouter({
      membership,
      addresses,
      logger: createLogger({ service: 'md-test', level: 'silent' }),
      timeoutMs: 200,
    });
    const everyVenue = { venue: '', instrument: '' };
    await router.fundingRates(everyVenue, { rates: [] });
    assert.deepEqual(router.peerAddresses.sort(), ['127.0.0.1:1', '127.0.0.1:2']);

    membership.members = ['md-a', 'md-b']; // md-c lost every lease
    await router.fundingRates(everyVenue, { rates: [] });
    assert.deepEqual(router.peerAddresses, ['127.0.0.1:1']);

    await addresses.register('md-b', '127.0.0.1:3'); // md-b restarted elsewhere
    await router.venueStatus({ venue: '' }, { venues: [] });
    assert.deepEqual(router.peerAddresses, ['127.0.0.1:3']);
    router.close();
    assert.deepEqual(router.peerAddresses, []);
  });

  test('the funding of one pair held elsewhere is asked of its owner only', async () => {
    const addresses = new ReplicaAddresses(keyStore());
    await addresses.register('md-b', '127.0.0.1:1');
    await addresses.register('md-c', '127.0.0.1:2');
    let owner: string | undefined = 'md-c';
    const router = new MarketDataRouter({
      membership: {
        holder: 'md-a',
        members: ['md-a', 'md-b', 'md-c'],
        currentOwner: async () => owner,
        expectedOwner: () => owner,
      },
      addresses,
      logger: createLogger({ service: 'md-test', level: 'silent' }),
      timeoutMs: 200,
    });
    const pair = { venue: 'paper', instrument: 'ETH-USDC-PERP' };
    await router.fundingRates(pair, { rates: [] });
    assert.deepEqual(router.peerAddresses, ['127.0.0.1:2'], 'only md-c, the owner, was asked');
    owner = undefined;
    assert.deepEqual(await router.fundingRates(pair, { rates: [] }), { rates: [] }, 'no owner: nobody asked');
    router.close();
  });
});
