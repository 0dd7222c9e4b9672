/**
 * A call forwarded between market-data replicas over TLS (test CA made with openssl): the
 * router built with the `tls` section's client credentials reaches a replica whose gRPC
 * server speaks TLS, carrying the token; the same router in plaintext does not.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { PROTO_DIR } from '@perpmesh/app';
import { type GetFundingRatesResponse, MarketDataServiceService } from '@perpmesh/contracts';
import {
  createLogger,
  grpcChannelCredentials,
  HealthRegistry,
  type RunningGrpcServer,
  Secret,
  startGrpcServer,
} from '@perpmesh/runtime';
import { makeTestCertificates, type TestCertificates } from '@perpmesh/testing';
import { MARKET_DATA_PROTO } from './components.js';
import { MarketDataRouter, MD_FORWARDED_METADATA, ReplicaAddresses } from './routing.js';
import { keyStore } from './routing.test-helper.js';

const logger = createLogger({ service: 'md-routing-tls-test', level: 'silent' });
const TOKEN = new Secret('md-routing-tls-token');
const PAIR = { venue: 'paper', instrument: 'ETH-USDC-PERP' };
const OWNER_RATES: GetFundingRatesResponse = {
  rates: [
    {
      rate: {
        ...PAIR,
        rate: '0.0001',
        intervalMs: 3_600_000,
        ratePerHour: '0.0001',
        annualized: '0.876',
        nextFundingTimeMs: 0,
        markPrice: '2000',
        indexPrice: '2000',
        asOfMs: 1,
        // Set, so the forwarded answer carries it too (an absent optional decodes as undefined).
        observedAtMs: 2,
      },
      stale: false,
      ageMs: 0,
    },
  ],
};

describe('market-data forwarded calls over TLS', () => {
  let dir: string;
  let certs: TestCertificates;
  let owner: RunningGrpcServer;
  const seen: { authorization: string; forwarded: boolean }[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'perpmesh-md-tls-'));
    certs = makeTestCertificates(dir);
    // The owning replica: a MarketDataService answering its own pair, behind TLS and the token.
    const answer = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      seen.push({
        authorization: String(call.metadata.get('authorization')[0] ?? ''),
        forwarded: call.metadata.get(MD_FORWARDED_METADATA).length > 0,
      });
      callback(null, OWNER_RATES);
    };
    owner = await startGrpcServer({
      port: 0,
      services: [
        {
          definition: MarketDataServiceService,
          implementation: { getFundingRates: answer, getOrderBook: answer, getVenueStatus: answer },
        },
      ],
      protoFiles: [MARKET_DATA_PROTO],
      includeDirs: [PROTO_DIR],
      logger,
      health: new HealthRegistry(),
      authToken: TOKEN,
      tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile },
    });
  });

  after(async () => {
    await owner?.close(0);
    rmSync(dir, { recursive: true, force: true });
  });

  const router = async (channelCredentials: grpc.ChannelCredentials) => {
    const addresses = new ReplicaAddresses(keyStore());
    await addresses.register('md-b', `127.0.0.1:${owner.port}`);
    return new MarketDataRouter({
      membership: {
        holder: 'md-a',
        members: ['md-a', 'md-b'],
        currentOwner: async () => 'md-b',
        expectedOwner: () => 'md-b',
      },
      addresses,
      logger,
      authToken: TOKEN,
      channelCredentials,
      timeoutMs: 5_000,
    });
  };

  test('TLS client credentials from the tls section reach the owner; plaintext does not', async () => {
    const secure = await router(
      grpcChannelCredentials({ caFile: certs.client.caFile, requireClientCert: false }),
    );
    const request = { ...PAIR };
    const answered = await secure.fundingRates(request, { rates: [] });
    secure.close();
    assert.deepEqual(answered, OWNER_RATES);
    assert.deepEqual(seen, [{ authorization: `Bearer ${TOKEN.reveal()}`, forwarded: true }]);

    const plain = await router(grpcChannelCredentials(undefined));
    // A member that does not answer is left out (logged): nothing reaches the TLS server.
    assert.deepEqual(await plain.fundingRates(request, { rates: [] }), { rates: [] });
    plain.close();
    assert.equal(seen.length, 1, 'the plaintext call never reached the handler');
  });
});
