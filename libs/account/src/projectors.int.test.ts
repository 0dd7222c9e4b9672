/**
 * The projectors without an AccountService: what a replay tool does. Fills (EXEC) and
 * funding payments (ACCT) already in the log are rebuilt into a scratch store under a
 * consumer name of its own, and equal what the evolve functions give for the same events.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { InMemoryProjectionStore } from '@perpmesh/bus';
import { factEventId, newEnvelope, publishEnvelope, sideToProto } from '@perpmesh/contracts';
import { eventually, openTestBackend, type TestBackend } from '@perpmesh/testing';
import { type FundingProjection, type PositionsProjection, positionKey } from './projection.js';
import { type AccountProjectors, accountProjectionNames, runAccountProjectors } from './projectors.js';

const T0 = Date.UTC(2026, 0, 1);
const BTC = 'BTC-USDC-PERP';
const KEY = positionKey('paper', 'main', BTC);

describe('account projectors replayed into a scratch store', () => {
  let backend: TestBackend | undefined;
  let projectors: AccountProjectors | undefined;
  afterEach(async () => {
    await projectors?.positions.stop();
    await projectors?.funding.stop();
    await backend?.close();
  });

  test('the log’s fills and funding payments become the positions and funding snapshots', async () => {
    backend = await openTestBackend('embedded', { prefix: 'ACCP' });
    const b = backend;
    const publish = async (
      tsEventMs: number,
      key: string,
      payload: Parameters<typeof newEnvelope>[0]['payload'],
    ) =>
      publishEnvelope(
        b.log,
        newEnvelope({
          source: 'test',
          tsEventMs,
          tsInitMs: tsEventMs,
          id: factEventId(tsEventMs, key),
          payload,
        }),
        b.subjects,
      );
    for (const [i, side, size] of [
      [1, 'buy', '2'],
      [2, 'sell', '0.5'],
    ] as const) {
      await publish(T0 + i, `fill|${i}`, {
        $case: 'fill',
        value: {
          venue: 'paper',
          account: 'main',
          instrument: BTC,
          clientOrderId: `c${i}`,
          venueOrderId: `v${i}`,
          tradeId: `t${i}`,
          side: sideToProto(side),
          price: '100',
          size,
          fee: '0.1',
          feeCurrency: 'USDC',
          liquidity: 0,
          filledAtMs: T0 + i,
          origin: 0,
        },
      } as Parameters<typeof newEnvelope>[0]['payload']);
    }
    await publish(T0 + 60_000, 'funding|1', {
      $case: 'fundingPayment',
      value: {
        venue: 'paper',
        account: 'main',
        instrument: BTC,
        amount: '-0.3',
        currency: 'USDC',
        rate: '0.0001',
        positionSide: 0,
        positionSize: '1.5',
        markPrice: '100',
        fundingTimeMs: T0 + 60_000,
        paymentId: '',
      },
    } as Parameters<typeof newEnvelope>[0]['payload']);

    const scratch = new InMemoryProjectionStore();
    projectors = await runAccountProjectors({
      log: b.log,
      store: scratch,
      subjects: b.subjects,
      streamPrefix: b.streamPrefix,
      consumerName: 'replay',
    });
    const p = projectors;
    await eventually(
      'every event applied',
      () => p.positions.stats().applied === 2 && p.funding.stats().applied === 1,
    );
    const names = accountProjectionNames('replay');
    const positions = await scratch.loadProjection<PositionsProjection>(names.positions);
    const funding = await scratch.loadProjection<FundingProjection>(names.funding);
    assert.equal(positions?.state.positions[KEY]?.size, '1.5');
    assert.equal(positions?.state.positions[KEY]?.fees, '0.2');
    assert.equal(funding?.state.funding[KEY]?.total, '-0.3');
    assert.deepEqual(Object.keys(positions?.applied ?? {}), [b.stream('EXEC')]);
    assert.deepEqual(Object.keys(funding?.applied ?? {}), [b.stream('ACCT')]);
  });
});
