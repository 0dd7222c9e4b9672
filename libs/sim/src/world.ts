/**
 * SimWorld: several simulated venues over one seeded synthetic market.
 *
 * - One index path per instrument: a random walk (vol per sqrt(hour)) with Poisson jumps.
 * - Per venue and instrument a basis = venue mean + fast OU + slow OU (mean-reverting),
 *   so venues' marks, premiums and therefore funding drift apart and come back:
 *   funding-arbitrage chances appear and vanish. mark = index x (1 + basis), on the tick.
 * - Background liquidity: one market-maker account per venue quotes several levels a
 *   side around mark (skewed against its inventory), refreshed on a timer or when mark
 *   moves; noise-taker accounts send market orders at a Poisson rate; the insurance
 *   account unwinds liquidated inventory into the book in slices.
 *
 * Random model parameters are plain numbers (they are not money); every price, size and
 * balance is a Decimal. Same seed and same calls → the same tape, byte for byte.
 */
import {
  type AccountId,
  Decimal,
  type DecimalInput,
  type EpochMs,
  type InstrumentId,
  roundToStep,
  type Side,
  ValidationError,
  type VenueId,
} from '@perpmesh/core';
import { catalogInstrument } from './catalog.js';
import type { InstrumentSpec, VenueConfig } from './config.js';
import {
  type Dec60,
  div,
  fromDecimal,
  fromFloatText,
  LastDecimal,
  mul,
  mulToPlaces,
  quotientAbove,
  sub,
  toDecimal,
  toPlaces,
  unitsAt,
} from './decimal60.js';
import type { SimEvent } from './events.js';
import { type FixedQuote, INSURANCE_ACCOUNT_ID, SimExchange } from './exchange.js';
import { InstrumentScale, powerOfTenDecimals, scaledLotsDown } from './fixed.js';
import { venuePreset } from './presets.js';
import { SimRng } from './rng.js';

const HOUR_MS = 3_600_000;

export interface IndexParams {
  readonly instrumentId: InstrumentId;
  readonly initialPrice: DecimalInput;
  /** Standard deviation of the return over one hour (0.005 = 0.5%). */
  readonly volatilityPerSqrtHour: number;
  /** Expected jumps per hour. */
  readonly jumpsPerHour: number;
  /** Standard deviation of one jump's return. */
  readonly jumpStd: number;
}

/** basis = mean + fast + slow; each OU term reverts at its rate per hour. */
export interface BasisParams {
  readonly mean: number;
  readonly fastReversionPerHour: number;
  readonly fastVolatilityPerSqrtHour: number;
  readonly slowReversionPerHour: number;
  readonly slowVolatilityPerSqrtHour: number;
}

export interface MarketMakerParams {
  readonly collateral: DecimalInput;
  readonly levels: number;
  /** Distance of the first level from the quote center, in basis points of mark. */
  readonly halfSpreadBps: number;
  /** Distance between levels, in basis points of mark. */
  readonly levelSpacingBps: number;
  /** Size of the first level per instrument (base units); deeper levels are larger. */
  readonly levelSize: Readonly<Record<InstrumentId, DecimalInput>>;
  /** Requote at least this often. */
  readonly refreshMs: number;
  /** Requote when mark moved more than this many bps from the last quote center. */
  readonly requoteBps: number;
  /** Inventory (in first-level sizes) at which quotes are skewed by one half-spread. */
  readonly skewInventoryLevels: number;
}

export interface NoiseParams {
  readonly collateral: DecimalInput;
  /** Expected market orders per minute per instrument. */
  readonly ordersPerMinute: number;
  /** Largest noise order per instrument (base units); sizes are uniform in lots up to it. */
  readonly maxSize: Readonly<Record<InstrumentId, DecimalInput>>;
  /** Above this notional the noise account only trades to reduce. */
  readonly maxPositionNotional: DecimalInput;
}

export interface WorldVenueParams {
  readonly config: VenueConfig;
  /** Per instrument; instruments not listed get `defaultBasis`. */
  readonly basis?: Readonly<Record<InstrumentId, BasisParams>>;
  readonly defaultBasis: BasisParams;
  readonly marketMaker: MarketMakerParams;
  readonly noise: NoiseParams;
  /** Largest slice of liquidated inventory the insurance account sells per step (per instrument, base units). */
  readonly insuranceUnwindSize: Readonly<Record<InstrumentId, DecimalInput>>;
}

export interface SimWorldConfig {
  /** Non-negative safe integer. */
  readonly seed: number;
  /**
   * `synthetic` (default): the seeded index, basis, market maker and noise move the market.
   * `tape`: none of them run; a recorded market is put on the venues from outside
   * (tape.ts), and the world only keeps time (funding, dead-man switches, insurance unwinds).
   */
  readonly market?: 'synthetic' | 'tape';
  readonly startMs: EpochMs;
  readonly indices: readonly IndexParams[];
  readonly venues: readonly WorldVenueParams[];
  /**
   * Whose user events the venues build (`SimExchangeOptions.observeAccount`); default every
   * account's. `observeOnly(ids)` leaves out the background and house accounts.
   */
  readonly observeAccount?: (venueId: VenueId, accountId: AccountId) => boolean;
}

/** An `observeAccount` that builds the user events of these accounts only (market events are always built). */
export function observeOnly(
  accountIds: Iterable<AccountId>,
): (venueId: VenueId, accountId: AccountId) => boolean {
  const ids = new Set(accountIds);
  return (_venueId, accountId) => ids.has(accountId);
}

/** Account ids of the background participants on every venue. */
export const MARKET_MAKER_ACCOUNT_ID: AccountId = 'bg:market-maker';
export const NOISE_ACCOUNT_ID: AccountId = 'bg:noise';

const DEFAULT_INDICES: readonly IndexParams[] = [
  {
    instrumentId: 'BTC-USDC-PERP',
    initialPrice: '60000',
    volatilityPerSqrtHour: 0.0055,
    jumpsPerHour: 0.1,
    jumpStd: 0.008,
  },
  {
    instrumentId: 'ETH-USDC-PERP',
    initialPrice: '3000',
    volatilityPerSqrtHour: 0.007,
    jumpsPerHour: 0.1,
    jumpStd: 0.01,
  },
];

const VENUE_BASIS_MEAN: Readonly<Record<string, number>> = {
  paper: 0.0001,
  'paper-lighter': 0.0003,
  'paper-extended': -0.0001,
};

/**
 * A ready world: the three presets (paper, paper-lighter, paper-extended) trading
 * BTC-USDC-PERP and ETH-USDC-PERP around BTC 60,000 / ETH 3,000, plus the catalog
 * instruments (catalog.ts) named in `instruments`, listed on every venue. Ids that are
 * neither (BTC, ETH, or unknown) are ignored here. Without catalog instruments the world
 * is the one every existing seed pins.
 */
export function defaultWorldConfig(options: {
  seed: number;
  startMs: EpochMs;
  venueIds?: readonly VenueId[];
  instruments?: readonly InstrumentId[];
}): SimWorldConfig {
  const venueIds = options.venueIds ?? ['paper', 'paper-lighter', 'paper-extended'];
  const extra = [...new Set(options.instruments ?? [])].flatMap((id) => catalogInstrument(id) ?? []);
  const sizes = (pick: (c: (typeof extra)[number]) => DecimalInput) =>
    Object.fromEntries(extra.map((c) => [c.spec.instrumentId, pick(c)]));
  return {
    seed: options.seed,
    startMs: options.startMs,
    indices:
      extra.length === 0
        ? DEFAULT_INDICES
        : [
            ...DEFAULT_INDICES,
            ...extra.map((c) => ({
              instrumentId: c.spec.instrumentId,
              initialPrice: c.initialPrice,
              volatilityPerSqrtHour: c.volatilityPerSqrtHour,
              jumpsPerHour: 0.1,
              jumpStd: c.volatilityPerSqrtHour * 1.5,
            })),
          ],
    venues: venueIds.map((venueId) => ({
      config:
        extra.length === 0
          ? venuePreset(venueId)
          : venuePreset(venueId, {
              instruments: [...venuePreset(venueId).instruments, ...extra.map((c) => c.spec)],
            }),
      defaultBasis: {
        mean: VENUE_BASIS_MEAN[venueId] ?? 0,
        fastReversionPerHour: 12,
        fastVolatilityPerSqrtHour: 0.0006,
        slowReversionPerHour: 0.4,
        slowVolatilityPerSqrtHour: 0.0007,
      },
      marketMaker: {
        collateral: '50000000',
        levels: 10,
        halfSpreadBps: 0.5,
        levelSpacingBps: 1,
        levelSize: { 'BTC-USDC-PERP': '0.2', 'ETH-USDC-PERP': '3', ...sizes((c) => c.levelSize) },
        refreshMs: 10_000,
        requoteBps: 1.5,
        skewInventoryLevels: 50,
      },
      noise: {
        collateral: '20000000',
        ordersPerMinute: 12,
        maxSize: { 'BTC-USDC-PERP': '0.3', 'ETH-USDC-PERP': '5', ...sizes((c) => c.noiseMaxSize) },
        maxPositionNotional: '2000000',
      },
      insuranceUnwindSize: {
        'BTC-USDC-PERP': '0.5',
        'ETH-USDC-PERP': '10',
        ...sizes((c) => c.unwindSize),
      },
    })),
  };
}

interface IndexState {
  readonly params: IndexParams;
  readonly rng: SimRng;
  price: Decimal;
  /** `price` in decimal60 (the path's arithmetic, the Decimal formulas' exact results). */
  fixed: Dec60;
}

interface VenueInstrumentState {
  readonly spec: InstrumentSpec;
  /** Rounds to the tick and lot (fixed.ts: no division for power-of-ten steps). */
  readonly scale: InstrumentScale;
  readonly basis: BasisParams;
  readonly rng: SimRng;
  fast: number;
  slow: number;
  /** The tick's decimals when it is 10^-k (prices in decimal60 round to it); else undefined (Decimal rounding). */
  readonly tickDecimals: number | undefined;
  /** The mark this world set last, and the same in decimal60. */
  mark: Decimal | undefined;
  markFixed: Dec60;
  /** The mark's Decimal, the same object while the mark stays on its tick (~4 % of steps). */
  readonly markDecimal: LastDecimal;
  quotedCenter: Dec60 | undefined;
  quotedAtMs: EpochMs;
  readonly mmLevelSize: Decimal;
  /** mmLevelSize x skewInventoryLevels (the skew's divisor), once. */
  readonly skewDivisor: Dec60;
  /** `mmLevelSize` in lots. */
  readonly mmLevelLots: number;
  /** The instrument's minimum size in whole lots; undefined when it is not whole lots (orders then go as Decimals). */
  readonly minSizeLots: number | undefined;
  readonly noiseMaxLots: number;
  readonly unwindSize: Decimal;
}

interface VenueState {
  readonly params: WorldVenueParams;
  /** The market maker's bps parameters as fractions (constant: computed once, not every requote). */
  readonly quoting: {
    readonly requoteMove: Dec60;
    readonly halfSpread: Dec60;
    /** Per level, the factor of the quote center: 1 - offset for bids, 1 + offset for asks. */
    readonly bidFactors: readonly Dec60[];
    readonly askFactors: readonly Dec60[];
  };
  readonly exchange: SimExchange;
  readonly instruments: Map<InstrumentId, VenueInstrumentState>;
  readonly mmRng: SimRng;
  readonly noiseRng: SimRng;
}

export class SimWorld {
  private readonly indices = new Map<InstrumentId, IndexState>();
  private readonly venues = new Map<VenueId, VenueState>();
  private clockMs: EpochMs;
  private started = false;

  constructor(readonly config: SimWorldConfig) {
    const root = SimRng.fromSeed(config.seed);
    if (!Number.isSafeInteger(config.startMs) || config.startMs < 0) {
      throw new ValidationError(
        'startMs',
        `must be a non-negative integer ms, got ${String(config.startMs)}`,
      );
    }
    this.clockMs = config.startMs;
    config.indices.forEach((p, n) => {
      if (this.indices.has(p.instrumentId)) {
        throw new ValidationError(`indices[${n}].instrumentId`, `duplicate ${p.instrumentId}`);
      }
      const price = new Decimal(p.initialPrice.toString());
      if (!price.gt(0))
        throw new ValidationError(`indices[${n}].initialPrice`, `must be > 0, got ${price.toFixed()}`);
      this.indices.set(p.instrumentId, { params: p, rng: root.fork(), price, fixed: fromDecimal(price) });
    });
    config.venues.forEach((v, n) => {
      const venueId = v.config.venueId;
      if (this.venues.has(venueId))
        throw new ValidationError(`venues[${n}].config.venueId`, `duplicate ${venueId}`);
      const observe = config.observeAccount;
      const exchange = new SimExchange(v.config, {
        startMs: config.startMs,
        ...(observe === undefined
          ? {}
          : { observeAccount: (accountId: AccountId) => observe(venueId, accountId) }),
      });
      const instruments = new Map<InstrumentId, VenueInstrumentState>();
      for (const spec of v.config.instruments) {
        const id = spec.instrumentId;
        if (!this.indices.has(id)) {
          throw new ValidationError(`venues[${n}].config.instruments`, `${id} has no index in indices`);
        }
        const path = `venues[${n}]`;
        const scale = new InstrumentScale(spec);
        const mmLevelSize = lots(
          need(v.marketMaker.levelSize[id], `${path}.marketMaker.levelSize.${id}`),
          spec,
        );
        const minSizeLots = scale.lotsOf(spec.minSize);
        instruments.set(id, {
          spec,
          scale,
          basis: v.basis?.[id] ?? v.defaultBasis,
          rng: root.fork(),
          fast: 0,
          slow: 0,
          tickDecimals: powerOfTenDecimals(spec.tickSize),
          mark: undefined,
          markFixed: { m: 0n, e: 0 },
          markDecimal: new LastDecimal(),
          quotedCenter: undefined,
          quotedAtMs: config.startMs,
          mmLevelSize,
          skewDivisor: fromDecimal(mmLevelSize.mul(v.marketMaker.skewInventoryLevels)),
          mmLevelLots: scale.lotsOf(mmLevelSize),
          minSizeLots: Number.isSafeInteger(minSizeLots) ? minSizeLots : undefined,
          noiseMaxLots: lots(need(v.noise.maxSize[id], `${path}.noise.maxSize.${id}`), spec)
            .div(spec.lotSize)
            .toNumber(),
          unwindSize: lots(need(v.insuranceUnwindSize[id], `${path}.insuranceUnwindSize.${id}`), spec),
        });
      }
      exchange.deposit(MARKET_MAKER_ACCOUNT_ID, v.marketMaker.collateral);
      exchange.deposit(NOISE_ACCOUNT_ID, v.noise.collateral);
      // Nobody looks their orders up by id: closed, they leave no history (and crowd out no client's).
      exchange.forgetClosedOrdersOf(MARKET_MAKER_ACCOUNT_ID);
      exchange.forgetClosedOrdersOf(NOISE_ACCOUNT_ID);
      const bps = new Decimal('0.0001');
      const halfSpread = bps.mul(floatToDecimal(v.marketMaker.halfSpreadBps));
      const spacing = bps.mul(floatToDecimal(v.marketMaker.levelSpacingBps));
      const offsets = Array.from({ length: v.marketMaker.levels }, (_, level) =>
        halfSpread.plus(spacing.mul(level)),
      );
      this.venues.set(venueId, {
        params: v,
        quoting: {
          requoteMove: fromDecimal(bps.mul(floatToDecimal(v.marketMaker.requoteBps))),
          halfSpread: fromDecimal(halfSpread),
          bidFactors: offsets.map((offset) => fromDecimal(new Decimal(1).minus(offset))),
          askFactors: offsets.map((offset) => fromDecimal(offset.plus(1))),
        },
        exchange,
        instruments,
        mmRng: root.fork(),
        noiseRng: root.fork(),
      });
    });
  }

  get nowMs(): EpochMs {
    return this.clockMs;
  }

  venueIds(): VenueId[] {
    return [...this.venues.keys()];
  }

  /** The venue, for strategies' and tests' own accounts (deposit, placeOrder, queries). */
  exchange(venueId: VenueId): SimExchange {
    const venue = this.venues.get(venueId);
    if (venue === undefined) {
      throw new ValidationError(
        'venueId',
        `${JSON.stringify(venueId)} is not in this world (${this.venueIds().join(', ')})`,
      );
    }
    return venue.exchange;
  }

  indexPrice(instrumentId: InstrumentId): Decimal {
    const index = this.indices.get(instrumentId);
    if (index === undefined)
      throw new ValidationError('instrumentId', `no index for ${JSON.stringify(instrumentId)}`);
    return index.price;
  }

  /**
   * Advances the world to `nowMs` and returns every event produced since the last step
   * (including those of commands sent to the venues in between), venue by venue in config order.
   */
  step(nowMs: EpochMs): SimEvent[] {
    if (!Number.isSafeInteger(nowMs) || nowMs < this.clockMs) {
      throw new ValidationError('nowMs', `must be an integer ms >= ${this.clockMs}, got ${String(nowMs)}`);
    }
    const dtHours = (nowMs - this.clockMs) / HOUR_MS;
    this.clockMs = nowMs;
    if (dtHours > 0 || !this.started) {
      if (this.config.market === 'tape') {
        for (const venue of this.venues.values()) this.keepVenueTime(venue, nowMs);
      } else {
        for (const index of this.indices.values()) this.moveIndex(index, dtHours);
        for (const venue of this.venues.values()) this.stepVenue(venue, nowMs, dtHours);
      }
      this.started = true;
    }
    const events: SimEvent[] = [];
    for (const venue of this.venues.values()) {
      for (const e of venue.exchange.drainEvents()) events.push(e);
    }
    return events;
  }

  private moveIndex(index: IndexState, dtHours: number): void {
    if (dtHours <= 0) return;
    const p = index.params;
    let r = p.volatilityPerSqrtHour * Math.sqrt(dtHours) * index.rng.normal();
    if (index.rng.chance(Math.min(1, p.jumpsPerHour * dtHours))) r += p.jumpStd * index.rng.normal();
    r = Math.max(-0.5, Math.min(0.5, r));
    // price x (1 + r) rounded half-even to 8 decimals, in decimal60 (the same value as in Decimals).
    index.fixed = toPlaces(mul(index.fixed, fromFloatText(1 + r)), 8, 'nearest');
    index.price = toDecimal(index.fixed);
  }

  private stepVenue(venue: VenueState, nowMs: EpochMs, dtHours: number): void {
    const ex = venue.exchange;
    // Funding boundaries passed since the last step settle with the positions and marks of that instant.
    ex.advance(nowMs);
    for (const [id, vi] of venue.instruments) {
      const b = vi.basis;
      if (dtHours > 0) {
        const sq = Math.sqrt(dtHours);
        vi.fast +=
          -Math.min(1, b.fastReversionPerHour * dtHours) * vi.fast +
          b.fastVolatilityPerSqrtHour * sq * vi.rng.normal();
        vi.slow +=
          -Math.min(1, b.slowReversionPerHour * dtHours) * vi.slow +
          b.slowVolatilityPerSqrtHour * sq * vi.rng.normal();
      }
      const basis = Math.max(-0.05, Math.min(0.05, b.mean + vi.fast + vi.slow));
      const index = this.indices.get(id) as IndexState;
      // index x (1 + basis) on the tick, half-even; in decimal60 when the tick is 10^-k.
      if (vi.tickDecimals !== undefined) {
        vi.markFixed = toPlaces(mul(index.fixed, fromFloatText(1 + basis)), vi.tickDecimals, 'nearest');
        vi.mark = vi.markDecimal.of(vi.markFixed);
      } else {
        vi.mark = vi.scale.roundToTick(index.price.mul(floatToDecimal(1 + basis)), 'nearest');
        vi.markFixed = fromDecimal(vi.mark);
      }
      ex.setPrices(id, { markPrice: vi.mark, indexPrice: index.price });
    }
    for (const vi of venue.instruments.values()) this.requote(venue, vi, nowMs);
    for (const vi of venue.instruments.values()) this.noise(venue, vi, dtHours);
    for (const vi of venue.instruments.values()) this.unwindInsurance(venue, vi);
  }

  /** A tape market: the venue's clock and its own mechanics only, no synthetic participants. */
  private keepVenueTime(venue: VenueState, nowMs: EpochMs): void {
    venue.exchange.advance(nowMs);
    for (const vi of venue.instruments.values()) this.unwindInsurance(venue, vi);
  }

  private requote(venue: VenueState, vi: VenueInstrumentState, nowMs: EpochMs): void {
    const ex = venue.exchange;
    const mm = venue.params.marketMaker;
    const id = vi.spec.instrumentId;
    const markPrice = ex.markPrice(id) as Decimal;
    // The mark this world set, unless someone set another since (then read that one).
    if (markPrice !== vi.mark) {
      vi.mark = markPrice;
      vi.markFixed = fromDecimal(markPrice);
    }
    const mark = vi.markFixed;
    const { requoteMove, halfSpread, bidFactors, askFactors } = venue.quoting;
    // The quote arithmetic is the Decimal formulas' in decimal60 (each result the Decimal's).
    const stale =
      vi.quotedCenter === undefined ||
      nowMs - vi.quotedAtMs >= mm.refreshMs ||
      quotientAbove(abs(sub(mark, vi.quotedCenter)), mark, requoteMove) ||
      // Refill once a few levels were taken.
      ex.openOrderCount(MARKET_MAKER_ACCOUNT_ID, id) <= mm.levels * 2 - 3;
    if (!stale) return;
    const inventory = ex.positionSize(MARKET_MAKER_ACCOUNT_ID, id);
    // Long inventory lowers both quotes (sell sooner, buy later), short raises them.
    const center = inventory.isZero()
      ? mark
      : mul(mark, sub(ONE, mul(halfSpread, div(fromDecimal(inventory), vi.skewDivisor))));
    const rng = venue.mmRng;
    const tickDecimals = vi.tickDecimals;
    const minSizeLots = vi.minSizeLots;
    // The quotes first (prices, sizes and nonces in the order they were always drawn), then the venue.
    const cancelAuth = this.nonce(venue);
    const quotes: Quote[] = [];
    let allFixed = minSizeLots !== undefined;
    for (let level = 0; level < mm.levels; level++) {
      for (let s = 0; s < 2; s++) {
        const side: Side = s === 0 ? 'buy' : 'sell';
        const factor = (side === 'buy' ? bidFactors : askFactors)[level] as Dec60;
        const rounding = side === 'buy' ? 'down' : 'up';
        let price: Decimal | undefined;
        let priceTicks: number;
        if (tickDecimals !== undefined) {
          priceTicks = Number(unitsAt(mulToPlaces(center, factor, tickDecimals, rounding), tickDecimals));
        } else {
          price = vi.scale.roundToTick(toDecimal(mul(center, factor)), rounding);
          priceTicks = vi.scale.ticksOf(price);
        }
        // The level's size, rounded down to the lot, at least the minimum size.
        const sizeLots = scaledLotsDown(vi.mmLevelLots, (1 + level * 0.4) * (0.6 + 0.8 * rng.float()));
        const { apiKey, nonce } = this.nonce(venue);
        const fixed = minSizeLots !== undefined && Number.isSafeInteger(priceTicks);
        if (!fixed) {
          allFixed = false;
          price ??= toDecimal(mulToPlaces(center, factor, tickDecimals as number, rounding));
        }
        quotes.push({
          side,
          priceTicks,
          sizeLots: fixed ? Math.max(minSizeLots, sizeLots) : sizeLots,
          apiKey,
          nonce,
          price: fixed ? undefined : price,
        });
      }
    }
    if (allFixed) {
      // One venue command: the same events as the cancel-all and placements below.
      ex.requoteFixed({ accountId: MARKET_MAKER_ACCOUNT_ID, instrumentId: id, ...cancelAuth, quotes });
    } else {
      ex.batch(() => {
        ex.cancelAllQuietly({ accountId: MARKET_MAKER_ACCOUNT_ID, instrumentId: id, ...cancelAuth });
        for (const quote of quotes) {
          // Object literals, not spreads: ~40 of these per requote.
          if (quote.price === undefined) {
            ex.submitFixedOrder({
              accountId: MARKET_MAKER_ACCOUNT_ID,
              instrumentId: id,
              side: quote.side,
              type: 'limit',
              timeInForce: 'gtc',
              priceTicks: quote.priceTicks,
              sizeLots: quote.sizeLots,
              apiKey: quote.apiKey,
              nonce: quote.nonce,
            });
          } else {
            ex.submitOrder({
              accountId: MARKET_MAKER_ACCOUNT_ID,
              instrumentId: id,
              side: quote.side,
              type: 'limit',
              timeInForce: 'gtc',
              price: quote.price,
              size: Decimal.max(vi.spec.minSize, vi.scale.size(quote.sizeLots)),
              apiKey: quote.apiKey,
              nonce: quote.nonce,
            });
          }
        }
      });
    }
    vi.quotedCenter = mark;
    vi.quotedAtMs = nowMs;
  }

  private noise(venue: VenueState, vi: VenueInstrumentState, dtHours: number): void {
    if (dtHours <= 0) return;
    const ex = venue.exchange;
    const params = venue.params.noise;
    const rng = venue.noiseRng;
    const expected = params.ordersPerMinute * dtHours * 60;
    let count = Math.floor(expected) + (rng.chance(expected - Math.floor(expected)) ? 1 : 0);
    count = Math.min(count, 50);
    const id = vi.spec.instrumentId;
    if (count === 0) return;
    const mark = ex.markPrice(id) as Decimal;
    const cap = new Decimal(params.maxPositionNotional.toString());
    // Keep above the venue's minimums so noise is not all rejects.
    const minByNotional = vi.scale.roundToLot(vi.spec.minNotional.div(mark), 'up').plus(vi.spec.lotSize);
    const minByNotionalLots = vi.scale.lotsOf(minByNotional);
    for (let i = 0; i < count; i++) {
      const pos = ex.positionSize(NOISE_ACCOUNT_ID, id);
      const tooBig = pos.abs().mul(mark).gt(cap);
      const side: Side = tooBig ? (pos.isPos() ? 'sell' : 'buy') : rng.chance(0.5) ? 'buy' : 'sell';
      const sizeLots = rng.int(1, Math.max(1, vi.noiseMaxLots));
      const { apiKey, nonce } = this.nonce(venue);
      if (vi.minSizeLots !== undefined && Number.isSafeInteger(minByNotionalLots)) {
        const lots = Math.max(sizeLots, vi.minSizeLots, minByNotionalLots);
        ex.submitFixedOrder({
          accountId: NOISE_ACCOUNT_ID,
          instrumentId: id,
          side,
          type: 'market',
          sizeLots: lots,
          apiKey,
          nonce,
        });
      } else {
        const size = Decimal.max(vi.scale.size(sizeLots), vi.spec.minSize, minByNotional);
        ex.submitOrder({
          accountId: NOISE_ACCOUNT_ID,
          instrumentId: id,
          side,
          type: 'market',
          size,
          apiKey,
          nonce,
        });
      }
    }
  }

  private unwindInsurance(venue: VenueState, vi: VenueInstrumentState): void {
    const ex = venue.exchange;
    const id = vi.spec.instrumentId;
    const pos = ex.positionSize(INSURANCE_ACCOUNT_ID, id);
    if (pos.isZero()) return;
    ex.submitOrder({
      accountId: INSURANCE_ACCOUNT_ID,
      instrumentId: id,
      side: pos.isPos() ? 'sell' : 'buy',
      type: 'market',
      size: Decimal.min(pos.abs(), vi.unwindSize),
      reduceOnly: true,
      ...this.nonce(venue),
    });
  }

  /** Background accounts sign with a world-side counter on strict-nonce venues. */
  private nonceCounter = 0;
  private nonce(venue: VenueState): { apiKey?: string; nonce?: number } {
    if (!venue.params.config.requireIncreasingNonce) return NO_NONCE;
    this.nonceCounter += 1;
    return { apiKey: 'bg', nonce: this.nonceCounter };
  }
}

const NO_NONCE: { apiKey?: string; nonce?: number } = Object.freeze({});

/** A market maker's quote: in ticks and lots, or (`price` set) placed from its Decimals. */
interface Quote extends FixedQuote {
  readonly price: Decimal | undefined;
}

const ONE: Dec60 = { m: 1n, e: 0 };

function abs(a: Dec60): Dec60 {
  return a.m < 0n ? { m: -a.m, e: a.e } : a;
}

function need<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new ValidationError(field, 'is required');
  return value;
}

function lots(value: DecimalInput, spec: InstrumentSpec): Decimal {
  const d = roundToStep(new Decimal(value.toString()), spec.lotSize, 'down');
  return d.gt(0) ? d : spec.lotSize;
}

/** A model float as a Decimal, through its fixed 15-decimal text (exactly specified). */
function floatToDecimal(x: number): Decimal {
  return new Decimal(x.toFixed(15));
}
