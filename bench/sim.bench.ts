/**
 * libs/sim throughput per CPU second, printed as ratios against a raw baseline run in the
 * same process (no assertions; numbers depend on the machine).
 *   node --import tsx --conditions=@perpmesh/source bench/sim.bench.ts
 *
 * - orders matched/s (each flow measured after WARM_UP_PASSES whole unmeasured passes, so the
 *   rows report the steady state, not the JIT settling): a maker rests a limit sell, a taker market-buys it (one full
 *   match per pair: validation, margin check, fill, fees, positions, events). Baseline:
 *   `ReferenceBook` below, a minimal price-time order book (fixed-point bigint sizes,
 *   sorted price levels, FIFO queues) fed the same orders: the floor of the matching
 *   itself, without margin, fees, positions or events. Also printed: pushing the same
 *   number of plain objects into an array (the floor of allocating anything at all).
 *   The same flow twice more: with no account observed (`observeAccount: () => false`:
 *   every fill, fee, position, margin check and market event as before, no order, fill,
 *   position or balance views, as the paper hub and a backtest run the accounts nobody
 *   subscribes to), and that with the orders in ticks and lots (`submitFixedOrder`, as
 *   the world's market maker and noise takers send them: nothing parsed on entry).
 * - book deltas applied/s: a BookMirror applies deltas recorded from a SimWorld tape
 *   (sequence check, level upserts and deletes). Baseline: one plain Map.set per changed
 *   level of the same deltas.
 * - world steps/s: SimWorld.step at 1 s of simulated time per step, three venues
 *   (for scale; no raw baseline exists for it); again with no account observed
 *   (`observeOnly([])`: market events only, as a backtest or the paper hub runs the
 *   background accounts nobody subscribes to).
 */
import { loadavg } from 'node:os';
import * as sim from '@perpmesh/sim';
import {
  type BookDeltaEvent,
  BookMirror,
  defaultWorldConfig,
  observeOnly,
  SimExchange,
  SimWorld,
  venuePreset,
} from '@perpmesh/sim';
import { matchFixedUnobserved, orderFlow, unobservedExchange } from './sim-flow.js';

const ORDER_PAIRS = 5_000;
/** Whole passes of each order flow before the measured one (steady state, not the JIT's start). */
const WARM_UP_PASSES = 3;
const WORLD_STEPS = 1_500;

/**
 * CPU milliseconds `fn` took (this process, user + system): the machine is shared, and wall
 * time measures the neighbours as much as the code. Both sides of every ratio use it.
 */
function time(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

function report(name: string, count: number, ms: number, baselineName: string, baselineMs: number): void {
  const perSecond = (count / ms) * 1000;
  const baselinePerSecond = (count / baselineMs) * 1000;
  console.log(
    `${name.padEnd(28)} ${Math.round(perSecond).toLocaleString('en-US').padStart(12)}/s   ` +
      `baseline ${baselineName}: ${Math.round(baselinePerSecond).toLocaleString('en-US')}/s   ` +
      `ratio ${(baselinePerSecond / perSecond).toFixed(1)}x slower`,
  );
}

/** One resting order of the reference book: size in lots (fixed-point, exact). */
interface RefOrder {
  id: number;
  account: string;
  lots: bigint;
}

/**
 * The baseline: a minimal price-time order book. Prices and sizes are bigint ticks/lots
 * (exact, as money must be); levels are FIFO arrays in a Map keyed by price, with the
 * prices of each side kept sorted best first.
 */
class ReferenceBook {
  readonly #levels = { buy: new Map<bigint, RefOrder[]>(), sell: new Map<bigint, RefOrder[]>() };
  readonly #prices = { buy: [] as bigint[], sell: [] as bigint[] };
  #nextId = 1;
  fills = 0;

  limit(account: string, side: 'buy' | 'sell', price: bigint, lots: bigint): void {
    const left = this.#match(side, lots, price);
    if (left === 0n) return;
    const levels = this.#levels[side];
    let queue = levels.get(price);
    if (!queue) {
      queue = [];
      levels.set(price, queue);
      const prices = this.#prices[side];
      prices.push(price);
      prices.sort((a, b) => (side === 'buy' ? (a > b ? -1 : 1) : a < b ? -1 : 1));
    }
    queue.push({ id: this.#nextId++, account, lots: left });
  }

  market(side: 'buy' | 'sell', lots: bigint): void {
    this.#match(side, lots, undefined);
  }

  /** Matches against the other side best first; returns what is left. */
  #match(side: 'buy' | 'sell', lots: bigint, limit: bigint | undefined): bigint {
    const other = side === 'buy' ? 'sell' : 'buy';
    const prices = this.#prices[other];
    const levels = this.#levels[other];
    while (lots > 0n && prices.length > 0) {
      const best = prices[0] as bigint;
      if (limit !== undefined && (side === 'buy' ? best > limit : best < limit)) break;
      const queue = levels.get(best) as RefOrder[];
      while (lots > 0n && queue.length > 0) {
        const maker = queue[0] as RefOrder;
        const take = maker.lots < lots ? maker.lots : lots;
        maker.lots -= take;
        lots -= take;
        this.fills++;
        if (maker.lots === 0n) queue.shift();
      }
      if (queue.length === 0) {
        levels.delete(best);
        prices.shift();
      }
    }
    return lots;
  }
}

/** The same order flow as `matchOrders`, on the reference book (price in ticks of 0.1, size in lots of 0.001). */
function matchOrdersReference(pairs: number): number {
  const book = new ReferenceBook();
  const price = 500_000n;
  for (let i = 0; i < pairs; i++) {
    book.limit('maker', 'sell', price, 10n);
    book.market('buy', 10n);
    if (i % 2 === 1) {
      book.limit('taker', 'sell', price, 20n);
      book.market('buy', 20n);
    }
  }
  return book.fills;
}

function matchOrders(pairs: number): void {
  const ex = new SimExchange(venuePreset('paper'));
  ex.setPrices('BTC-USDC-PERP', { markPrice: '50000', indexPrice: '50000' });
  ex.deposit('maker', '1000000000');
  ex.deposit('taker', '1000000000');
  for (let i = 0; i < pairs; i++) {
    ex.placeOrder({
      accountId: 'maker',
      instrumentId: 'BTC-USDC-PERP',
      side: 'sell',
      type: 'limit',
      price: '50000',
      size: '0.01',
    });
    ex.placeOrder({
      accountId: 'taker',
      instrumentId: 'BTC-USDC-PERP',
      side: 'buy',
      type: 'market',
      size: '0.01',
    });
    // Flip sides now and then so positions stay small.
    if (i % 2 === 1) {
      ex.placeOrder({
        accountId: 'taker',
        instrumentId: 'BTC-USDC-PERP',
        side: 'sell',
        type: 'limit',
        price: '50000',
        size: '0.02',
      });
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: 'BTC-USDC-PERP',
        side: 'buy',
        type: 'market',
        size: '0.02',
      });
    }
    if (i % 256 === 0) ex.drainEvents();
  }
  ex.drainEvents();
}

/** `matchOrders`' flow with no account observed (the ticks-and-lots form: bench/sim-flow.ts). */
function matchOrdersUnobserved(pairs: number): void {
  const ex = unobservedExchange(sim);
  const instrumentId = 'BTC-USDC-PERP';
  const limit = (accountId: string, lots: number) =>
    ex.submitOrder({
      accountId,
      instrumentId,
      side: 'sell',
      type: 'limit',
      price: '50000',
      size: lots === 10 ? '0.01' : '0.02',
    });
  const market = (accountId: string, lots: number) =>
    ex.submitOrder({
      accountId,
      instrumentId,
      side: 'buy',
      type: 'market',
      size: lots === 10 ? '0.01' : '0.02',
    });
  orderFlow(pairs, limit, market, () => ex.drainEvents());
}

// Warm-up so the JIT is not measured: each flow runs WARM_UP_PASSES whole passes first (a
// 500-pair warm-up left the optimizer still settling: the ticks-and-lots row read 188-202k/s
// against 240-290k/s once warm in bench/sim-ab.ts).
for (let pass = 0; pass < WARM_UP_PASSES; pass++) {
  matchOrders(ORDER_PAIRS);
  matchOrdersUnobserved(ORDER_PAIRS);
  matchFixedUnobserved(sim, ORDER_PAIRS);
}
const matched = ORDER_PAIRS + ORDER_PAIRS / 2;
const matchMs = time(() => matchOrders(ORDER_PAIRS));
const unobservedMs = time(() => matchOrdersUnobserved(ORDER_PAIRS));
const fixedMs = time(() => matchFixedUnobserved(sim, ORDER_PAIRS));
// Baselines are repeated so their timing is not noise, then scaled back to one pass.
const BASELINE_REPEATS = 50;
let sink = 0;
const pushMs =
  time(() => {
    for (let r = 0; r < BASELINE_REPEATS; r++) {
      const out: { i: number; price: string }[] = [];
      for (let i = 0; i < matched; i++) out.push({ i, price: '50000' });
      sink += out.length;
    }
  }) / BASELINE_REPEATS;
const REFERENCE_REPEATS = 20;
const referenceMs =
  time(() => {
    for (let r = 0; r < REFERENCE_REPEATS; r++) sink += matchOrdersReference(ORDER_PAIRS);
  }) / REFERENCE_REPEATS;
console.log(
  `(load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}; CPU time of this process)`,
);
report('orders matched', matched, matchMs, 'reference book', referenceMs);
report('orders matched', matched, matchMs, 'array push', pushMs);
report('  no account observed', matched, unobservedMs, 'reference book', referenceMs);
report('  and in ticks and lots', matched, fixedMs, 'reference book', referenceMs);

// Record a tape, then replay its deltas into mirrors.
const startMs = Date.UTC(2026, 0, 1);
const world = new SimWorld(defaultWorldConfig({ seed: 1, startMs }));
const snapshots = new Map<string, ReturnType<SimExchange['bookSnapshot']>>();
for (const venueId of world.venueIds()) {
  for (const id of ['BTC-USDC-PERP', 'ETH-USDC-PERP'])
    snapshots.set(`${venueId}/${id}`, world.exchange(venueId).bookSnapshot(id));
}
const deltas: BookDeltaEvent[] = [];
const stepMs = time(() => {
  for (let i = 0; i <= WORLD_STEPS; i++) {
    for (const e of world.step(startMs + i * 1000)) if (e.type === 'book_delta') deltas.push(e);
  }
});
// No raw equivalent exists for a whole world step; printed for scale only.
console.log(
  `${'world steps (3 venues)'.padEnd(28)} ${Math.round(((WORLD_STEPS + 1) / stepMs) * 1000)
    .toLocaleString('en-US')
    .padStart(12)}/s   (1 s of market per step)`,
);

// The same steps with no account's user events built (market events only).
const quietWorld = new SimWorld({
  ...defaultWorldConfig({ seed: 1, startMs }),
  observeAccount: observeOnly([]),
});
const quietMs = time(() => {
  for (let i = 0; i <= WORLD_STEPS; i++) quietWorld.step(startMs + i * 1000);
});
console.log(
  `${'world steps, none observed'.padEnd(28)} ${Math.round(((WORLD_STEPS + 1) / quietMs) * 1000)
    .toLocaleString('en-US')
    .padStart(
      12,
    )}/s   (market events only: ${((quietMs / stepMs) * 100).toFixed(0)} % of the CPU of the steps above)`,
);

const levelsApplied = deltas.reduce((n, d) => n + d.bids.length + d.asks.length, 0);
const APPLY_REPEATS = 10;
const applyMs =
  time(() => {
    for (let r = 0; r < APPLY_REPEATS; r++) {
      const mirrors = new Map([...snapshots].map(([k, s]) => [k, new BookMirror(s)]));
      for (const d of deltas) mirrors.get(`${d.venueId}/${d.instrumentId}`)?.apply(d);
    }
  }) / APPLY_REPEATS;
const mapMs =
  time(() => {
    for (let r = 0; r < BASELINE_REPEATS; r++) {
      const m = new Map<string, number>();
      let n = 0;
      for (const d of deltas) {
        for (const l of d.bids) m.set(`${n++}`, l.size.isZero() ? 0 : 1);
        for (const l of d.asks) m.set(`${n++}`, l.size.isZero() ? 0 : 1);
      }
      sink += m.size;
    }
  }) / BASELINE_REPEATS;
report('book deltas applied', deltas.length, applyMs, 'Map.set per changed level', mapMs);
console.log(
  `(${deltas.length.toLocaleString('en-US')} deltas, ${levelsApplied.toLocaleString('en-US')} level changes)`,
);
if (sink < 0) console.log(sink); // keeps the baselines from being optimized away
