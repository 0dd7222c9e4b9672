/**
 * The kill switch from the operator to the venue, with the real pieces in process: a halt
 * through StrategyService (what the gateway's TradingState calls) makes the execution
 * service refuse that strategy's new orders with StrategyHaltedError; a resume lets them
 * through again. Execution learns it from the strategy's `trading_state` decision on the
 * log, the one record of the switch (execution's own side: libs/execution
 * strategy-halt.int.test.ts, on NATS and Redis).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { OrderType, Side, TimeInForce } from '@perpmesh/contracts';
import { placeOrderCommandFromProto, StrategyHaltedError } from '@perpmesh/execution';
import { eventually } from '@perpmesh/testing';
import { BTC, HOUR_MS, Stack } from './stack.test-helper.js';

const VENUE = 'paper';

function gridInstance(): Record<string, unknown> {
  return {
    id: 'grid-1',
    kind: 'grid',
    mode: 'live',
    venue: VENUE,
    account: 'main',
    instrument: BTC,
    spacingBps: '50',
    levelsAbove: 1,
    levelsBelow: 1,
    sizePerLevel: '0.01',
    maxActiveOrders: 2,
    placementCooldownMs: 0,
    maxBookAgeMs: 10 * HOUR_MS,
    risk: {
      leverage: '5',
      maxLeverage: '10',
      maxNotionalPerInstrument: '20000',
      maxNotionalPerVenue: '50000',
      maxBalanceAgeMs: 10 * HOUR_MS,
      availableBalanceUsage: '0.5',
    },
  };
}

describe('the kill switch reaches execution', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  test('HALTED through StrategyService: execution refuses the strategy by name; ACTIVE lets it trade again', async () => {
    stack = await Stack.open({
      venues: [{ venueId: VENUE }],
      accounts: [{ venueId: VENUE, accountId: 'main', deposit: '100000' }],
      instances: [gridInstance()],
    });
    const service = await stack.startStrategy();
    const { engine } = stack.execution;
    const book = await stack.hub.venue(VENUE, 'main').fetchOrderBook(BTC, 1);
    const low = book.bids[0]!.price.mul('0.8').toDecimalPlaces(0).toFixed();
    let seq = 900;
    // An order as the strategy would send it: its id carries the strategy id.
    const place = () =>
      engine.placeOrder(
        placeOrderCommandFromProto({
          clientOrderId: `grid-1_${++seq}`,
          venue: VENUE,
          account: 'main',
          instrument: BTC,
          side: Side.SIDE_BUY,
          type: OrderType.ORDER_TYPE_LIMIT,
          timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
          price: low,
          size: '0.01',
          reduceOnly: false,
          correlationId: '',
        }),
      );

    await service.setTradingState({ state: 'HALTED', reason: 'test halt', strategyId: 'grid-1' });
    const refused = await eventually('execution refuses grid-1', async () => {
      try {
        await place();
        return undefined;
      } catch (err) {
        return err instanceof StrategyHaltedError ? err : undefined;
      }
    });
    assert.equal(refused.strategyId, 'grid-1');

    await service.setTradingState({ state: 'ACTIVE', reason: 'test resume', strategyId: 'grid-1' });
    const accepted = await eventually('execution takes grid-1 again', async () => {
      try {
        return await place();
      } catch (err) {
        if (err instanceof StrategyHaltedError) return undefined;
        throw err;
      }
    });
    assert.equal(accepted.order.state.status, 'accepted');
  });
});
