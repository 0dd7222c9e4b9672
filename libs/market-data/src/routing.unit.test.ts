import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Metadata, status } from '@grpc/grpc-js';
import { createLogger } from '@perpmesh/runtime';
import type { StateStore } from '@perpmesh/state';
import { z } from 'zod';
import { marketDataLeasesOf, marketDataSectionFields } from './config.js';
import { isForwardedCall, MarketDataRouter, MD_FORWARDED_METADATA, ReplicaAddresses } from './routing.js';

const section = (fields: Record<string, unknown>) => z.strictObject(marketDataSectionFields).parse(fields);

/** The idempotency-key part of a StateStore, in memory. */
function keyStore(): StateStore {
  const keys = new Map<string, string>();
  const k = (scope: string, key: string) => `${scope}:${key}`;
  return {
    claimIdempotencyKey: async (scope: string, key: string, value: string) => {
      const existing = keys.get(k(scope, key));
      if (existing !== undefined) return { claimed: false, existingValue: existing };
      keys.set(k(scope, key), value);
      return { claimed: true };
    },
    getIdempotencyKey: async (scope: string, key: string) => keys.get(k(scope, key)),
    updateIdempotencyValue: async (scope: string, key: string, expected: string, value: string) => {
      if (keys.get(k(scope, key)) !== expected) return false;
      keys.set(k(scope, key), value);
      return true;
    },
    releaseIdempotencyKey: async (scope: string, key: string, expected: string) =>
      keys.get(k(scope, key)) === expected && keys.delete(k(scope, key)),
  } as unknown as StateStore;
}

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
    const router = new MarketDataRouter({
      membership: { holder: 'md-a', members: ['md-a', 'md-b'], currentOwner: async () => owner },
      addresses: new ReplicaAddresses(keyStore()),
      logger: createLogger({ service: 'md-test', level: 'silent' }),
    });
    const notHere = new Error('not served here');
    const request = { venue: 'paper', instrument: 'BTC-USDC-PERP', depth: 5 };
    await assert.rejects(router.orderBook(request, notHere), (err) => err === notHere);
    owner = 'md-a';
    await assert.rejects(router.orderBook(request, notHere), (err) => err === notHere);
    owner = 'md-b';
    await assert.rejects(router.orderBook(request, notHere), (err: { code?: number; message?: string }) => {
      assert.equal(err.code, status.UNAVAILABLE);
      assert.match(err.message ?? '', /md-b registered no address/);
      return true;
    });
    router.close();
  });
});
