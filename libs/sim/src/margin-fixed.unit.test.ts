/** The integer "surely above maintenance" answer against margin.ts's Decimal one, on random accounts and at the edge. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ZERO } from '@perpmesh/core';
import { type CostScale, costScale, InstrumentScale, moneyDecimals } from './fixed.js';
import { crossMargin, type InstrumentMarginInput, isBelowMaintenance } from './margin.js';
import {
  baseUnits,
  type FixedMarginPart,
  type MaintenanceScale,
  maintenanceScale,
  maintenanceTermUnits,
  positionCoefficient,
  surelyAboveMaintenance,
  surelyFitsInitialMargin,
} from './margin-fixed.js';
import { venuePreset } from './presets.js';
import { SimRng } from './rng.js';
import { d } from './test-helpers.js';

const lighter = venuePreset('paper-lighter'); // BTC tick 0.1 / lot 0.00001 / MMR 1.2%, ETH others
const scale = maintenanceScale(lighter.instruments) as MaintenanceScale;

interface Holding {
  readonly instrumentId: string;
  readonly lots: number;
  readonly costBasis: string;
  readonly markTicks: number;
}

/** The integer answer and margin.ts's, for a wallet and holdings. */
function both(
  wallet: string,
  holdings: readonly Holding[],
): { surely: boolean; below: boolean; room: string } {
  let walletLessCosts = d(wallet);
  const terms: { coefficient: bigint; markTicks: number }[] = [];
  const inputs = holdings.map((h) => {
    const spec = lighter.instruments.find((i) => i.instrumentId === h.instrumentId);
    assert.ok(spec);
    const inst = scale.instruments.get(h.instrumentId);
    assert.ok(inst);
    walletLessCosts = walletLessCosts.minus(h.costBasis);
    terms.push({ coefficient: positionCoefficient(h.lots, inst), markTicks: h.markTicks });
    return {
      size: spec.lotSize.mul(h.lots),
      costBasis: d(h.costBasis),
      mark: spec.tickSize.mul(h.markTicks),
      maintenanceMarginRate: spec.maintenanceMarginRate,
      leverage: 10,
      buyNotional: ZERO,
      sellNotional: ZERO,
    };
  });
  const m = crossMargin(d(wallet), inputs);
  return {
    surely: surelyAboveMaintenance(baseUnits(walletLessCosts, scale), terms),
    below: isBelowMaintenance(m),
    room: m.equity.minus(m.maintenanceMargin).toFixed(),
  };
}

describe('integer maintenance check (margin-fixed.ts)', () => {
  test('the scale: powers of ten only', () => {
    assert.ok(scale.decimals >= 9, `10^-${scale.decimals}: lot x tick x rate of BTC is 10^-9`);
    const odd = venuePreset('paper', {
      instruments: [{ ...venuePreset('paper').instruments[0]!, tickSize: d('0.5') }],
    });
    assert.equal(maintenanceScale(odd.instruments), undefined);
  });

  test('surely above only when margin.ts says not below; sure whenever the room is clear', () => {
    const rng = SimRng.fromSeed(11);
    let sure = 0;
    for (let i = 0; i < 2000; i++) {
      const holdings: Holding[] = [];
      for (const [instrumentId, price] of [
        ['BTC-USDC-PERP', 600_000],
        ['ETH-USDC-PERP', 300_000],
      ] as const) {
        if (rng.chance(0.2)) continue;
        const lots = rng.int(-50_000, 50_000);
        const entryTicks = price + rng.int(-30_000, 30_000);
        const spec = lighter.instruments.find((s) => s.instrumentId === instrumentId);
        assert.ok(spec);
        // Cost basis as fills leave it: lots x entry price, plus a settled rounding residue.
        const cost = spec.lotSize
          .mul(lots)
          .mul(spec.tickSize.mul(entryTicks))
          .plus(d(rng.int(-99, 99)).div(1e6));
        holdings.push({
          instrumentId,
          lots,
          costBasis: cost.toFixed(),
          markTicks: price + rng.int(-60_000, 60_000),
        });
      }
      const wallet = d(rng.int(0, 40_000))
        .plus(d(rng.int(0, 999_999)).div(1e6))
        .toFixed();
      const r = both(wallet, holdings);
      if (r.surely) {
        sure++;
        assert.equal(r.below, false, `surely above but below: wallet ${wallet}, room ${r.room}`);
      } else if (d(r.room).gt('0.000001')) {
        assert.fail(`a clear room of ${r.room} was not found sure`);
      }
    }
    assert.ok(sure > 500, `only ${sure} of 2000 accounts were sure`);
  });

  test('at the edge: equity equal to maintenance is safe for margin.ts, and not sure here', () => {
    // 1 BTC long (100,000 lots) at 50,000, mark 50,000: maintenance 600, uPnL 0.
    const holding = { instrumentId: 'BTC-USDC-PERP', lots: 100_000, costBasis: '50000', markTicks: 500_000 };
    const exact = both('600', [holding]);
    assert.equal(exact.below, false);
    assert.equal(exact.surely, false);
    const below = both('599.999999', [holding]);
    assert.equal(below.below, true);
    assert.equal(below.surely, false);
    assert.equal(both('600.000001', [holding]).surely, true);
    // A mark off the grid is never sure.
    assert.equal(both('1000000', [{ ...holding, markTicks: Number.NaN }]).surely, false);
  });
});

describe('surelyFitsInitialMargin', () => {
  const instruments = lighter.instruments.map((spec) => ({ spec, iscale: new InstrumentScale(spec) }));
  const decimals = moneyDecimals(
    instruments.map((i) => i.iscale),
    lighter.settlementDecimals,
  ) as number;
  const unit = d('1').div(d('10').pow(decimals));

  /** Random parts, the integer answer and margin.ts's available margin. */
  function draw(rng: SimRng, walletUnits: bigint) {
    const parts: FixedMarginPart[] = [];
    const inputs: InstrumentMarginInput[] = [];
    for (const { spec, iscale } of instruments) {
      const cost = costScale(iscale, lighter.settlementDecimals, decimals) as CostScale;
      const lots = rng.int(-20_000, 20_000);
      const markTicks = rng.int(1, 1_000_000);
      const costUnits =
        BigInt(lots) * BigInt(rng.int(1, 1_000_000)) * cost.notionalFactor + BigInt(rng.int(-9, 9));
      const buyUnits = BigInt(rng.int(0, 5_000)) * BigInt(markTicks);
      const sellUnits = BigInt(rng.int(0, 5_000)) * BigInt(markTicks);
      const leverage = rng.int(1, 50);
      parts.push({
        lots,
        markTicks,
        costUnits,
        buyUnits,
        sellUnits,
        leverage,
        notionalFactor: cost.notionalFactor,
      });
      inputs.push({
        size: iscale.size(lots),
        costBasis: unit.mul(costUnits.toString()),
        mark: iscale.price(markTicks),
        maintenanceMarginRate: spec.maintenanceMarginRate,
        leverage,
        buyNotional: iscale.notional(buyUnits),
        sellNotional: iscale.notional(sellUnits),
      });
    }
    const available = crossMargin(unit.mul(walletUnits.toString()), inputs).available;
    return { fixed: surelyFitsInitialMargin(walletUnits, parts), available, parts };
  }

  test('says yes only where the Decimal check passes, and for most accounts far from the limit', () => {
    const rng = SimRng.fromSeed(5);
    let yes = 0;
    let farFromLimit = 0;
    for (let i = 0; i < 3000; i++) {
      const walletUnits = BigInt(rng.int(0, 2 ** 40)) * 10n ** BigInt(rng.int(0, decimals));
      const { fixed, available } = draw(rng, walletUnits);
      if (fixed) {
        yes++;
        assert.ok(!available.isNeg(), `integer yes, Decimal available ${available.toFixed()}`);
      }
      if (available.gt(unit.mul(10))) farFromLimit++;
    }
    assert.ok(yes > 0 && yes >= farFromLimit * 0.99, `${yes} yes of ${farFromLimit} far from the limit`);
  });

  test('at the edge: exactly enough is not "surely"; two units more is', () => {
    const rng = SimRng.fromSeed(8);
    const { available, parts } = draw(rng, 0n);
    // Wallet units that leave the Decimal available margin at exactly 0 (when it lands on the grid).
    const need = BigInt(available.neg().div(unit).toDecimalPlaces(0, 2).toFixed()); // ceil
    assert.equal(surelyFitsInitialMargin(need, parts), false);
    assert.equal(surelyFitsInitialMargin(need + 3n, parts), true);
  });
});

describe('maintenanceTermUnits', () => {
  test('is the coefficient x mark ticks, in floating point only where that is exact', () => {
    const rng = SimRng.fromSeed(9);
    for (const id of ['BTC-USDC-PERP', 'ETH-USDC-PERP']) {
      const inst = scale.instruments.get(id);
      assert.ok(inst);
      const cases: [number, number][] = [
        [0, 1],
        [Number.MAX_SAFE_INTEGER, 3],
        [-Number.MAX_SAFE_INTEGER, 2 ** 40],
        [2 ** 30, 2 ** 30],
      ];
      for (let i = 0; i < 2_000; i++) cases.push([rng.int(-(2 ** 31), 2 ** 31), rng.int(1, 2 ** 31)]);
      for (const [lots, markTicks] of cases) {
        assert.equal(
          maintenanceTermUnits(lots, markTicks, inst),
          positionCoefficient(lots, inst) * BigInt(markTicks),
          `${id} ${lots} lots at ${markTicks} ticks`,
        );
      }
    }
  });
});
