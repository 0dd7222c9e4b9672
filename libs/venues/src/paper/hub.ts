/**
 * PaperVenueHub: one simulated exchange world (libs/sim `SimWorld`) with several named
 * paper venues, their funded accounts, a clock, and the fan-out of the world's events to
 * subscribers (market events per venue and instrument, user events per venue and account).
 *
 * - Time moves only through the clock: `advanceTo(nowMs)` (manual) or a timer stepping
 *   to the wall clock (realtime). Commands between steps run at the venue's clock.
 * - Every command's events are published before the command returns, so at any await
 *   point the world's outboxes are empty: a book snapshot taken then has exactly the seq
 *   of the last delta delivered, and the next delta continues from it.
 * - Delivery is in world order for every subscriber, even when a subscriber sends a
 *   command from inside its callback (events are queued, never delivered re-entrantly).
 * - Deterministic: with a manual clock and a seed, the same calls give the same events.
 *
 * `hub.venue(venueId, accountId, apiKeyId?)` is the VenuePort of one account.
 */
import {
  type AccountId,
  type DecimalInput,
  type EpochMs,
  errorText,
  type InstrumentId,
  PerpmeshError,
  ValidationError,
  type VenueId,
} from '@perpmesh/core';
import {
  defaultWorldConfig,
  type FillEvent,
  type FundingPaymentEvent,
  isUserEvent,
  type SimEvent,
  type SimExchange,
  type MarketEvent as SimMarketEvent,
  SimWorld,
  type SimWorldConfig,
  type UserEvent,
  type VenueConfig,
  type WorldVenueParams,
} from '@perpmesh/sim';
import { PUBLIC_ACCOUNT } from '../port.js';
import { SimulatedVenue } from './port.js';
import {
  DEFAULT_API_KEY_ID,
  DEFAULT_FILL_HISTORY_LIMIT,
  DEFAULT_PAPER_VENUE_IDS,
  type PaperAccountSetup,
  type PaperClock,
  type PaperVenueSetup,
  parseApiKeyId,
  parsePaperAccountId,
  resolvePaperVenueConfig,
  validateAccountSetups,
} from './setup.js';

export interface PaperVenueHubOptions {
  /** Seed of the synthetic market: non-negative safe integer. */
  readonly seed: number;
  readonly clock: PaperClock;
  /** World start. Manual clock: required. Realtime: default the clock's now. */
  readonly startMs?: EpochMs;
  /** Default: the three presets `paper`, `paper-lighter`, `paper-extended`. */
  readonly venues?: readonly PaperVenueSetup[];
  /** Funded accounts, deposited before the first step. */
  readonly accounts?: readonly PaperAccountSetup[];
  /** Fills, and funding payments, kept per account for `fetchFills` / `fetchFundingPayments` (oldest dropped first). */
  readonly fillHistoryLimit?: number;
  /** The world's market (libs/sim SimWorldConfig.market): `tape` runs no synthetic participants. Default synthetic. */
  readonly market?: SimWorldConfig['market'];
  /** A subscriber threw, or a realtime step failed. Default: `process.emitWarning`. */
  readonly onError?: (error: unknown, where: string) => void;
}

/** `idle`: constructed (a manual clock already works); `running`: started; `closed`: for good. */
export type PaperVenueHubState = 'idle' | 'running' | 'closed';

export interface PaperHubStep {
  readonly nowMs: EpochMs;
  readonly eventCount: number;
  /** Wall time the step took (diagnostics only; never part of an event). */
  readonly durationMs: number;
}

export interface PaperVenueHubStatus {
  readonly state: PaperVenueHubState;
  readonly clock: PaperClock['kind'];
  readonly nowMs: EpochMs;
  readonly steps: number;
  /** The last realtime step's failure, until a step succeeds again. */
  readonly lastStepError: string | undefined;
}

/** The hub refuses work after `close()`. */
export class PaperHubClosedError extends PerpmeshError {
  constructor() {
    super('VENUE_DISCONNECTED', 'paper venue hub is closed');
  }
}

type MarketListener = (event: SimMarketEvent) => void;
type UserListener = (event: UserEvent) => void;

interface AccountState {
  readonly fills: FillEvent[];
  /** The account's funding payments, oldest first (the venue's funding ledger; same bound as fills). */
  readonly fundingPayments: FundingPaymentEvent[];
  /** Highest nonce per API key the venue may have consumed (see `noteNonce`). */
  readonly lastNonce: Map<string, number>;
}

const key = (a: string, b: string) => `${a}\u0000${b}`;

export class PaperVenueHub {
  readonly clock: PaperClock;
  readonly #world: SimWorld;
  readonly #configs = new Map<VenueId, VenueConfig>();
  readonly #accounts = new Map<string, AccountState>();
  readonly #ports = new Map<string, SimulatedVenue>();
  #marketPortCount = 0;
  readonly #marketListeners = new Map<string, Set<MarketListener>>();
  readonly #userListeners = new Map<string, Set<UserListener>>();
  readonly #stepListeners = new Set<(step: PaperHubStep) => void>();
  readonly #queue: SimEvent[] = [];
  readonly #fillHistoryLimit: number;
  readonly #onError: (error: unknown, where: string) => void;
  #dispatching = false;
  #state: PaperVenueHubState = 'idle';
  #timer: NodeJS.Timeout | undefined;
  #steps = 0;
  #lastStepError: string | undefined;

  constructor(options: PaperVenueHubOptions) {
    this.clock = validateClock(options.clock);
    const startMs =
      options.startMs ??
      (this.clock.kind === 'realtime'
        ? Math.floor((this.clock.nowMs ?? Date.now)())
        : missing('startMs', 'is required with a manual clock'));
    this.#fillHistoryLimit = options.fillHistoryLimit ?? DEFAULT_FILL_HISTORY_LIMIT;
    if (!Number.isSafeInteger(this.#fillHistoryLimit) || this.#fillHistoryLimit < 0) {
      throw new ValidationError(
        'fillHistoryLimit',
        `must be a whole number >= 0, got ${this.#fillHistoryLimit}`,
      );
    }
    this.#onError = options.onError ?? defaultOnError;
    if (!Number.isSafeInteger(options.seed) || options.seed < 0) {
      throw new ValidationError('seed', `must be a non-negative safe integer, got ${String(options.seed)}`);
    }

    const setups: readonly PaperVenueSetup[] =
      options.venues ?? DEFAULT_PAPER_VENUE_IDS.map((venueId) => ({ venueId }));
    if (setups.length === 0) throw new ValidationError('venues', 'must list at least one venue');
    const venues: WorldVenueParams[] = setups.map((setup, n) => {
      const config = resolvePaperVenueConfig(setup, `venues[${n}]`);
      if (this.#configs.has(config.venueId)) {
        throw new ValidationError(`venues[${n}].venueId`, `duplicate venue ${config.venueId}`);
      }
      this.#configs.set(config.venueId, config);
      // The market model (basis, market maker, noise) of the preset the venue starts from.
      const preset = setup.preset ?? setup.venueId;
      const instruments = config.instruments.map((i) => i.instrumentId);
      const template = defaultWorldConfig({ seed: options.seed, startMs, venueIds: [preset], instruments })
        .venues[0]!;
      return { ...template, config };
    });
    // Catalog instruments a venue lists (libs/sim catalog.ts) get their index; none: the BTC/ETH world.
    const instruments = venues.flatMap((v) => v.config.instruments.map((i) => i.instrumentId));
    const worldConfig: SimWorldConfig = {
      ...defaultWorldConfig({ seed: options.seed, startMs, venueIds: [], instruments }),
      venues,
      ...(options.market === undefined ? {} : { market: options.market }),
      // User events only for hub accounts and subscribed streams: the rest would be dropped in #route.
      observeAccount: (venueId, accountId) =>
        this.#accounts.has(key(venueId, accountId)) ||
        (this.#userListeners.get(key(venueId, accountId))?.size ?? 0) > 0,
    };
    this.#world = new SimWorld(worldConfig);

    for (const account of validateAccountSetups(options.accounts ?? [], [...this.#configs.keys()])) {
      this.#world.exchange(account.venueId).deposit(account.accountId, account.deposit);
      this.#accountState(account.venueId, account.accountId);
    }
    // The first step sets marks and fills the books, so every venue is tradable at once.
    this.#publish(this.#world.step(startMs));
  }

  // ---- world -------------------------------------------------------------------------------

  get state(): PaperVenueHubState {
    return this.#state;
  }

  /** The world clock (ms since epoch). */
  get nowMs(): EpochMs {
    return this.#world.nowMs;
  }

  venueIds(): VenueId[] {
    return [...this.#configs.keys()];
  }

  venueConfig(venueId: VenueId): VenueConfig {
    const config = this.#configs.get(venueId);
    if (config === undefined) {
      throw new ValidationError(
        'venue',
        `${JSON.stringify(venueId)} is not a venue of this hub (${this.venueIds().join(', ')})`,
      );
    }
    return config;
  }

  /** Accounts this hub funded, per venue. */
  accounts(): { venueId: VenueId; accountId: AccountId }[] {
    return [...this.#accounts.keys()].map((k) => {
      const [venueId, accountId] = k.split('\u0000') as [string, string];
      return { venueId, accountId };
    });
  }

  hasAccount(venueId: VenueId, accountId: AccountId): boolean {
    return this.#accounts.has(key(venueId, accountId));
  }

  status(): PaperVenueHubStatus {
    return {
      state: this.#state,
      clock: this.clock.kind,
      nowMs: this.#world.nowMs,
      steps: this.#steps,
      lastStepError: this.#lastStepError,
    };
  }

  /**
   * Read access to a venue's exchange (queries). Send commands through `command()` so
   * their events are published at once.
   */
  exchange(venueId: VenueId): SimExchange {
    this.venueConfig(venueId);
    return this.#world.exchange(venueId);
  }

  /** Runs a command against a venue and publishes its events before returning. */
  command<T>(venueId: VenueId, fn: (exchange: SimExchange) => T): T {
    this.#assertOpen();
    const exchange = this.exchange(venueId);
    try {
      return fn(exchange);
    } finally {
      // Same time: the world only drains the outboxes.
      this.#publish(this.#world.step(this.#world.nowMs));
    }
  }

  /** Adds collateral (opening the account on first deposit). */
  deposit(venueId: VenueId, accountId: AccountId, amount: DecimalInput): void {
    const id = parsePaperAccountId(accountId, 'account');
    this.command(venueId, (exchange) => exchange.deposit(id, amount));
    this.#accountState(venueId, id);
  }

  /** The VenuePort of one funded account (one instance per venue, account and API key until closed). */
  venue(venueId: VenueId, accountId: AccountId, apiKeyId: string = DEFAULT_API_KEY_ID): SimulatedVenue {
    this.#assertOpen();
    this.venueConfig(venueId);
    parseApiKeyId(apiKeyId, 'apiKeyId');
    if (!this.hasAccount(venueId, accountId)) {
      throw new ValidationError(
        'account',
        `${JSON.stringify(accountId)} has no account on ${venueId}: fund it first (hub accounts or deposit())`,
      );
    }
    const portKey = `${venueId}\u0000${accountId}\u0000${apiKeyId}`;
    let port = this.#ports.get(portKey);
    if (port === undefined) {
      port = new SimulatedVenue(this, venueId, accountId, apiKeyId, () => this.#ports.delete(portKey));
      this.#ports.set(portKey, port);
    }
    return port;
  }

  /**
   * A public port of a venue: market data only, no account (`PUBLIC_ACCOUNT`); its
   * account and trading methods refuse. What market-data and strategy open. A new port
   * per call (it holds no state worth sharing), so closing one process's directory
   * leaves the others' ports open.
   */
  marketVenue(venueId: VenueId): SimulatedVenue {
    this.#assertOpen();
    this.venueConfig(venueId);
    this.#marketPortCount += 1;
    const portKey = `${venueId}\u0000${PUBLIC_ACCOUNT}\u0000${this.#marketPortCount}`;
    const port = new SimulatedVenue(this, venueId, PUBLIC_ACCOUNT, '', () => this.#ports.delete(portKey));
    this.#ports.set(portKey, port);
    return port;
  }

  // ---- clock ---------------------------------------------------------------------------------

  /** Starts the clock: a realtime hub steps the world every tick from now on. */
  start(): void {
    this.#assertOpen();
    if (this.#state === 'running') return;
    this.#state = 'running';
    if (this.clock.kind === 'realtime') {
      const { tickIntervalMs } = this.clock;
      this.#tick();
      this.#timer = setInterval(() => this.#tick(), tickIntervalMs);
      // The services keep the process alive; a forgotten hub must not.
      this.#timer.unref();
    }
  }

  /** Manual clock only: steps the world to `nowMs` (>= now) and publishes what happened. */
  advanceTo(nowMs: EpochMs): void {
    this.#assertOpen();
    if (this.clock.kind !== 'manual') {
      throw new PerpmeshError(
        'FAILED_PRECONDITION',
        'advanceTo() needs a manual clock; this hub runs in realtime',
      );
    }
    this.#step(nowMs);
  }

  /** Registers a listener called after every clock step. Returns the unsubscribe function. */
  onStep(listener: (step: PaperHubStep) => void): () => void {
    this.#stepListeners.add(listener);
    return () => this.#stepListeners.delete(listener);
  }

  #tick(): void {
    if (this.#state !== 'running' || this.clock.kind !== 'realtime') return;
    const now = Math.floor((this.clock.nowMs ?? Date.now)());
    try {
      // A wall clock stepped back (NTP) holds the world still rather than failing.
      this.#step(Math.max(this.#world.nowMs, now));
      this.#lastStepError = undefined;
    } catch (error) {
      this.#lastStepError = errorText(error);
      this.#onError(error, 'paper hub step');
    }
  }

  #step(nowMs: EpochMs): void {
    const t0 = performance.now();
    const events = this.#world.step(nowMs);
    this.#publish(events);
    this.#steps += 1;
    const step: PaperHubStep = { nowMs, eventCount: events.length, durationMs: performance.now() - t0 };
    for (const listener of [...this.#stepListeners]) {
      try {
        listener(step);
      } catch (error) {
        this.#onError(error, 'step listener');
      }
    }
  }

  /** Stops the clock, ends every port and subscription. Idempotent. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const port of [...this.#ports.values()]) port.detach();
    this.#ports.clear();
    this.#marketListeners.clear();
    this.#userListeners.clear();
    this.#stepListeners.clear();
  }

  #assertOpen(): void {
    if (this.#state === 'closed') throw new PaperHubClosedError();
  }

  // ---- fan-out -------------------------------------------------------------------------------

  /** Market events (book deltas, trades, funding) of the venue's instruments. */
  subscribeMarket(
    venueId: VenueId,
    instruments: readonly InstrumentId[],
    listener: MarketListener,
  ): () => void {
    this.#assertOpen();
    this.venueConfig(venueId);
    const keys = [...new Set(instruments)].map((i) => key(venueId, i));
    for (const k of keys) addTo(this.#marketListeners, k, listener);
    return () => {
      for (const k of keys) removeFrom(this.#marketListeners, k, listener);
    };
  }

  /** The user stream of one account: orders, fills, balances, positions, funding payments, liquidations. */
  subscribeUser(venueId: VenueId, accountId: AccountId, listener: UserListener): () => void {
    this.#assertOpen();
    this.venueConfig(venueId);
    const k = key(venueId, accountId);
    addTo(this.#userListeners, k, listener);
    return () => removeFrom(this.#userListeners, k, listener);
  }

  /** Fills of a funded account at or after `sinceMs`, oldest first (bounded history). */
  fills(venueId: VenueId, accountId: AccountId, sinceMs: EpochMs): FillEvent[] {
    const state = this.#accounts.get(key(venueId, accountId));
    return state === undefined ? [] : since(state.fills, sinceMs);
  }

  /** Funding payments of a funded account at or after `sinceMs`, oldest first (bounded history). */
  fundingPayments(venueId: VenueId, accountId: AccountId, sinceMs: EpochMs): FundingPaymentEvent[] {
    const state = this.#accounts.get(key(venueId, accountId));
    return state === undefined ? [] : since(state.fundingPayments, sinceMs);
  }

  /**
   * Records that a request signed with `nonce` reached the venue's nonce check and was not
   * refused by it, so the venue may have consumed it (Lighter consumes a nonce even when
   * the request then fails). Over-counting is safe: a resync only ever moves forward.
   */
  noteNonce(venueId: VenueId, accountId: AccountId, apiKey: string, nonce: number): void {
    const state = this.#accountState(venueId, accountId);
    const last = state.lastNonce.get(apiKey);
    if (last === undefined || nonce > last) state.lastNonce.set(apiKey, nonce);
  }

  /** The highest nonce of the key the venue may have consumed; undefined when none. */
  lastNonce(venueId: VenueId, accountId: AccountId, apiKey: string): number | undefined {
    return this.#accounts.get(key(venueId, accountId))?.lastNonce.get(apiKey);
  }

  #accountState(venueId: VenueId, accountId: AccountId): AccountState {
    const k = key(venueId, accountId);
    let state = this.#accounts.get(k);
    if (state === undefined) {
      state = { fills: [], fundingPayments: [], lastNonce: new Map() };
      this.#accounts.set(k, state);
    }
    return state;
  }

  #publish(events: readonly SimEvent[]): void {
    for (const event of events) this.#queue.push(event);
    // A command sent from a callback queues its events behind the ones being delivered.
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      for (let i = 0; i < this.#queue.length; i++) this.#route(this.#queue[i]!);
    } finally {
      this.#queue.length = 0;
      this.#dispatching = false;
    }
  }

  #route(event: SimEvent): void {
    if (isUserEvent(event)) {
      const k = key(event.venueId, event.accountId);
      if (event.type === 'fill' || event.type === 'funding_payment') {
        const state = this.#accounts.get(k);
        if (state !== undefined && this.#fillHistoryLimit > 0) {
          const history: SimEvent[] = event.type === 'fill' ? state.fills : state.fundingPayments;
          history.push(event);
          if (history.length > this.#fillHistoryLimit)
            history.splice(0, history.length - this.#fillHistoryLimit);
        }
      }
      this.#deliver(this.#userListeners.get(k), event, 'user stream listener');
    } else {
      this.#deliver(
        this.#marketListeners.get(key(event.venueId, event.instrumentId)),
        event,
        'market listener',
      );
    }
  }

  #deliver<E>(listeners: Set<(event: E) => void> | undefined, event: E, where: string): void {
    if (listeners === undefined || listeners.size === 0) return;
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.#onError(error, where);
      }
    }
  }
}

function validateClock(clock: PaperClock): PaperClock {
  if (clock?.kind === 'manual') return clock;
  if (clock?.kind === 'realtime') {
    const ms = clock.tickIntervalMs;
    if (!Number.isSafeInteger(ms) || ms < 1 || ms > 60_000) {
      throw new ValidationError(
        'clock.tickIntervalMs',
        `must be a whole number of ms in [1, 60000], got ${String(ms)}`,
      );
    }
    return clock;
  }
  throw new ValidationError(
    'clock.kind',
    `must be "manual" or "realtime", got ${JSON.stringify((clock as { kind?: unknown })?.kind)}`,
  );
}

function missing(field: string, message: string): never {
  throw new ValidationError(field, message);
}

function defaultOnError(error: unknown, where: string): void {
  process.emitWarning(`paper venue hub: ${where} failed: ${errorText(error)}`);
}

function addTo<L>(map: Map<string, Set<L>>, k: string, listener: L): void {
  let set = map.get(k);
  if (set === undefined) {
    set = new Set();
    map.set(k, set);
  }
  set.add(listener);
}

function removeFrom<L>(map: Map<string, Set<L>>, k: string, listener: L): void {
  const set = map.get(k);
  if (set === undefined) return;
  set.delete(listener);
  if (set.size === 0) map.delete(k);
}

/** The tail of a time-ordered history from the first event at or after `sinceMs`. */
function since<T extends { readonly tsEventMs: EpochMs }>(history: readonly T[], sinceMs: EpochMs): T[] {
  let lo = 0;
  let hi = history.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (history[mid]!.tsEventMs < sinceMs) lo = mid + 1;
    else hi = mid;
  }
  return history.slice(lo);
}
