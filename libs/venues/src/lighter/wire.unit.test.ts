import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal, ValidationError } from '@perpmesh/core';
import {
  InsufficientMarginError,
  RateLimitedError,
  VenueOrderNotFoundError,
  VenueRejectedError,
} from '../errors.js';
import {
  type LighterParseContext,
  lighterHourlyRate,
  lighterOrderStatus,
  lighterReplyError,
  lighterScaled,
  parseLighterAccount,
  parseLighterFundingPayment,
  parseLighterMarket,
  parseLighterOrder,
  parseLighterTrade,
} from './wire.js';

const BTC = 'BTC-USDC-PERP';
const ctx: LighterParseContext = {
  instrumentOfMarket: (id) => (id === 1 ? BTC : undefined),
  ourClientId: (index) => (index === '140737488355333' ? 'ours-1' : index),
};

describe('lighter wire', () => {
  test('a market: decimals give tick and lot, margin fraction in basis points gives max leverage', () => {
    const m = parseLighterMarket({
      symbol: 'BTC',
      market_id: 1,
      market_type: 'perp',
      size_decimals: 5,
      price_decimals: 1,
      min_base_amount: '0.00020',
      min_quote_amount: '10.000000',
      min_initial_margin_fraction: 200,
      maker_fee: '0.0000',
      taker_fee: '0.0000',
    });
    assert.equal(m.marketId, 1);
    assert.equal(m.market.instrument, BTC);
    assert.equal(m.market.tickSize.toFixed(), '0.1');
    assert.equal(m.market.lotSize.toFixed(), '0.00001');
    assert.equal(m.market.minSize.toFixed(), '0.0002');
    assert.equal(m.market.maxLeverage.toFixed(), '50');
    assert.equal(m.market.fundingIntervalMs, 3_600_000);
    assert.throws(
      () => parseLighterMarket({ symbol: 'BTC', market_id: 1 }),
      /orderBookDetails\.size_decimals/,
    );
  });

  test('scaling to the venue integers is exact or refused, naming the field', () => {
    assert.equal(lighterScaled(new Decimal('60000.5'), 1, 'price'), 600005n);
    assert.equal(lighterScaled(new Decimal('0.00123'), 5, 'size'), 123n);
    assert.throws(
      () => lighterScaled(new Decimal('60000.55'), 1, 'price'),
      (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.match(err.message, /price.*not a multiple of 0\.1/);
        return true;
      },
    );
  });

  test('order statuses: open with fills is partial; liquidity cancels expire; post-only cancels reject', () => {
    assert.equal(lighterOrderStatus('open', new Decimal(0)), 'accepted');
    assert.equal(lighterOrderStatus('open', new Decimal('0.1')), 'partially_filled');
    assert.equal(lighterOrderStatus('filled', new Decimal(1)), 'filled');
    assert.equal(lighterOrderStatus('canceled', new Decimal(0)), 'canceled');
    assert.equal(lighterOrderStatus('canceled-not-enough-liquidity', new Decimal(0)), 'expired');
    assert.equal(lighterOrderStatus('canceled-post-only', new Decimal(0)), 'rejected');
    assert.equal(lighterOrderStatus('canceled-self-trade', new Decimal(0)), 'canceled');
    assert.throws(() => lighterOrderStatus('weird', new Decimal(0)), /unknown Lighter order status/);
  });

  test('an order: our id from the client order index, average price from the filled quote', () => {
    const o = parseLighterOrder(
      {
        order_index: 281474976710700,
        client_order_index: 140737488355333,
        market_index: 1,
        initial_base_amount: '0.00500',
        filled_base_amount: '0.00200',
        filled_quote_amount: '120.000000',
        price: '60000.0',
        is_ask: false,
        type: 'limit',
        time_in_force: 'good-till-time',
        reduce_only: false,
        status: 'open',
        updated_at: 1_700_000_000,
      },
      ctx,
    );
    assert.equal(o.clientOrderId, 'ours-1');
    assert.equal(o.venueOrderId, '281474976710700');
    assert.equal(o.status, 'partially_filled');
    assert.equal(o.avgFillPrice?.toFixed(), '60000');
    assert.equal(o.timeInForce, 'gtc');
    assert.equal(o.tsEventMs, 1_700_000_000_000);
  });

  test('a trade: our side by account, maker or taker, liquidations are venue-made', () => {
    const row = {
      trade_id: 9,
      market_id: 1,
      type: 'trade',
      size: '0.002',
      price: '60000.0',
      ask_id: 5,
      bid_id: 281474976710700,
      ask_client_id: 0,
      bid_client_id: 140737488355333,
      ask_account_id: 3,
      bid_account_id: 7,
      is_maker_ask: true,
      timestamp: 1_700_000_000_123,
      taker_fee: '0.012',
      maker_fee: '0',
    };
    const fill = parseLighterTrade(row, 7, ctx);
    assert.equal(fill.side, 'buy');
    assert.equal(fill.liquidity, 'taker');
    assert.equal(fill.fee.toFixed(), '0.012');
    assert.equal(fill.clientOrderId, 'ours-1');
    assert.equal(fill.venueOrderId, '281474976710700');
    const liq = parseLighterTrade({ ...row, type: 'liquidation' }, 7, ctx);
    assert.equal(liq.origin, 'liquidation');
    assert.equal(liq.clientOrderId, '');
  });

  test('the account: collateral, available, equity; a short position is negative with its leverage', () => {
    const { balance, positions } = parseLighterAccount(
      {
        collateral: '1000.5',
        available_balance: '900',
        total_asset_value: '1010',
        positions: [
          {
            market_id: 1,
            sign: -1,
            position: '0.01',
            avg_entry_price: '60000',
            position_value: '601',
            unrealized_pnl: '-1',
            realized_pnl: '0',
            liquidation_price: '90000',
            initial_margin_fraction: '5.00',
          },
          { market_id: 99, sign: 1, position: '1', unrealized_pnl: '10' },
        ],
      },
      ctx,
      1,
    );
    assert.equal(balance.total.toFixed(), '1000.5');
    assert.equal(balance.available.toFixed(), '900');
    assert.equal(balance.equity.toFixed(), '1010');
    assert.equal(balance.unrealizedPnl.toFixed(), '9', 'every position counts toward the account');
    assert.equal(positions.length, 1);
    assert.equal(positions[0]?.size.toFixed(), '-0.01');
    assert.equal(positions[0]?.markPrice.toFixed(), '60100');
    assert.equal(positions[0]?.leverage.toFixed(), '20');
    assert.equal(positions[0]?.liquidationPrice?.toFixed(), '90000');
  });

  test('funding units: 8 h fraction -> per hour; history percent per hour -> signed fraction', () => {
    assert.equal(lighterHourlyRate(new Decimal('0.0008')).toFixed(), '0.0001');
    const paid = parseLighterFundingPayment(
      {
        timestamp: 1_700_000_000,
        market_id: 1,
        funding_id: 42,
        change: '-0.6',
        rate: '0.0100',
        position_size: '0.1',
        position_side: 'long',
      },
      ctx,
    );
    assert.equal(paid?.rate.toFixed(), '0.0001', 'a long that paid: positive rate');
    assert.equal(paid?.amount.toFixed(), '-0.6');
    assert.equal(paid?.markPrice.toFixed(), '60000');
    assert.equal(paid?.tsEventMs, 1_700_000_000_000);
    const shortPaid = parseLighterFundingPayment(
      {
        timestamp: 1,
        market_id: 1,
        funding_id: 1,
        change: '-0.6',
        rate: '0.01',
        position_size: '0.1',
        position_side: 'short',
      },
      ctx,
    );
    assert.equal(shortPaid?.rate.toFixed(), '-0.0001');
    assert.equal(shortPaid?.positionSize.toFixed(), '-0.1');
  });

  test('reply codes: nonce, signature, duplicate, margin, not found, rate limit', () => {
    const reason = (code: number, message = 'x') => {
      const err = lighterReplyError('lighter', code, message);
      return err instanceof VenueRejectedError ? err.reason : err.constructor.name;
    };
    assert.equal(reason(21104, 'invalid nonce'), 'invalid_nonce');
    assert.equal(reason(21120), 'invalid_signature');
    assert.equal(reason(21728), 'duplicate_client_order_id');
    assert.equal(reason(99999, 'bad nonce here'), 'invalid_nonce');
    assert.ok(lighterReplyError('lighter', 21739, 'm') instanceof InsufficientMarginError);
    assert.ok(lighterReplyError('lighter', 21715, 'm') instanceof VenueOrderNotFoundError);
    assert.ok(lighterReplyError('lighter', 23000, 'm') instanceof RateLimitedError);
  });
});
