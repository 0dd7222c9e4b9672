/**
 * Property tests over random command sequences on one venue: money is conserved, no
 * fill happens outside the book, funding is paid exactly, reduce-only never increases a
 * position, and an account is liquidated exactly when equity < maintenance margin.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal, roundToStep, type Side, ZERO } from '@perpmesh/core';
import fc from 'fast-check';
import {
  FEE_ACCOUNT_ID,
  type FillEvent,
  type FundingPaymentEvent,
  type FundingSettledEvent,
  INSURANCE_ACCOUNT_ID,
  type LiquidationEvent,
  type SimEvent,
  type SimExchange,
} from './index.js';
import { BTC, ETH, venue } from './test-helpers.js';

const TRADERS = ['mm', 'a0', 'a1', 'a2', 'a3'] as const;
const INSTRUMENTS = [BTC, ETH] as const;
const HOUSE = new Set([FEE_ACCOUNT_ID, INSURANCE_ACCOUNT_ID]);

type Command =
  | {
      kind: 'place';
      account: number;
      instrument: number;
      side: Side;
      type: 'limit' | 'market';
      tif: 'gtc' | 'ioc' | 'fok' | 'post_only';
      offsetBps: number;
      notionalUsd: number;
      reduceOnly: boolean;
    }
  | { kind: 'cancel'; account: number; pick: number }
  | { kind: 'cancelAll'; account: number }
  | { kind: 'requote' }
  | { kind: 'mark'; instrument: number; moveBps: number; premiumBps: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'leverage'; account: number; instrument: number; leverage: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('place' as const),
      account: fc.integer({ min: 0, max: TRADERS.length - 1 }),
      instrument: fc.integer({ min: 0, max: 1 }),
      side: fc.constantFrom<Side>('buy', 'sell'),
      type: fc.constantFrom('limit' as const, 'market' as const),
      tif: fc.constantFrom('gtc' as const, 'ioc' as const, 'fok' as const, 'post_only' as const),
      offsetBps: fc.integer({ min: -40, max: 40 }),
      notionalUsd: fc.integer({ min: 20, max: 40_000 }),
      // One order in four is reduce-only.
      reduceOnly: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('cancel' as const),
      account: fc.integer({ min: 0, max: TRADERS.length - 1 }),
      pick: fc.nat(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('cancelAll' as const),
      account: fc.integer({ min: 0, max: 4 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('requote' as const) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('mark' as const),
      instrument: fc.integer({ min: 0, max: 1 }),
      // Mostly small moves, sometimes a crash or a squeeze.
      moveBps: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: -150, max: 150 }) },
        { weight: 1, arbitrary: fc.integer({ min: -1500, max: 1500 }) },
      ),
      premiumBps: fc.integer({ min: -30, max: 30 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 90_000 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('leverage' as const),
      account: fc.integer({ min: 0, max: TRADERS.length - 1 }),
      instrument: fc.integer({ min: 0, max: 1 }),
      leverage: fc.integer({ min: 1, max: 100 }),
    }),
  },
);

const collaterals = fc.tuple(
  fc.integer({ min: 200, max: 20_000 }),
  fc.integer({ min: 200, max: 20_000 }),
  fc.integer({ min: 200, max: 20_000 }),
  fc.integer({ min: 200, max: 20_000 }),
);

function setup(traderCollateral: readonly number[]): SimExchange {
  // A one-minute funding interval so random runs cross many settlements.
  const ex = venue('paper', {
    overrides: {
      funding: {
        intervalMs: 60_000,
        interestRate: '0.0001',
        premiumClamp: '0.0005',
        divisor: '1',
        capPerInterval: '0.003',
        rateDecimals: 8,
      },
      settlementDecimals: 6,
    },
  });
  ex.deposit('mm', '2000000');
  traderCollateral.forEach((c, i) => {
    ex.deposit(`a${i}`, String(c));
    // High leverage, so ordinary moves reach maintenance margin.
    for (const id of INSTRUMENTS) ex.setLeverage({ accountId: `a${i}`, instrumentId: id, leverage: 50 });
  });
  ladder(ex);
  ex.drainEvents();
  return ex;
}

/** The market maker (re)quotes 10 levels a side, 5 bps apart, around each mark. */
function ladder(ex: SimExchange): void {
  ex.batch(() => {
    ex.cancelAllOrders({ accountId: 'mm' });
    for (const id of INSTRUMENTS) {
      const mark = ex.markPrice(id) as Decimal;
      const spec = ex.markets().find((s) => s.instrumentId === id)!;
      for (let level = 1; level <= 10; level++) {
        for (const side of ['buy', 'sell'] as const) {
          const price = roundToStep(
            mark.mul(1 + (side === 'buy' ? -1 : 1) * level * 0.0005),
            spec.tickSize,
            'nearest',
          );
          ex.placeOrder({
            accountId: 'mm',
            instrumentId: id,
            side,
            type: 'limit',
            price,
            size: roundToStep(new Decimal(20_000).div(mark), spec.lotSize, 'down'),
          });
        }
      }
    }
  });
}

function assertLedger(ex: SimExchange): void {
  const l = ex.ledger();
  assert.equal(l.equity.toFixed(), l.netDeposits.toFixed(), 'equity sums to net deposits');
  assert.equal(l.realizedPnl.plus(l.unrealizedPnl).toFixed(), '0', 'trading PnL is zero-sum');
  assert.equal(l.fundingNet.toFixed(), '0', 'funding is zero-sum');
  assert.equal(l.transfersNet.toFixed(), l.feesPaid.toFixed(), 'fees paid are fee income');
  for (const [id, net] of l.netPosition) assert.equal(net.toFixed(), '0', `positions net to zero on ${id}`);
  assert.equal(
    l.walletBalances.plus(l.unrealizedPnl).toFixed(),
    l.netDeposits.toFixed(),
    'wallets + uPnL = deposits',
  );
}

function assertNoneBelowMaintenance(ex: SimExchange): void {
  for (const id of ex.accountIds()) {
    if (HOUSE.has(id)) continue;
    const m = ex.marginSummary(id);
    if (ex.positions(id).length > 0) {
      assert.ok(m.equity.gte(m.maintenanceMargin), `${id} holds positions with equity < maintenance margin`);
    }
  }
}

/** Equity and maintenance margin the account would have at `newMark` on `instrument`, computed apart from the engine. */
function projected(ex: SimExchange, accountId: string, instrument: string, newMark: Decimal) {
  let equity = ex.balance(accountId).walletBalance;
  let mm = ZERO;
  for (const p of ex.positions(accountId)) {
    const spec = ex.markets().find((s) => s.instrumentId === p.instrumentId)!;
    const mark = p.instrumentId === instrument ? newMark : p.markPrice;
    equity = equity.plus(p.unrealizedPnl).plus(p.size.mul(mark.minus(p.markPrice)));
    mm = mm.plus(p.size.abs().mul(mark).mul(spec.maintenanceMarginRate));
  }
  return { equity, mm };
}

function runCommand(ex: SimExchange, cmd: Command, reduceOnlyIds: Set<string>): SimEvent[] {
  switch (cmd.kind) {
    case 'place': {
      const accountId = TRADERS[cmd.account] as string;
      const instrumentId = INSTRUMENTS[cmd.instrument] as string;
      const spec = ex.markets().find((s) => s.instrumentId === instrumentId)!;
      const mark = ex.markPrice(instrumentId) as Decimal;
      const price = roundToStep(mark.mul(1 + cmd.offsetBps / 10_000), spec.tickSize, 'nearest');
      const size = Decimal.max(
        spec.lotSize,
        roundToStep(new Decimal(cmd.notionalUsd).div(mark), spec.lotSize, 'down'),
      );
      const before = ex.bookSnapshot(instrumentId, 1_000_000);
      const positionBefore = ex.position(accountId, instrumentId).size;
      const tif = cmd.type === 'market' ? (cmd.tif === 'fok' ? 'fok' : 'ioc') : cmd.tif;
      const result = ex.placeOrder({
        accountId,
        instrumentId,
        side: cmd.side,
        type: cmd.type,
        timeInForce: tif,
        ...(cmd.type === 'limit' ? { price } : {}),
        size,
        reduceOnly: cmd.reduceOnly,
      });
      const events = ex.drainEvents();
      if (!result.ok) {
        if (cmd.reduceOnly && result.reject.code === 'reduce_only_would_increase') {
          assert.ok(positionBefore.isZero() || positionBefore.isPos() === (cmd.side === 'buy'));
        }
        return events;
      }
      const order = result.order;
      if (order.reduceOnly) {
        reduceOnlyIds.add(order.venueOrderId);
        assert.ok(order.size.lte(positionBefore.abs()), 'reduce-only capped to the position');
      }
      // No fill outside the book: every taker fill is at a level that was there, within the limit.
      const opposite = new Map(
        (cmd.side === 'buy' ? before.asks : before.bids).map((l) => [l.price.toFixed(), l.size]),
      );
      const band = ex.config.marketProtectionBand;
      const takerFills = events.filter(
        (e): e is FillEvent => e.type === 'fill' && e.venueOrderId === order.venueOrderId,
      );
      let last: Decimal | undefined;
      for (const f of takerFills) {
        const levelSize = opposite.get(f.price.toFixed());
        assert.ok(levelSize !== undefined, `fill at ${f.price.toFixed()} was not a level of the book`);
        assert.ok(f.size.lte(levelSize), 'fill larger than the level');
        opposite.set(f.price.toFixed(), levelSize.minus(f.size));
        if (cmd.type === 'limit') {
          assert.ok(
            cmd.side === 'buy' ? f.price.lte(price) : f.price.gte(price),
            'fill through the limit price',
          );
        } else {
          // The band only bounds the adverse side: mark x (1 + band) for buys, mark x (1 - band) for sells.
          const worst = cmd.side === 'buy' ? mark.mul(band.plus(1)) : mark.mul(new Decimal(1).minus(band));
          assert.ok(
            cmd.side === 'buy' ? f.price.lte(worst) : f.price.gte(worst),
            'market fill beyond the protection band',
          );
        }
        if (last !== undefined)
          assert.ok(cmd.side === 'buy' ? f.price.gte(last) : f.price.lte(last), 'best price first');
        last = f.price;
      }
      if (tif === 'post_only') assert.equal(takerFills.length, 0);
      if (tif === 'fok') assert.ok(order.status === 'filled' || order.filledSize.isZero());
      return events;
    }
    case 'cancel': {
      const accountId = TRADERS[cmd.account] as string;
      const open = ex.openOrders(accountId);
      if (open.length > 0) {
        const target = open[cmd.pick % open.length]!;
        const r = ex.cancelOrder({ accountId, venueOrderId: target.venueOrderId });
        assert.ok(r.ok);
      }
      return ex.drainEvents();
    }
    case 'requote':
      ladder(ex);
      return ex.drainEvents();
    case 'cancelAll':
      ex.cancelAllOrders({ accountId: TRADERS[cmd.account] as string });
      return ex.drainEvents();
    case 'mark': {
      const id = INSTRUMENTS[cmd.instrument] as string;
      const spec = ex.markets().find((s) => s.instrumentId === id)!;
      const mark = ex.markPrice(id) as Decimal;
      const newMark = Decimal.max(
        spec.tickSize,
        roundToStep(mark.mul(1 + cmd.moveBps / 10_000), spec.tickSize, 'nearest'),
      );
      const index = newMark.mul(1 - cmd.premiumBps / 10_000);
      // Who must be liquidated at the new mark, and who must not.
      const expected = new Set<string>();
      for (const acc of ex.accountIds()) {
        if (HOUSE.has(acc) || ex.positions(acc).length === 0) continue;
        const p = projected(ex, acc, id, newMark);
        if (p.equity.lt(p.mm)) expected.add(acc);
      }
      ex.setPrices(id, { markPrice: newMark, indexPrice: index });
      const events = ex.drainEvents();
      const liquidated = new Set(
        events.filter((e): e is LiquidationEvent => e.type === 'liquidation').map((e) => e.accountId),
      );
      assert.deepEqual(
        [...liquidated].sort(),
        [...expected].sort(),
        'liquidated exactly those below maintenance',
      );
      return events;
    }
    case 'advance':
      ex.advance(ex.nowMs + cmd.ms);
      return ex.drainEvents();
    case 'leverage':
      ex.setLeverage({
        accountId: TRADERS[cmd.account] as string,
        instrumentId: INSTRUMENTS[cmd.instrument] as string,
        leverage: cmd.leverage,
      });
      return ex.drainEvents();
  }
}

function checkEvents(events: readonly SimEvent[], reduceOnlyIds: ReadonlySet<string>): void {
  for (const e of events) {
    if (e.type === 'fill' && reduceOnlyIds.has(e.venueOrderId)) {
      assert.ok(e.positionAfter.abs().lte(e.positionBefore.abs()), 'reduce-only fill increased the position');
      assert.ok(
        e.positionAfter.isZero() || e.positionAfter.isPos() === e.positionBefore.isPos(),
        'reduce-only flipped',
      );
    }
    if (e.type === 'liquidation') {
      assert.ok(e.equity.lt(e.maintenanceMargin), 'liquidated with equity >= maintenance margin');
    }
    if (e.type === 'funding_settled') {
      const settled: FundingSettledEvent = e;
      const payments = events.filter(
        (p): p is FundingPaymentEvent =>
          p.type === 'funding_payment' &&
          p.instrumentId === settled.instrumentId &&
          p.fundingTimeMs === settled.fundingTimeMs,
      );
      const paid = payments.filter((p) => p.amount.isNeg()).reduce((s, p) => s.minus(p.amount), ZERO);
      const received = payments.filter((p) => p.amount.isPos()).reduce((s, p) => s.plus(p.amount), ZERO);
      assert.equal(paid.toFixed(), received.toFixed(), 'longs and shorts funding differ');
      assert.equal(paid.toFixed(), settled.totalPaid.toFixed());
      for (const p of payments) {
        const payer = settled.rate.isPos() ? p.positionSize.isPos() : p.positionSize.isNeg();
        assert.equal(p.amount.isNeg(), payer && !p.amount.isZero(), 'the wrong side paid');
      }
    }
  }
}

describe('exchange properties over random command sequences', () => {
  test('conservation, fills inside the book, exact funding, reduce-only, liquidation iff equity < MM', () => {
    let fundingSettlements = 0;
    let fillsSeen = 0;
    fc.assert(
      fc.property(
        collaterals,
        fc.array(command, { minLength: 10, maxLength: 80, size: 'max' }),
        (cash, commands) => {
          const ex = setup(cash);
          const reduceOnlyIds = new Set<string>();
          assertLedger(ex);
          for (const cmd of commands) {
            const events = runCommand(ex, cmd, reduceOnlyIds);
            checkEvents(events, reduceOnlyIds);
            assertLedger(ex);
            assertNoneBelowMaintenance(ex);
            fundingSettlements += events.filter((e) => e.type === 'funding_settled').length;
            fillsSeen += events.filter((e) => e.type === 'fill').length;
          }
        },
      ),
      { numRuns: 60 },
    );
    // The generators must actually reach the interesting cases (liquidations are
    // rare here; the next test drives them on purpose).
    assert.ok(fundingSettlements > 0, 'no funding settled in any run');
    assert.ok(fillsSeen > 100, `only ${fillsSeen} fills`);
  });
});

describe('liquidation happens exactly when equity < maintenance margin', () => {
  test('a leveraged position along a random mark path, then one tick either side of the threshold', () => {
    let liquidatedOnPath = 0;
    let thresholdChecks = 0;
    fc.assert(
      fc.property(
        fc.record({
          collateral: fc.integer({ min: 100, max: 50_000 }),
          leverage: fc.integer({ min: 2, max: 125 }),
          /** Share of the largest position the margin allows, in percent. */
          usePct: fc.integer({ min: 30, max: 95 }),
          side: fc.constantFrom<Side>('buy', 'sell'),
          path: fc.array(fc.integer({ min: -250, max: 250 }), { minLength: 1, maxLength: 30, size: 'max' }),
        }),
        ({ collateral, leverage, usePct, side, path }) => {
          const ex = setup([collateral, 1000, 1000, 1000]);
          assert.ok(ex.setLeverage({ accountId: 'a0', instrumentId: BTC, leverage }).ok);
          const mark = ex.markPrice(BTC) as Decimal;
          const notional = new Decimal(collateral).mul(leverage).mul(usePct).div(100);
          const size = Decimal.max(
            new Decimal('0.002'),
            roundToStep(notional.div(mark).mul('0.97'), new Decimal('0.001'), 'down'),
          );
          const placed = ex.placeOrder({ accountId: 'a0', instrumentId: BTC, side, type: 'market', size });
          ex.drainEvents();
          fc.pre(placed.ok && !placed.order.filledSize.isZero());
          const step = (moveBps: number) => {
            const events = runCommand(ex, { kind: 'mark', instrument: 0, moveBps, premiumBps: 0 }, new Set());
            checkEvents(events, new Set());
            assertLedger(ex);
            assertNoneBelowMaintenance(ex);
            return events.some((e) => e.type === 'liquidation' && e.accountId === 'a0');
          };
          for (const moveBps of path) {
            if (step(moveBps)) {
              liquidatedOnPath += 1;
              return;
            }
          }
          // Still open: solve equity(m) = MM(m) apart from the engine and probe one tick either side.
          const pos = ex.position('a0', BTC);
          const tick = new Decimal('0.1');
          const mmr = new Decimal('0.004');
          const wallet = ex.balance('a0').walletBalance;
          const threshold = pos.size
            .mul(pos.markPrice)
            .minus(wallet)
            .minus(pos.unrealizedPnl)
            .div(pos.size.minus(pos.size.abs().mul(mmr)));
          fc.pre(threshold.gt(tick.mul(2)));
          const long = pos.size.isPos();
          const safe = roundToStep(threshold, tick, long ? 'up' : 'down');
          const unsafe = roundToStep(threshold, tick, long ? 'down' : 'up');
          const beyond = unsafe.eq(threshold) ? (long ? unsafe.minus(tick) : unsafe.plus(tick)) : unsafe;
          const bps = (target: Decimal) => target.div(ex.markPrice(BTC) as Decimal);
          ex.setPrices(BTC, { markPrice: safe, indexPrice: safe });
          const atSafe = ex.drainEvents();
          assert.equal(
            atSafe.filter((e) => e.type === 'liquidation').length,
            0,
            `liquidated at ${safe.toFixed()}`,
          );
          assert.ok(bps(beyond).gt(0));
          ex.setPrices(BTC, { markPrice: beyond, indexPrice: beyond });
          const atBeyond = ex.drainEvents();
          assert.equal(
            atBeyond.filter((e) => e.type === 'liquidation' && e.accountId === 'a0').length,
            1,
            `not liquidated at ${beyond.toFixed()} (threshold ${threshold.toFixed()})`,
          );
          assertLedger(ex);
          thresholdChecks += 1;
        },
      ),
      { numRuns: 80 },
    );
    assert.ok(thresholdChecks >= 10, `only ${thresholdChecks} threshold probes`);
    assert.ok(liquidatedOnPath >= 1, 'no liquidation along any random path');
  });
});
