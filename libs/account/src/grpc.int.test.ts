/**
 * AccountService over a real grpc-js server on 127.0.0.1 (startGrpcServer: auth, error
 * mapping at the edge), called with the generated client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  AccountServiceClient,
  type GetAccountSummaryResponse,
  type GetBalancesResponse,
  type GetPositionsResponse,
  PositionSide,
  publishEnvelope,
  StateSource,
} from '@perpmesh/contracts';
import {
  bearerAuthInterceptor,
  createLogger,
  type RunningGrpcServer,
  Secret,
  startGrpcServer,
} from '@perpmesh/runtime';
import { eventually, openTestBackend, type TestBackend } from '@perpmesh/testing';
import { BTC, fillEnvelope, makeWorld, trade, type World } from './scenarios.test-helper.js';
import type { AccountService } from './service.js';

const PROTO_DIR = new URL('../../../proto', import.meta.url).pathname;
const TOKEN = new Secret('test-token-account');

function call<Req, Res>(
  client: AccountServiceClient,
  method: 'getBalances' | 'getPositions' | 'getAccountSummary',
  request: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    (
      client[method] as unknown as (r: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => void
    ).call(client, request, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

describe('AccountService over gRPC', () => {
  let backend: TestBackend;
  let world: World;
  let svc: AccountService;
  let server: RunningGrpcServer;
  let client: AccountServiceClient;

  before(async () => {
    backend = await openTestBackend('embedded', { prefix: 'ACCG' });
    world = makeWorld(backend);
    world.port.failReads = true; // balances unknown at first
    svc = world.build();
    await svc.start();
    server = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      services: [svc.grpc],
      protoFiles: ['perpmesh/v1/account.proto'],
      includeDirs: [PROTO_DIR],
      authToken: TOKEN,
      logger: createLogger({ service: 'account', level: 'silent' }),
      health: world.health,
    });
    client = new AccountServiceClient(server.address, grpc.credentials.createInsecure(), {
      interceptors: [bearerAuthInterceptor(TOKEN)],
    });
  });

  after(async () => {
    client?.close();
    await server?.close(100);
    await svc?.stop();
    world?.hub.close();
    await backend?.close();
  });

  test('balances never fetched: UNAVAILABLE naming the account and why, not an empty or zero answer', async () => {
    await assert.rejects(
      call(client, 'getBalances', { venue: '', account: '' }),
      (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.UNAVAILABLE);
        assert.match(err.details, /paper\/main: last fetch failed: .*simulated outage/);
        return true;
      },
    );
    await assert.rejects(call(client, 'getAccountSummary', { venue: '', account: '' }), {
      code: grpc.status.UNAVAILABLE,
    });
  });

  test('balances, positions and the summary after a fetch and a fill', async () => {
    world.port.failReads = false;
    await svc.refresh();
    const fills = await trade(world, 'g-1', 'buy', '0.01');
    for (const f of fills)
      await publishEnvelope(backend.log, fillEnvelope('paper', 'main', f), backend.subjects);
    await eventually('the projected position', () => svc.positions()[0]?.source === 'projection');
    await svc.refresh();

    const balances = await call<unknown, GetBalancesResponse>(client, 'getBalances', {
      venue: 'paper',
      account: '',
    });
    assert.equal(balances.balances.length, 1);
    const view = balances.balances[0]!;
    assert.equal(view.balance?.currency, 'USDC');
    assert.ok(Number(view.balance?.total) > 99_000);
    assert.equal(view.balance?.source, StateSource.STATE_SOURCE_VENUE);
    assert.equal(view.stale, false);
    assert.ok(view.balance!.asOfMs > 0);

    const positions = await call<unknown, GetPositionsResponse>(client, 'getPositions', {
      venue: 'paper',
      account: 'main',
      instrument: BTC,
    });
    assert.equal(positions.positions.length, 1);
    const p = positions.positions[0]!.position!;
    assert.equal(p.size, '0.01');
    assert.equal(p.side, PositionSide.POSITION_SIDE_LONG);
    assert.equal(p.source, StateSource.STATE_SOURCE_PROJECTION);
    assert.equal(p.entryPrice, fills[0]!.price.toFixed());
    assert.notEqual(p.markPrice, '');

    const summary = await call<unknown, GetAccountSummaryResponse>(client, 'getAccountSummary', {
      venue: '',
      account: '',
    });
    assert.equal(summary.accounts.length, 1);
    assert.equal(summary.accounts[0]?.openPositions, 1);
    assert.equal(summary.accounts[0]?.currency, 'USDC');
    assert.ok(Number(summary.accounts[0]?.equity) > 0);
    // A taker fill paid a fee; the summary and the per-currency totals carry it.
    assert.ok(Number(summary.accounts[0]?.fees) > 0, `fees ${summary.accounts[0]?.fees}`);
    assert.equal(summary.totals.length, 1);
    assert.equal(summary.totals[0]?.currency, 'USDC');
    assert.equal(summary.totals[0]?.equity, summary.accounts[0]?.equity);
    assert.equal(summary.totals[0]?.fees, summary.accounts[0]?.fees);
  });

  test('an unknown venue or account is INVALID_ARGUMENT naming the field', async () => {
    await assert.rejects(
      call(client, 'getBalances', { venue: 'nope', account: '' }),
      (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
        assert.match(err.details, /^venue: unknown venue "nope"/);
        assert.deepEqual(err.metadata.get('perpmesh-field'), ['venue']);
        return true;
      },
    );
    await assert.rejects(call(client, 'getPositions', { venue: 'paper', account: 'ghost', instrument: '' }), {
      code: grpc.status.INVALID_ARGUMENT,
    });
  });

  test('without the bearer token: UNAUTHENTICATED', async () => {
    const anonymous = new AccountServiceClient(server.address, grpc.credentials.createInsecure());
    try {
      await assert.rejects(call(anonymous, 'getBalances', { venue: '', account: '' }), {
        code: grpc.status.UNAUTHENTICATED,
      });
    } finally {
      anonymous.close();
    }
  });
});
