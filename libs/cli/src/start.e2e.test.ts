/**
 * `perpmesh start` as a real process: it reaches ready with the embedded log and store,
 * an order placed over gRPC fills on a paper venue and shows up as a position over
 * AccountService, SIGTERM stops it cleanly, and a restart opens a new paper session.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import {
  AccountServiceClient,
  ExecutionServiceClient,
  type GetPositionsResponse,
  OrderType,
  type PlaceOrderResponse,
  Side,
  TimeInForce,
} from '@perpmesh/contracts';
import { eventually, type PerpmeshProcess, startPerpmeshProcess, unary } from '@perpmesh/testing';

describe('perpmesh start (embedded, real process)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'perpmesh-start-'));
  const running: PerpmeshProcess[] = [];
  after(() => {
    for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('ready, trades on a paper venue, stops cleanly, restarts into a new session', async () => {
    const first = await startPerpmeshProcess({ dataDir });
    running.push(first);
    const readyz = (await (await fetch(`http://127.0.0.1:${first.httpPort}/readyz`)).json()) as {
      ready: boolean;
      components: { name: string }[];
    };
    assert.equal(readyz.ready, true);
    for (const c of ['paper/order_books', 'paper-lighter/funding', 'paper-extended/main/balances']) {
      assert.ok(
        readyz.components.some((x) => x.name === c),
        `readyz lists ${c}`,
      );
    }

    const exec = new ExecutionServiceClient(first.execution, credentials.createInsecure());
    const acct = new AccountServiceClient(first.account, credentials.createInsecure());
    try {
      const placed = await unary<unknown, PlaceOrderResponse>(exec.placeOrder.bind(exec) as never, {
        clientOrderId: 'e2e-start-1',
        venue: 'paper',
        account: 'main',
        instrument: 'BTC-USDC-PERP',
        side: Side.SIDE_BUY,
        type: OrderType.ORDER_TYPE_MARKET,
        timeInForce: TimeInForce.TIME_IN_FORCE_IOC,
        price: '',
        size: '0.01',
        reduceOnly: false,
        correlationId: '',
      });
      assert.equal(placed.order?.clientOrderId, 'e2e-start-1');
      await eventually('the fill to show up as a 0.01 BTC position over AccountService', async () => {
        const res = await unary<unknown, GetPositionsResponse>(acct.getPositions.bind(acct) as never, {
          venue: 'paper',
          account: 'main',
          instrument: 'BTC-USDC-PERP',
        });
        return res.positions.find((p) => p.position?.size === '0.01');
      });
    } finally {
      exec.close();
      acct.close();
    }

    assert.equal(await first.stop(), 0, `clean exit; stderr:\n${first.stderr()}`);
    const second = await startPerpmeshProcess({ dataDir });
    running.push(second);
    assert.equal(await second.stop(), 0);
    assert.equal(readdirSync(join(dataDir, 'sessions')).length, 2, 'each start is its own paper session');
  });
});
