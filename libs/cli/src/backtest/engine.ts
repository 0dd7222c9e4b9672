/**
 * The backtest engine: one strategy's own code (its registered decider, through the same
 * `StrategyStepper` the runtime uses) over a tape, on the paper venues (`PaperVenueHub`)
 * with a MANUAL clock, as fast as the machine allows. The tape is the seeded synthetic
 * market, or a recorded session's md events (session-tape.ts): each put on its venue as
 * the venue's book and prices (libs/sim tape.ts), and the recorded inputs fed to the
 * strategy as the runtime fed them live.
 *
 * Every `stepMs` of tape (the runtime's tick interval by default) the world is advanced and
 * the strategy gets what the runtime would give it at that moment, in the runtime's order:
 * the user-stream events of its accounts since the last step (orders, fills, balances,
 * positions, funding payments), a book and a funding input per market it reads, a balance
 * poll every `balancePollIntervalMs`, and a tick. Its commands go to the sim venue ports of
 * its accounts (`SimExecutor`); a refusal comes back as a rejected order input, as from the
 * execution service. Fees, slippage and funding are charged by the sim; the ledger
 * (ledger.ts) splits the PnL. Same seed and config → the same numbers.
 */
import { InMemoryProjectionStore } from '@perpmesh/bus';
import { Decimal, type EpochMs, errorText, ValidationError } from '@perpmesh/core';
import { createLogger } from '@perpmesh/runtime';
import { TapeLiquidity } from '@perpmesh/sim';
import {
  type BalanceInput,
  lookupStrategy,
  makeStrategyDecider,
  type OrderIntent,
  type OrderRef,
  type OrderSnapshot,
  type StrategyInput,
} from '@perpmesh/strategy';
import {
  marketInfo,
  OrderRefusedError,
  type StrategyInstanceSpec,
  StrategyStepper,
} from '@perpmesh/strategy/runtime';
import {
  DEFAULT_API_KEY_ID,
  PaperVenueHub,
  type PaperVenueHubOptions,
  type SimulatedVenue,
} from '@perpmesh/venues';
import { BacktestLedger, type BacktestSummary, type EquityPoint } from './ledger.js';
import { type RecordedMarket, type RecordedMarketEvent, recordedInput } from './session-tape.js';

/** A fixed tape start (2026-01-01T00:00:00Z): funding boundaries and times are the same every run. */
export const BACKTEST_START_MS = Date.UTC(2026, 0, 1);

type UserEvent = Parameters<Parameters<PaperVenueHub['subscribeUser']>[2]>[0];

export interface BacktestOptions {
  readonly strategy: StrategyInstanceSpec;
  /** The paper world (from the config: paperHubOptionsFromConfig); seed and clock are set here. */
  readonly hub: Omit<PaperVenueHubOptions, 'clock' | 'startMs' | 'seed' | 'market'>;
  /** Seed of the synthetic market (unused with `recorded`). */
  readonly seed: number;
  /** Tape to run; with `recorded`, from its start (at most its length). */
  readonly durationMs: number;
  /** A recorded session's market instead of the synthetic one (session-tape.ts). */
  readonly recorded?: RecordedMarket;
  /** World step and tick interval (default 1 s, the runtime's tick). */
  readonly stepMs?: number;
  readonly balancePollIntervalMs?: number;
  readonly balanceStaleAfterMs?: number;
  /** Book levels per side given to the strategy (default 10). */
  readonly bookDepth?: number;
  /** Equity points kept for the chart (default 2000; drawdown uses every step). */
  readonly chartPoints?: number;
  readonly startMs?: EpochMs;
  /** Called after every step with the tape time done so far. */
  readonly onProgress?: (doneMs: number, totalMs: number) => void;
}

export interface BacktestResult {
  readonly strategyId: string;
  /** What the market was: `synthetic seed 7`, `session <dir>`. */
  readonly tape: string;
  readonly seed: number;
  readonly durationMs: number;
  readonly stepMs: number;
  readonly steps: number;
  readonly summary: BacktestSummary;
  /** Equity over time (sampled) for the chart. */
  readonly equity: readonly EquityPoint[];
}

const quietLogger = createLogger({ service: 'backtest', level: 'silent' });

const key = (venue: string, account: string) => `${venue}|${account}`;

/**
 * The strategy's commands against the sim venue ports: what the execution service does
 * live, in-process. Every refusal is an `OrderRefusedError` (fed back as a rejected order).
 */
class SimExecutor {
  readonly dryRun = false;
  readonly #hub: PaperVenueHub;
  readonly #ports: ReadonlyMap<string, SimulatedVenue>;
  readonly #ledger: BacktestLedger;
  readonly #nonces = new Map<string, number>();
  /** Mid of the book when each order was placed (slippage is measured against it). */
  readonly midAtPlace = new Map<string, Decimal | undefined>();

  constructor(hub: PaperVenueHub, ports: ReadonlyMap<string, SimulatedVenue>, ledger: BacktestLedger) {
    this.#hub = hub;
    this.#ports = ports;
    this.#ledger = ledger;
  }

  #nonce(port: SimulatedVenue, k: string): bigint | undefined {
    if (!port.capabilities.nonces) return undefined;
    const next = (this.#nonces.get(k) ?? 0) + 1;
    this.#nonces.set(k, next);
    return BigInt(next);
  }

  async place(intent: OrderIntent): Promise<OrderSnapshot> {
    this.#ledger.order();
    const k = key(intent.venue, intent.account);
    const port = this.#ports.get(k);
    if (port === undefined) {
      this.#ledger.reject();
      throw new OrderRefusedError(`no paper account ${intent.account} on ${intent.venue}`);
    }
    const { bid, ask } = this.#hub.exchange(intent.venue).bestBidAsk(intent.instrument);
    // Set before the order goes in: its fills are delivered while createOrder runs.
    this.midAtPlace.set(intent.clientOrderId, bid && ask ? bid.price.plus(ask.price).div(2) : undefined);
    try {
      const nonce = this.#nonce(port, k);
      const order = await port.createOrder({
        clientOrderId: intent.clientOrderId,
        instrument: intent.instrument,
        side: intent.side,
        type: intent.type,
        timeInForce: intent.timeInForce,
        ...(intent.price === undefined ? {} : { price: intent.price }),
        size: intent.size,
        reduceOnly: intent.reduceOnly,
        ...(nonce === undefined ? {} : { nonce }),
      });
      return {
        ...intent,
        status: order.status,
        filled: order.filled,
        avgFillPrice: order.avgFillPrice,
        reason: order.reason,
        tsEventMs: order.tsEventMs,
      };
    } catch (err) {
      this.#ledger.reject();
      throw new OrderRefusedError(errorText(err), { cause: err });
    }
  }

  async cancel(ref: OrderRef): Promise<OrderSnapshot | undefined> {
    const k = key(ref.venue, ref.account);
    const port = this.#ports.get(k);
    if (port === undefined) return undefined;
    this.#ledger.cancel();
    try {
      const nonce = this.#nonce(port, k);
      await port.cancelOrder(
        { instrument: ref.instrument, clientOrderId: ref.clientOrderId },
        nonce === undefined ? {} : { nonce },
      );
    } catch {
      // Already ended (filled, expired): the order updates say so.
    }
    return undefined;
  }
}

/** A sim user-stream event as the strategy input the runtime derives from its bus event. */
function inputFromUserEvent(e: UserEvent, nowMs: EpochMs, staleAfterMs: number): StrategyInput | undefined {
  switch (e.type) {
    case 'order_update': {
      const o = e.order;
      if (o.clientOrderId === undefined) return undefined;
      return {
        kind: 'order',
        nowMs,
        clientOrderId: o.clientOrderId,
        venue: o.venueId,
        account: o.accountId,
        instrument: o.instrumentId,
        side: o.side,
        type: o.type,
        timeInForce: o.timeInForce,
        price: o.price,
        size: o.size,
        reduceOnly: o.reduceOnly,
        status: o.status,
        filled: o.filledSize,
        avgFillPrice: o.avgFillPrice,
        reason: o.endReason ?? o.reject?.message,
        tsEventMs: o.updatedMs,
      };
    }
    case 'fill':
      if (e.clientOrderId === undefined) return undefined;
      return {
        kind: 'fill',
        nowMs,
        clientOrderId: e.clientOrderId,
        venue: e.venueId,
        account: e.accountId,
        instrument: e.instrumentId,
        side: e.side,
        tradeId: e.tradeId,
        price: e.price,
        size: e.size,
        fee: e.fee,
        liquidity: e.liquidity,
        tsEventMs: e.tsEventMs,
      };
    case 'balance':
      return balanceOf(e.balance, nowMs, staleAfterMs);
    case 'position':
      return {
        kind: 'position',
        nowMs,
        venue: e.position.venueId,
        account: e.position.accountId,
        instrument: e.position.instrumentId,
        size: e.position.size,
        entryPrice: e.position.entryPrice,
        markPrice: e.position.markPrice,
        asOfMs: e.position.asOfMs,
      };
    case 'funding_payment':
      return {
        kind: 'funding_payment',
        nowMs,
        venue: e.venueId,
        account: e.accountId,
        instrument: e.instrumentId,
        amount: e.amount,
        fundingTimeMs: e.fundingTimeMs,
        paymentId: `${e.venueId}:${e.accountId}:${e.instrumentId}:${e.fundingTimeMs}`,
      };
    default:
      return undefined;
  }
}

function balanceOf(
  b: Extract<UserEvent, { type: 'balance' }>['balance'],
  nowMs: EpochMs,
  staleAfterMs: number,
): BalanceInput {
  return {
    kind: 'balance',
    nowMs,
    venue: b.venueId,
    account: b.accountId,
    total: b.walletBalance,
    available: b.available,
    equity: b.equity,
    asOfMs: b.asOfMs,
    stale: nowMs - b.asOfMs > staleAfterMs,
  };
}

export async function runBacktest(options: BacktestOptions): Promise<BacktestResult> {
  const stepMs = options.stepMs ?? 1_000;
  if (!Number.isSafeInteger(stepMs) || stepMs <= 0) {
    throw new ValidationError('stepMs', `must be a whole number of ms > 0, got ${String(stepMs)}`);
  }
  const pollMs = options.balancePollIntervalMs ?? 5_000;
  const staleAfterMs = options.balanceStaleAfterMs ?? 15_000;
  const depth = options.bookDepth ?? 10;
  const recorded = options.recorded;
  const startMs = recorded?.startMs ?? options.startMs ?? BACKTEST_START_MS;
  const endMs = recorded
    ? Math.min(recorded.endMs, startMs + options.durationMs)
    : startMs + options.durationMs;
  const durationMs = endMs - startMs;
  const { id: strategyId, config } = options.strategy;
  const definition = lookupStrategy(config.kind, `strategy ${strategyId} kind`);
  const accounts = definition.accounts(config);
  const markets = definition.markets(config);

  const hub = new PaperVenueHub({
    ...options.hub,
    seed: options.seed,
    clock: { kind: 'manual' },
    startMs,
    ...(recorded ? { market: 'tape' as const } : {}),
  });
  const ledger = new BacktestLedger();
  const queue: StrategyInput[] = [];
  try {
    const apiKeys = new Map(
      (options.hub.accounts ?? []).map((a) => [key(a.venueId, a.accountId), a.apiKeyId]),
    );
    const ports = new Map<string, SimulatedVenue>();
    /** The distinct accounts the strategy trades on (one port each), for polls and marks. */
    const traded: { venue: string; account: string }[] = [];
    const executor = new SimExecutor(hub, ports, ledger);
    for (const a of accounts) {
      if (!hub.venueIds().includes(a.venue)) {
        throw new ValidationError(
          `venues.${a.venue}`,
          `strategy ${strategyId} trades on ${a.venue}, which is not a paper venue in the config`,
        );
      }
      if (!hub.hasAccount(a.venue, a.account)) {
        throw new ValidationError(
          `venues.${a.venue}.accounts.${a.account}.paperDeposit`,
          `strategy ${strategyId} trades on this account: fund it with paperDeposit`,
        );
      }
      const k = key(a.venue, a.account);
      if (ports.has(k)) continue;
      ports.set(k, hub.venue(a.venue, a.account, apiKeys.get(k) ?? DEFAULT_API_KEY_ID));
      traded.push({ venue: a.venue, account: a.account });
      hub.subscribeUser(a.venue, a.account, (event) => {
        if (event.type === 'fill') {
          const clientOrderId = event.clientOrderId;
          ledger.fill({
            side: event.side,
            price: event.price,
            size: event.size,
            fee: event.fee,
            // Venue-made fills (liquidations) have no placement mid: no slippage of ours.
            midAtPlace: clientOrderId === undefined ? undefined : executor.midAtPlace.get(clientOrderId),
          });
        } else if (event.type === 'funding_payment') {
          ledger.fundingPayment(event.amount);
        }
        const input = inputFromUserEvent(event, hub.nowMs, staleAfterMs);
        if (input) queue.push(input);
      });
    }
    const stepper = new StrategyStepper({
      strategyId,
      decider: makeStrategyDecider(config),
      // The stepper only loads and saves its projection: an in-memory store is enough.
      store: new InMemoryProjectionStore(),
      publish: async () => undefined,
      gateway: executor,
      logger: quietLogger,
      nowMs: () => hub.nowMs,
      source: `backtest/${strategyId}`,
    });
    stepper.begin({});

    const feed = async (input: StrategyInput) => {
      const outcome = await stepper.step(input);
      ledger.decisions(outcome.decisions.length);
      if (outcome.decisions.length > 0 || outcome.commands.length > 0) {
        for (const answer of await stepper.release()) queue.push(answer);
      }
    };
    const drain = async () => {
      while (queue.length > 0) await feed(queue.shift() as StrategyInput);
    };
    const pollBalances = async () => {
      for (const { venue, account } of traded) {
        await feed(balanceOf(hub.exchange(venue).balance(account), hub.nowMs, staleAfterMs));
      }
    };
    const equityNow = () => {
      let total = new Decimal(0);
      for (const { venue, account } of traded) {
        total = total.plus(hub.exchange(venue).marginSummary(account).equity);
      }
      return total;
    };
    // Which traded accounts can hold each instrument is fixed by the paper config: found
    // once here, not on every step.
    const holders = [...new Set(markets.map((m) => m.instrument))].map((instrument) => ({
      instrument,
      accounts: traded.filter(({ venue }) =>
        hub
          .exchange(venue)
          .markets()
          .some((s) => s.instrumentId === instrument),
      ),
    }));
    /** Sum over instruments of |net position across the strategy's accounts| x mark. */
    const netNotional = () => {
      let total = new Decimal(0);
      for (const { instrument, accounts: held } of holders) {
        let net = new Decimal(0);
        let mark: Decimal | undefined;
        for (const { venue, account } of held) {
          const exchange = hub.exchange(venue);
          net = net.plus(exchange.positionSize(account, instrument));
          mark ??= exchange.markPrice(instrument);
        }
        if (!net.isZero() && mark !== undefined) total = total.plus(net.abs().mul(mark));
      }
      return total;
    };

    // A recorded market: its events put on the venues in tape order (the clock moved to
    // each), the ones of markets the strategy reads kept to be fed at the next step.
    const tape = new TapeLiquidity();
    const reads = new Set(markets.map((m) => key(m.venue, m.instrument)));
    const onVenues = new Set(
      hub.venueIds().flatMap((v) => hub.venueConfig(v).instruments.map((i) => key(v, i.instrumentId))),
    );
    const events = recorded?.events ?? [];
    let cursor = 0;
    const replayUntil = (untilMs: number): StrategyInput[] => {
      const seen: StrategyInput[] = [];
      while (cursor < events.length) {
        const event = events[cursor] as RecordedMarketEvent;
        if (event.atMs > untilMs) break;
        cursor += 1;
        const input = recordedInput(event, event.atMs);
        if (input === undefined) continue;
        if (onVenues.has(key(event.venue, event.instrument))) {
          if (event.atMs > hub.nowMs) hub.advanceTo(event.atMs);
          if (input.kind === 'book') {
            hub.command(event.venue, (ex) => tape.book(ex, event.instrument, input.bids, input.asks));
          } else if (input.markPrice !== undefined && input.indexPrice !== undefined) {
            const { markPrice, indexPrice } = input;
            hub.command(event.venue, (ex) => tape.prices(ex, event.instrument, markPrice, indexPrice));
          }
        }
        if (reads.has(key(event.venue, event.instrument))) seen.push(input);
      }
      return seen;
    };
    let recordedInputs = replayUntil(startMs);

    // Start as the runner does: markets, balances, then the start snapshot (nothing open yet).
    hub.advanceTo(startMs);
    queue.length = 0;
    const venues = [...new Set([...accounts.map((a) => a.venue), ...markets.map((m) => m.venue)])];
    const marketInfos = [];
    for (const venue of venues) {
      for (const m of await hub.marketVenue(venue).loadMarkets()) marketInfos.push(marketInfo(venue, m));
    }
    await feed({ kind: 'markets', nowMs: hub.nowMs, markets: marketInfos });
    await pollBalances();
    await feed({ kind: 'start', nowMs: hub.nowMs, openOrders: [], positions: [] });
    await drain();

    const chartEvery = Math.max(stepMs, Math.ceil(durationMs / (options.chartPoints ?? 2_000)));
    const equity: EquityPoint[] = [];
    const sample = (tMs: number) => {
      const point = { tMs, equity: equityNow() };
      ledger.equity(point);
      if (
        equity.length === 0 ||
        tMs - (equity[equity.length - 1] as EquityPoint).tMs >= chartEvery ||
        tMs === endMs
      ) {
        equity.push(point);
      }
    };
    sample(startMs);
    let lastPoll = startMs;
    let steps = 0;
    let t = startMs;
    while (t < endMs) {
      const from = t;
      t = Math.min(t + stepMs, endMs);
      // What was held since the last step stayed held until this one.
      ledger.exposure(netNotional(), t - from);
      if (recorded) recordedInputs.push(...replayUntil(t));
      hub.advanceTo(t);
      steps += 1;
      await drain();
      // The recorded inputs as the runtime fed them, in tape order, each at this step's time.
      for (const input of recordedInputs) {
        await feed({ ...input, nowMs: t });
        await drain();
      }
      recordedInputs = [];
      for (const m of recorded ? [] : markets) {
        const exchange = hub.exchange(m.venue);
        const book = exchange.bookSnapshot(m.instrument, depth);
        if (book.bids.length > 0 || book.asks.length > 0) {
          await feed({
            kind: 'book',
            nowMs: t,
            venue: m.venue,
            instrument: m.instrument,
            bids: book.bids,
            asks: book.asks,
            asOfMs: book.tsEventMs || t,
          });
        }
        const funding = exchange.funding(m.instrument);
        if (funding !== undefined) {
          await feed({
            kind: 'funding',
            nowMs: t,
            venue: m.venue,
            instrument: m.instrument,
            rate: funding.predictedRate,
            intervalMs: funding.fundingIntervalMs,
            nextFundingTimeMs: funding.nextFundingTimeMs,
            markPrice: funding.markPrice,
            indexPrice: funding.indexPrice,
            asOfMs: funding.tsEventMs || t,
          });
        }
        await drain();
      }
      if (t - lastPoll >= pollMs) {
        lastPoll = t;
        await pollBalances();
      }
      await feed({ kind: 'tick', nowMs: t });
      await drain();
      sample(t);
      options.onProgress?.(t - startMs, durationMs);
    }
    return {
      strategyId,
      tape: recorded ? recorded.description : `synthetic seed ${options.seed}`,
      seed: options.seed,
      durationMs,
      stepMs,
      steps,
      summary: ledger.summary(),
      equity,
    };
  } finally {
    hub.close();
  }
}
