/**
 * Cross-margin account state on one simulated venue. Cash is kept as separate exact
 * ledgers (deposits, realized PnL, fees, funding, transfers) so money conservation can
 * be checked term by term. A position keeps its signed size and signed cost basis
 * (sum of size x price of what is open) rather than an average entry price, so realized
 * PnL never loses a rounding residue: realized - costBasis moves by exactly the trade's
 * cash flow on every fill.
 *
 * Fixed point: sizes are whole lots; cost bases and the ledgers are bigint units of the venue's
 * money scale (10^-decimals, fine enough for every lot x tick notional, the settlement decimals
 * and the liquidation check's scale), so a fill, a fee and the margin and liquidation checks
 * are integer work. Every rounding is the Decimal formula's, reproduced exactly; a value off
 * the grid (a deposit with more decimals, a fill at a mark off the ticks) is kept as a Decimal.
 * The Decimals (`size`, `costBasis`, the ledgers, `walletBalance()`) are built when read.
 */
import { type AccountId, Decimal, type EpochMs, type InstrumentId, ZERO } from '@perpmesh/core';
import {
  type CostScale,
  costDecimal,
  divRoundHalfEven,
  exactUnits,
  type InstrumentScale,
  moneyUnits,
  notionalUnits,
} from './fixed.js';
import {
  type InstrumentMargin,
  type InstrumentMarginInput,
  type PositionMargin,
  unrealizedPnl,
} from './margin.js';
import { type InstrumentMaintenanceScale, maintenanceTermUnits } from './margin-fixed.js';
import type { SimOrder } from './order.js';

/**
 * Beyond this a cost x lots product may have more digits than a 60-digit Decimal keeps exact
 * (the Decimal formula would round before the settlement rounding): such a close is done in
 * Decimal, as before, so the result is the same.
 */
const EXACT_PRODUCT_LIMIT = 10n ** 40n;

export class Position {
  /** Signed size in whole lots (fills are whole lots). */
  #lots = 0;
  /** The cost basis in units of `cost` (fixed point), while `#costDecimal` is undefined. */
  #costUnits = 0n;
  /**
   * The cost basis as a Decimal while it is off the fixed grid (a fill at a mark off the tick
   * grid, a scale that is not a power of ten, or a product beyond the exact range); back to
   * fixed point when the position is flat.
   */
  #costDecimal: Decimal | undefined;
  /** Views built when read; the same object until the value changes (margin caches compare identity). */
  #size: Decimal | undefined = ZERO;
  #costBasis: Decimal | undefined = ZERO;
  /** Realized PnL: money units, plus what was realized in Decimal (off the grid); the sum built when read. */
  #realizedUnits = 0n;
  #realizedDecimal: Decimal = ZERO;
  #realizedPnl: Decimal | undefined = ZERO;
  /** What the last `apply` realized in money units; undefined when it ran in Decimal (`#lastRealizedDecimal`). */
  lastRealizedUnits: bigint | undefined = 0n;
  #lastRealizedDecimal: Decimal = ZERO;
  /** `maintenanceTerm`'s last answer and its inputs. */
  #term = 0n;
  #termLots = 0;
  #termMarkTicks = Number.NaN;

  constructor(
    private readonly scale: InstrumentScale,
    private readonly cost: CostScale | undefined,
  ) {}

  /** Signed size in whole lots. */
  get lots(): number {
    return this.#lots;
  }

  /** The cost basis as its units (bigint) or, off the grid, its Decimal: equal keys (===) are equal costs. */
  get costKey(): bigint | Decimal {
    return this.costUnits ?? this.costBasis;
  }

  /** The cost basis in money units; undefined while it is kept as a Decimal (off the grid). */
  get costUnits(): bigint | undefined {
    return this.#costDecimal === undefined && this.cost !== undefined ? this.#costUnits : undefined;
  }

  get size(): Decimal {
    this.#size ??= this.scale.size(this.#lots);
    return this.#size;
  }

  /** Signed sum of size x price of what is open. */
  get costBasis(): Decimal {
    if (this.#costBasis === undefined) {
      this.#costBasis = this.#costDecimal ?? costDecimal(this.#costUnits, this.cost as CostScale);
    }
    return this.#costBasis;
  }

  /** The PnL realized so far (the same object until it changes). */
  get realizedPnl(): Decimal {
    if (this.#realizedPnl === undefined) {
      const units = costDecimal(this.#realizedUnits, this.cost as CostScale);
      this.#realizedPnl = this.#realizedDecimal.isZero() ? units : units.plus(this.#realizedDecimal);
    }
    return this.#realizedPnl;
  }

  /**
   * The liquidation check's term of this position at `markTicks` (margin-fixed.ts
   * `maintenanceTermUnits`), kept while the lots and the mark stay (after a price
   * update every account with positions is checked).
   */
  maintenanceTerm(markTicks: number, inst: InstrumentMaintenanceScale): bigint {
    if (this.#termLots !== this.#lots || this.#termMarkTicks !== markTicks) {
      this.#term = maintenanceTermUnits(this.#lots, markTicks, inst);
      this.#termLots = this.#lots;
      this.#termMarkTicks = markTicks;
    }
    return this.#term;
  }

  /** What the last `apply`/`applyFill` realized. */
  get lastRealized(): Decimal {
    const units = this.lastRealizedUnits;
    return units === undefined ? this.#lastRealizedDecimal : costDecimal(units, this.cost as CostScale);
  }

  /** Unrealized PnL at `mark`: size x mark - cost basis. */
  unrealizedPnl(mark: Decimal): Decimal {
    return unrealizedPnl(this.size, this.costBasis, mark);
  }

  /**
   * Applies a fill of signed `lots` (> 0 buy) at `price` (`priceTicks` its whole ticks, NaN
   * when off the grid); returns the PnL realized. A partial close removes the cost basis
   * pro rata, rounded half-even to `roundDecimals` (the choice cannot leak money: whatever is
   * removed from the basis is what realizes). In fixed point when the price is on the grid,
   * with exactly the Decimal formula's result (account.unit.test.ts: against it on random fills).
   */
  apply(lots: number, price: Decimal, priceTicks: number, roundDecimals: number): Decimal {
    this.applyFill(lots, price, priceTicks, roundDecimals);
    return this.lastRealized;
  }

  /** `apply` without building the realized Decimal (`lastRealizedUnits`, `lastRealized` tell it). */
  applyFill(lots: number, price: Decimal, priceTicks: number, roundDecimals: number): void {
    const cost = this.cost;
    if (
      cost !== undefined &&
      this.#costDecimal === undefined &&
      cost.settlementDecimals === roundDecimals &&
      Number.isSafeInteger(priceTicks) &&
      this.#applyFixed(lots, priceTicks, cost)
    ) {
      return;
    }
    this.lastRealizedUnits = undefined;
    this.#lastRealizedDecimal = this.#applyDecimal(lots, price, roundDecimals);
  }

  /** `apply` in units; false (nothing changed) when a product leaves the exact range. */
  #applyFixed(lots: number, priceTicks: number, cost: CostScale): boolean {
    const held = this.#lots;
    if (held === 0 || held < 0 === lots < 0) {
      this.#set(held + lots, this.#costUnits + moneyUnits(lots, priceTicks, cost));
      this.lastRealizedUnits = 0n;
      return true;
    }
    const heldAbs = Math.abs(held);
    const closeAbs = Math.min(Math.abs(lots), heldAbs);
    let removed = this.#costUnits;
    if (closeAbs !== heldAbs) {
      const product = this.#costUnits * BigInt(closeAbs);
      if (product >= EXACT_PRODUCT_LIMIT || product <= -EXACT_PRODUCT_LIMIT) return false;
      removed = divRoundHalfEven(product, BigInt(heldAbs) * cost.settlementStep) * cost.settlementStep;
    }
    const closeLots = lots < 0 ? -closeAbs : closeAbs;
    const realizedUnits = moneyUnits(-closeLots, priceTicks, cost) - removed;
    // The rest of a fill that flips the position opens the other side at this price.
    const rest = lots - closeLots;
    const left = this.#costUnits - removed;
    this.#set(held + lots, rest === 0 ? left : left + moneyUnits(rest, priceTicks, cost));
    this.lastRealizedUnits = realizedUnits;
    if (realizedUnits !== 0n) {
      this.#realizedUnits += realizedUnits;
      this.#realizedPnl = undefined;
    }
    return true;
  }

  #set(lots: number, costUnits: bigint): void {
    this.#lots = lots;
    this.#costUnits = costUnits;
    this.#size = undefined;
    this.#costBasis = undefined;
  }

  /** The Decimal formula (off the grid); fixed point again once flat. */
  #applyDecimal(lots: number, price: Decimal, roundDecimals: number): Decimal {
    this.lastRealizedUnits = undefined;
    const qty = this.scale.size(lots);
    const size = this.size;
    let costBasis = this.costBasis;
    let realized = ZERO;
    if (size.isZero() || size.isNeg() === qty.isNeg()) {
      costBasis = costBasis.plus(qty.mul(price));
    } else {
      const closeAbs = Decimal.min(qty.abs(), size.abs());
      const closeQty = qty.isNeg() ? closeAbs.neg() : closeAbs;
      const removed = closeAbs.eq(size.abs())
        ? costBasis
        : costBasis.mul(closeAbs).div(size.abs()).toDecimalPlaces(roundDecimals, Decimal.ROUND_HALF_EVEN);
      realized = closeQty.neg().mul(price).minus(removed);
      costBasis = costBasis.minus(removed);
      if (!realized.isZero()) {
        this.#realizedDecimal = this.#realizedDecimal.plus(realized);
        this.#realizedPnl = undefined;
      }
      const rest = qty.minus(closeQty);
      if (!rest.isZero()) costBasis = costBasis.plus(rest.mul(price));
    }
    this.#lots += lots;
    this.#size = undefined;
    if (this.#lots === 0 && costBasis.isZero() && this.cost !== undefined) {
      this.#costDecimal = undefined;
      this.#costUnits = 0n;
      this.#costBasis = ZERO;
    } else {
      this.#costDecimal = costBasis;
      this.#costBasis = costBasis;
    }
    return realized;
  }
}

/**
 * Margin-relevant sums of an account's resting, non-reduce-only orders on one instrument:
 * notional at order price, exact in lots x ticks (fixed.ts), with its Decimal made only
 * when margin reads it after a change.
 */
export class OpenExposure {
  #buyUnits = 0n;
  #sellUnits = 0n;
  #buyNotional: Decimal | undefined = ZERO;
  #sellNotional: Decimal | undefined = ZERO;

  constructor(private readonly scale: InstrumentScale) {}

  /** Adds (`sign` 1) or removes (-1) `lots` of a resting order (`units`: their notional, when known). */
  add(order: SimOrder, lots: number, sign: 1 | -1, units = notionalUnits(lots, order.priceTicks)): void {
    if (order.side === 'buy') {
      this.#buyUnits += sign > 0 ? units : -units;
      this.#buyNotional = undefined;
    } else {
      this.#sellUnits += sign > 0 ? units : -units;
      this.#sellNotional = undefined;
    }
  }

  /** Resting buy notional in units of tick x lot (exact). */
  get buyUnits(): bigint {
    return this.#buyUnits;
  }

  get sellUnits(): bigint {
    return this.#sellUnits;
  }

  /** Resting buy notional; the same Decimal object until it changes (margin.ts reuses parts by identity). */
  get buyNotional(): Decimal {
    this.#buyNotional ??= this.scale.notional(this.#buyUnits);
    return this.#buyNotional;
  }

  get sellNotional(): Decimal {
    this.#sellNotional ??= this.scale.notional(this.#sellUnits);
    return this.#sellNotional;
  }
}

export type WalletLedger = 'collateral' | 'realizedPnl' | 'feesPaid' | 'fundingNet' | 'transfersNet';

/**
 * One cash ledger in the venue's money units (bigint), plus what is off that grid (a deposit
 * with more decimals than the scale, a liquidation charge capped at such a wallet) as a
 * Decimal: usually zero, so fills, fees and funding move integers only. Its Decimal is built
 * when read and is the same object until the ledger changes.
 */
class Ledger {
  units = 0n;
  offGrid: Decimal = ZERO;
  #value: Decimal | undefined = ZERO;

  constructor(private readonly unit: Decimal | undefined) {}

  value(): Decimal {
    if (this.#value === undefined) {
      const onGrid = this.units === 0n ? ZERO : (this.unit as Decimal).mul(this.units.toString());
      this.#value = this.offGrid.isZero() ? onGrid : onGrid.plus(this.offGrid);
    }
    return this.#value;
  }

  addUnits(units: bigint): void {
    this.units += units;
    this.#value = undefined;
  }

  addOffGrid(amount: Decimal): void {
    this.offGrid = this.offGrid.plus(amount);
    this.#value = undefined;
  }
}

/**
 * An account's room for resting notional on one instrument, in integers: while every other
 * margin input is unchanged (`inputs`, compared with ===: numbers, bigints, immutable Decimals), an
 * order on the instrument fits when held + open-order excess (units of tick x lot) stays
 * below `capUnits`. Only the instrument's resting orders may change in between.
 */
export interface MarginHeadroom {
  readonly instrumentId: InstrumentId;
  /** The wallet's version, then per instrument: lots, cost basis (units), mark, leverage, and (other instruments) resting notional units. */
  readonly inputs: readonly unknown[];
  /** Signed position in lots and the mark in ticks (of `instrumentId`). */
  readonly positionLots: number;
  readonly markTicks: number;
  /** Undefined until a second order with the same inputs asks (then worked out once). */
  readonly capUnits: bigint | undefined;
}

export class Account {
  readonly #ledgers: Readonly<Record<WalletLedger, Ledger>>;
  /** walletBalance() until a ledger changes. */
  #wallet: Decimal | undefined = ZERO;
  /** The wallet balance's part in money units and its part off their grid (signed, fees subtracted). */
  #walletUnits = 0n;
  #walletVersion = 0;
  #walletOffGrid: Decimal = ZERO;
  /** `#walletOffGrid` in money units rounded down; undefined until asked after a change. */
  #walletOffGridFloor: bigint | undefined = 0n;
  readonly positions = new Map<InstrumentId, Position>();
  readonly leverage = new Map<InstrumentId, number>();
  readonly exposure = new Map<InstrumentId, OpenExposure>();
  /** Open orders by order sequence number (`SimOrder.seq`), in placement order. */
  readonly openOrders = new Map<number, SimOrder>();
  /** How many of `openOrders` are reduce-only (the venue's end-of-command check looks only when some are). */
  reduceOnlyOpen = 0;
  /** The venue's running command: instruments whose position changed, in first-touch order (emptied by its end). */
  readonly touchedInstruments: InstrumentId[] = [];
  /** The venue's running command changed the balance (cleared by its end). */
  balanceTouched = false;
  /** Last nonce per API key (strict-nonce venues). */
  readonly lastNonce = new Map<string, number>();
  /**
   * The last margin part computed per instrument, with its input: an account places many
   * orders on one instrument while its other instruments stay as they were (speed only).
   */
  readonly marginParts = new Map<
    InstrumentId,
    {
      readonly input: InstrumentMarginInput;
      readonly part: InstrumentMargin;
      readonly position: PositionMargin;
    }
  >();
  /**
   * What the margin check of the last order placed on `instrumentId` learned (exchange.ts
   * `surelyFitsMargin`), valid while the inputs it was computed from are the same objects.
   */
  headroom: MarginHeadroom | undefined;
  /**
   * The integer liquidation check's terms (margin-fixed.ts) that do not move with marks,
   * valid while `inputs` (the wallet balance, then each position's size and cost basis) are
   * the same objects; `terms` undefined: a value off the grid, the Decimal check decides.
   */
  maintenanceBase:
    | {
        readonly inputs: readonly unknown[];
        readonly base: bigint;
        readonly terms:
          | readonly { readonly instrumentId: InstrumentId; readonly coefficient: bigint }[]
          | undefined;
      }
    | undefined;
  /** Venue time at which the dead-man switch cancels every open order; undefined = disarmed. */
  cancelAllAtMs: EpochMs | undefined;
  /** Its orders go into the venue's closed-order history when they close (`SimExchange.forgetClosedOrdersOf`). */
  keepsClosedOrders = true;

  constructor(
    readonly accountId: AccountId,
    /** House accounts (fees, insurance/backstop) skip margin checks and are never liquidated. */
    readonly isHouse: boolean,
    /** The venue's money units, 10^-decimals (`moneyDecimals`); undefined: every amount is kept as a Decimal. */
    private readonly moneyDecimals: number | undefined,
  ) {
    const unit = moneyDecimals === undefined ? undefined : new Decimal(10).pow(-moneyDecimals);
    this.#ledgers = {
      collateral: new Ledger(unit),
      realizedPnl: new Ledger(unit),
      feesPaid: new Ledger(unit),
      fundingNet: new Ledger(unit),
      transfersNet: new Ledger(unit),
    };
  }

  get collateral(): Decimal {
    return this.#ledgers.collateral.value();
  }

  get realizedPnl(): Decimal {
    return this.#ledgers.realizedPnl.value();
  }

  get feesPaid(): Decimal {
    return this.#ledgers.feesPaid.value();
  }

  /** Positive = received. */
  get fundingNet(): Decimal {
    return this.#ledgers.fundingNet.value();
  }

  /** Liquidation fees (out), insurance cover (in), fee income (house). */
  get transfersNet(): Decimal {
    return this.#ledgers.transfersNet.value();
  }

  /**
   * Adds signed `amount` to a ledger: in money units when it is on their grid (exact either
   * way). `knownUnits`: the amount in money units when the caller computed them (no parsing).
   */
  add(ledger: WalletLedger, amount: Decimal, knownUnits?: bigint): void {
    if (knownUnits !== undefined) {
      this.addUnits(ledger, knownUnits);
      return;
    }
    if (amount.isZero()) return;
    const units = this.moneyDecimals === undefined ? undefined : exactUnits(amount, this.moneyDecimals);
    if (units !== undefined) {
      this.addUnits(ledger, units);
      return;
    }
    this.#ledgers[ledger].addOffGrid(amount);
    this.#walletOffGrid = this.#walletOffGrid.plus(ledger === 'feesPaid' ? amount.neg() : amount);
    this.#walletOffGridFloor = undefined;
    this.#wallet = undefined;
    this.#walletVersion++;
  }

  /** Adds signed `units` of the venue's money scale to a ledger (no Decimal built; the account has a money scale). */
  addUnits(ledger: WalletLedger, units: bigint): void {
    if (units === 0n) return;
    this.#ledgers[ledger].addUnits(units);
    if (ledger === 'feesPaid') this.#walletUnits -= units;
    else this.#walletUnits += units;
    this.#wallet = undefined;
    this.#walletVersion++;
  }

  /** Changes whenever a ledger does (and never comes back): a cache of wallet-derived values compares it. */
  get walletVersion(): number {
    return this.#walletVersion;
  }

  /** collateral + realized - fees + funding + transfers; the same object until a ledger changes. */
  walletBalance(): Decimal {
    if (this.#wallet === undefined) {
      const l = this.#ledgers;
      this.#wallet = l.collateral
        .value()
        .plus(l.realizedPnl.value())
        .minus(l.feesPaid.value())
        .plus(l.fundingNet.value())
        .plus(l.transfersNet.value());
    }
    return this.#wallet;
  }

  /**
   * The wallet balance in money units, rounded down (exact when nothing is off the grid);
   * undefined without a money scale.
   */
  walletFloorUnits(): bigint | undefined {
    const decimals = this.moneyDecimals;
    if (decimals === undefined) return undefined;
    // floor(x + n) = floor(x) + n for a whole n: the off-grid part floored once per change.
    if (this.#walletOffGridFloor === undefined) {
      const floor = this.#walletOffGrid
        .mul(new Decimal(10).pow(decimals))
        .toDecimalPlaces(0, Decimal.ROUND_FLOOR);
      this.#walletOffGridFloor = BigInt(floor.toFixed());
    }
    return this.#walletOffGridFloor === 0n ? this.#walletUnits : this.#walletUnits + this.#walletOffGridFloor;
  }

  position(instrumentId: InstrumentId, scale: InstrumentScale, cost: CostScale | undefined): Position {
    let p = this.positions.get(instrumentId);
    if (p === undefined) {
      p = new Position(scale, cost);
      this.positions.set(instrumentId, p);
    }
    return p;
  }

  positionSize(instrumentId: InstrumentId): Decimal {
    return this.positions.get(instrumentId)?.size ?? ZERO;
  }

  exposureOf(instrumentId: InstrumentId, scale: InstrumentScale): OpenExposure {
    let e = this.exposure.get(instrumentId);
    if (e === undefined) {
      e = new OpenExposure(scale);
      this.exposure.set(instrumentId, e);
    }
    return e;
  }

  hasPositions(): boolean {
    for (const p of this.positions.values()) if (p.lots !== 0) return true;
    return false;
  }
}
