/** The one wire → strategy-input mapping: signs, staleness, what is not an input. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BookUpdateKind,
  FillOrigin,
  Liquidity,
  newEnvelope,
  OrderStatus,
  OrderType,
  PositionSide,
  Side,
  TimeInForce,
} from '@perpmesh/contracts';
import { dec } from '@perpmesh/core';
import { applyFact, initialWorld, positionSize } from '../world.js';
import { DRY_RUN_REASON, DryRunRecorder } from './gateway.js';
import { inputFromEnvelope } from './inputs.js';

const NOW = 1_700_000_100_000;
const ctx = { nowMs: NOW, balanceStaleAfterMs: 15_000 };
const env = (payload: Parameters<typeof newEnvelope>[0]['payload']) =>
  newEnvelope({ source: 'test/0', tsEventMs: NOW - 10, tsInitMs: NOW - 5, payload });

describe('acct.position and exec.fill of one fill, on their separate streams', () => {
  // As in the emulated Binance run: the account's position is as of the fill's venue time.
  const FILLED_AT = NOW - 40;
  const fillEnvelope = env({
    $case: 'fill',
    value: {
      venue: 'binanceusdm',
      account: 'main',
      instrument: 'BTC-USDT-PERP',
      clientOrderId: 'arb-1_mxc2u1mo',
      venueOrderId: '131',
      tradeId: '14',
      side: Side.SIDE_BUY,
      price: '59952.9',
      size: '0.083',
      fee: '2.48804535',
      feeCurrency: 'USDT',
      liquidity: Liquidity.LIQUIDITY_TAKER,
      filledAtMs: FILLED_AT,
      origin: FillOrigin.FILL_ORIGIN_ORDER,
    },
  });
  const positionEnvelope = env({
    $case: 'position',
    value: {
      venue: 'binanceusdm',
      account: 'main',
      instrument: 'BTC-USDT-PERP',
      side: PositionSide.POSITION_SIDE_LONG,
      size: '0.083',
      entryPrice: '59952.9',
      markPrice: '59949.3',
      unrealizedPnl: '-0.2988',
      realizedPnl: '0',
      leverage: '',
      liquidationPrice: '',
      asOfMs: FILLED_AT,
      source: 0,
    },
  });

  for (const [order, envelopes] of [
    ['position first', [positionEnvelope, fillEnvelope]],
    ['fill first', [fillEnvelope, positionEnvelope]],
  ] as const) {
    test(`${order}: the strategy's position is the fill once (0.083), not twice`, () => {
      const world = initialWorld('arb-1', 10);
      for (const e of envelopes) {
        const input = inputFromEnvelope(e, ctx);
        assert.ok(input, 'a strategy input');
        applyFact(world, input);
      }
      assert.equal(positionSize(world, 'binanceusdm', 'main', 'BTC-USDT-PERP').toFixed(), '0.083');
    });
  }
});

describe('inputFromEnvelope', () => {
  test('a short position is a negative size', () => {
    const input = inputFromEnvelope(
      env({
        $case: 'position',
        value: {
          venue: 'paper',
          account: 'main',
          instrument: 'BTC-USDC-PERP',
          side: PositionSide.POSITION_SIDE_SHORT,
          size: '0.5',
          entryPrice: '60000',
          markPrice: '',
          unrealizedPnl: '0',
          realizedPnl: '0',
          leverage: '',
          liquidationPrice: '',
          asOfMs: NOW - 100,
          source: 0,
        },
      }),
      ctx,
    );
    assert.equal(input?.kind, 'position');
    assert.ok(input?.kind === 'position' && input.size.eq(dec('-0.5')));
  });

  test('a balance older than the freshness bound is stale (risk then denies); a fresh one is not', () => {
    const balance = (asOfMs: number) =>
      inputFromEnvelope(
        env({
          $case: 'balance',
          value: {
            venue: 'paper',
            account: 'main',
            currency: 'USDC',
            total: '1000',
            available: '900',
            equity: '1000',
            unrealizedPnl: '0',
            asOfMs,
            source: 0,
          },
        }),
        ctx,
      );
    const old = balance(NOW - 20_000);
    const fresh = balance(NOW - 1_000);
    assert.ok(old?.kind === 'balance' && old.stale === true);
    assert.ok(fresh?.kind === 'balance' && fresh.stale === false && fresh.available.eq(900));
  });

  test('book deltas, trades and venue status are not strategy inputs; snapshots are', () => {
    const book = (kind: BookUpdateKind) =>
      inputFromEnvelope(
        env({
          $case: 'orderBook',
          value: {
            venue: 'paper',
            instrument: 'BTC-USDC-PERP',
            kind,
            sequence: 2,
            prevSequence: 1,
            bids: [{ price: '100', size: '1' }],
            asks: [{ price: '101', size: '2' }],
            depth: 20,
            checksum: 0,
            asOfMs: NOW - 50,
          } as never,
        }),
        ctx,
      );
    assert.equal(book(BookUpdateKind.BOOK_UPDATE_KIND_DELTA), undefined);
    const snap = book(BookUpdateKind.BOOK_UPDATE_KIND_SNAPSHOT);
    assert.ok(snap?.kind === 'book' && snap.asks[0]!.size.eq(2) && snap.asOfMs === NOW - 50);
  });

  test('fills and order events carry the execution service facts', () => {
    const fill = inputFromEnvelope(
      env({
        $case: 'fill',
        value: {
          venue: 'paper',
          account: 'main',
          instrument: 'BTC-USDC-PERP',
          clientOrderId: 'arb-1_abc',
          venueOrderId: 'v1',
          tradeId: 't1',
          side: Side.SIDE_SELL,
          price: '60000',
          size: '0.01',
          fee: '0.3',
          feeCurrency: 'USDC',
          liquidity: Liquidity.LIQUIDITY_TAKER,
          filledAtMs: NOW - 20,
          origin: FillOrigin.FILL_ORIGIN_ORDER,
        },
      }),
      ctx,
    );
    assert.ok(fill?.kind === 'fill' && fill.side === 'sell' && fill.fee.eq(dec('0.3')));
    const order = inputFromEnvelope(
      env({
        $case: 'orderEvent',
        value: {
          kind: 3,
          reason: 'insufficient margin',
          order: {
            clientOrderId: 'arb-1_abd',
            venueOrderId: '',
            venue: 'paper',
            account: 'main',
            instrument: 'BTC-USDC-PERP',
            side: Side.SIDE_BUY,
            type: OrderType.ORDER_TYPE_LIMIT,
            timeInForce: TimeInForce.TIME_IN_FORCE_IOC,
            price: '60010',
            size: '0.01',
            filledSize: '0',
            averageFillPrice: '',
            status: OrderStatus.ORDER_STATUS_REJECTED,
            reduceOnly: false,
            reason: '',
            feeTotal: '0',
            feeCurrency: '',
            createdAtMs: NOW - 30,
            updatedAtMs: NOW - 25,
            correlationId: 'x',
          },
        },
      }),
      ctx,
    );
    assert.ok(
      order?.kind === 'order' && order.status === 'rejected' && order.reason === 'insufficient margin',
    );
  });
});

describe('DryRunRecorder', () => {
  test('records every intended order once, answers that nothing was sent', async () => {
    const recorder = new DryRunRecorder({ nowMs: () => NOW });
    const intent = {
      clientOrderId: 'arb-1_x',
      venue: 'paper',
      account: 'main',
      instrument: 'BTC-USDC-PERP',
      side: 'buy' as const,
      type: 'market' as const,
      timeInForce: 'ioc' as const,
      price: undefined,
      size: dec('0.01'),
      reduceOnly: false,
    };
    const answer = await recorder.place(intent, 'corr-1');
    await recorder.place(intent, 'corr-1'); // a resend after a crash
    assert.equal(recorder.orders.length, 1);
    assert.equal(answer.status, 'expired');
    assert.equal(answer.reason, DRY_RUN_REASON);
    assert.ok(answer.filled.isZero());
    assert.deepEqual(await recorder.listOpenOrders(), []);
  });
});
