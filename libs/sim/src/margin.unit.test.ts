/** Cross-margin math on hand-computed numbers: per instrument, summed, liquidation trigger and price. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal, ZERO } from '@perpmesh/core';
import {
  crossMargin,
  type InstrumentMarginInput,
  instrumentMargin,
  isBelowMaintenance,
  liquidationCharges,
  liquidationPrice,
  type MarginSummary,
  unrealizedPnl,
  withdrawable,
} from './margin.js';
import { d } from './test-helpers.js';

const eq = (actual: Decimal, expected: string, what: string) =>
  assert.equal(actual.toFixed(), new Decimal(expected).toFixed(), what);

function btc(overrides: Partial<InstrumentMarginInput> = {}): InstrumentMarginInput {
  return {
    size: ZERO,
    costBasis: ZERO,
    mark: d('50000'),
    maintenanceMarginRate: d('0.004'),
    leverage: 10,
    buyNotional: ZERO,
    sellNotional: ZERO,
    ...overrides,
  };
}

describe('instrument margin', () => {
  test('a long: uPnL at mark, maintenance on held notional, initial on held notional / leverage', () => {
    // 0.2 BTC bought at 48 000 (cost 9 600), mark 50 000: held 10 000.
    const m = instrumentMargin(btc({ size: d('0.2'), costBasis: d('9600') }));
    eq(m.unrealizedPnl, '400', 'uPnL');
    eq(m.maintenanceMargin, '40', 'MM = 10 000 x 0.4%');
    eq(m.initialMargin, '1000', 'IM = 10 000 / 10');
  });

  test('a short has negative size and cost: uPnL is negative when the mark rose', () => {
    eq(unrealizedPnl(d('-0.1'), d('-4900'), d('50000')), '-100', 'uPnL');
  });

  test('orders that only close the position need no extra margin; the larger side beyond it does', () => {
    const long = { size: d('0.2'), costBasis: d('10000') };
    // A resting sell of 8 000 notional would only close (held 10 000): no excess.
    eq(instrumentMargin(btc({ ...long, sellNotional: d('8000') })).initialMargin, '1000', 'closing sells');
    // Sells of 13 000: 3 000 beyond the position; buys of 2 000 all add. Larger side wins.
    eq(
      instrumentMargin(btc({ ...long, sellNotional: d('13000'), buyNotional: d('2000') })).initialMargin,
      '1300',
      '(10 000 + max(3 000, 2 000)) / 10',
    );
    // Flat: the larger side's whole notional.
    eq(
      instrumentMargin(btc({ buyNotional: d('5000'), sellNotional: d('4000') })).initialMargin,
      '500',
      'flat, orders only',
    );
  });
});

describe('cross margin', () => {
  test('sums instruments; equity = wallet + uPnL; available = equity - initial margin', () => {
    const m = crossMargin(d('2000'), [
      btc({ size: d('0.2'), costBasis: d('9600') }),
      {
        size: d('-2'),
        costBasis: d('-6200'),
        mark: d('3000'),
        maintenanceMarginRate: d('0.005'),
        leverage: 20,
        buyNotional: ZERO,
        sellNotional: ZERO,
      },
    ]);
    eq(m.walletBalance, '2000', 'wallet');
    eq(m.unrealizedPnl, '600', '400 + 200');
    eq(m.equity, '2600', 'equity');
    eq(m.maintenanceMargin, '70', '40 + 6 000 x 0.5%');
    eq(m.initialMargin, '1300', '1 000 + 6 000 / 20');
    eq(m.available, '1300', 'available');
  });

  test('no instruments: everything is the wallet', () => {
    const m = crossMargin(d('10'), []);
    eq(m.equity, '10', 'equity');
    eq(m.available, '10', 'available');
    eq(m.initialMargin, '0', 'IM');
  });
});

function summary(fields: Partial<Record<keyof MarginSummary, string>>): MarginSummary {
  const v = (k: keyof MarginSummary) => d(fields[k] ?? '0');
  return {
    walletBalance: v('walletBalance'),
    unrealizedPnl: v('unrealizedPnl'),
    equity: v('equity'),
    initialMargin: v('initialMargin'),
    maintenanceMargin: v('maintenanceMargin'),
    available: v('available'),
  };
}

describe('liquidation', () => {
  test('triggers exactly when equity < maintenance margin (equal is safe)', () => {
    assert.equal(isBelowMaintenance(summary({ equity: '39.99', maintenanceMargin: '40' })), true);
    assert.equal(isBelowMaintenance(summary({ equity: '40', maintenanceMargin: '40' })), false);
    assert.equal(isBelowMaintenance(summary({ equity: '-5', maintenanceMargin: '0' })), true);
  });

  test('liquidation price: the mark where equity meets maintenance margin', () => {
    // Wallet 1 000, long 0.2 at 50 000 (cost 10 000), MMR 0.4%, mark 50 000.
    // 1 000 + 0.2p - 10 000 = 0.2p x 0.004  =>  p = 9 000 / 0.1992.
    const pos = { size: d('0.2'), costBasis: d('10000') };
    const m = crossMargin(d('1000'), [btc(pos)]);
    const p = liquidationPrice(m, pos, d('50000'), d('0.004'));
    eq(p!, '45180.72289157', 'long liquidation price');
    // At that mark the account is (just) not liquidated; a tick lower it is.
    const at = (mark: string) => crossMargin(d('1000'), [btc({ ...pos, mark: d(mark) })]);
    assert.equal(isBelowMaintenance(at('45180.73')), false);
    assert.equal(isBelowMaintenance(at('45180.72')), true);
  });

  test('a short liquidates above the mark; a long backed by more than its notional never does', () => {
    const short = { size: d('-0.2'), costBasis: d('-10000') };
    const p = liquidationPrice(crossMargin(d('1000'), [btc(short)]), short, d('50000'), d('0.004'));
    // 1 000 - 0.2p + 10 000 = 0.2p x 0.004  =>  p = 11 000 / 0.2008.
    eq(p!, '54780.87649402', 'short liquidation price');
    const long = { size: d('0.2'), costBasis: d('10000') };
    assert.equal(
      liquidationPrice(crossMargin(d('20000'), [btc(long)]), long, d('50000'), d('0.004')),
      undefined,
    );
  });

  test('charges: the fee is capped at what is left; a negative wallet is bad debt', () => {
    const rich = liquidationCharges(d('30'), d('25'));
    eq(rich.fee, '25', 'full fee');
    eq(rich.badDebt, '0', 'no bad debt');
    const poor = liquidationCharges(d('10'), d('25'));
    eq(poor.fee, '10', 'fee capped at the wallet');
    const under = liquidationCharges(d('-7'), d('25'));
    eq(under.fee, '0', 'no fee from a negative wallet');
    eq(under.badDebt, '7', 'bad debt');
  });

  test('withdrawable is the available margin, at most the wallet balance', () => {
    eq(withdrawable(summary({ available: '300', walletBalance: '1000' })), '300', 'margin-bound');
    eq(withdrawable(summary({ available: '1200', walletBalance: '1000' })), '1000', 'wallet-bound');
  });
});
