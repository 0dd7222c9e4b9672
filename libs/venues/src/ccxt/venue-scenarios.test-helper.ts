/**
 * The setup every ccxt venue test shares: a sim market with a well-funded counterparty,
 * one emulator serving it on 127.0.0.1, ports opened against that emulator (closed
 * together), and the counterparty's orders placed straight into the sim. What differs per
 * venue (the emulator, the profile, the credentials) is the caller's.
 */
import assert from 'node:assert/strict';
import { Decimal, type InstrumentId } from '@perpmesh/core';
import { bareMarket, type EmulatorMarket, type EmulatorServer } from '@perpmesh/emulators';
import { eventually } from '@perpmesh/testing';
import type { UserStreamEvent, VenueFill, VenueOrder, VenuePort } from '../port.js';
import { CcxtVenuePort, type CcxtVenuePortOptions } from './port.js';

/** The counterparty's account at the emulator. */
export const MAKER = 'counterparty';

/** Funding settling every second, so a test sees several settlements. */
export const FUNDING_EVERY_SECOND = {
  intervalMs: 1_000,
  interestRate: '0.0001',
  premiumClamp: '0.0005',
  divisor: '1',
  capPerInterval: '0.003',
  rateDecimals: 8,
};

type VenueConfig = Parameters<typeof bareMarket>[0];

/** A sim market of `config` starting now (on a venue clock `clockSkewMs` ahead of ours), the counterparty funded and `instrument` priced. */
export function makerMarket(
  config: VenueConfig,
  instrument: InstrumentId,
  prices: { markPrice: string; indexPrice: string },
  clockSkewMs = 0,
): EmulatorMarket {
  const market = bareMarket(config, Date.now() + clockSkewMs, clockSkewMs);
  market.exchange.deposit(MAKER, '10000000');
  market.exchange.setPrices(instrument, prices);
  return market;
}

/** What the tests need of a venue emulator (every one in @perpmesh/emulators is one). */
export interface VenueEmulator {
  readonly server: EmulatorServer;
  readonly exchange: EmulatorMarket['exchange'];
  readonly wsUrl: string;
  start(): Promise<string>;
  close(): Promise<void>;
}

/** The per-venue options of the ports a test opens; the rest are the shared defaults. */
export type VenuePortOptions = Pick<CcxtVenuePortOptions, 'venue' | 'profile' | 'credentials'> &
  Partial<CcxtVenuePortOptions>;

/** The counterparty places a limit order on `emulator` (its own account, straight into the sim). */
export function placeMakerOrder(
  emulator: Pick<VenueEmulator, 'server' | 'exchange'>,
  instrument: InstrumentId,
  side: 'buy' | 'sell',
  price: string,
  size: string,
  timeInForce: 'gtc' | 'ioc' = 'gtc',
): void {
  const result = emulator.exchange.placeOrder({
    accountId: MAKER,
    instrumentId: instrument,
    side,
    type: 'limit',
    timeInForce,
    price,
    size,
  });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.reject));
  emulator.server.flush();
}

/** What the shared scenarios need of a venue under test: its emulator and the counterparty. */
export interface MakerVenue {
  readonly emulator: Pick<VenueEmulator, 'exchange'>;
  makerOrder(side: 'buy' | 'sell', price: string, size: string, timeInForce?: 'gtc' | 'ioc'): void;
}

export class EmulatedVenue<E extends VenueEmulator> {
  readonly #opened: CcxtVenuePort[] = [];

  private constructor(
    readonly emulator: E,
    private readonly instrument: InstrumentId,
    private readonly baseUrl: string,
    private readonly portOptions: VenuePortOptions,
  ) {}

  /** Starts `emulator`; ports opened later trade `instrument` on it with `portOptions`. */
  static async start<E extends VenueEmulator>(
    emulator: E,
    instrument: InstrumentId,
    portOptions: VenuePortOptions,
  ): Promise<EmulatedVenue<E>> {
    const baseUrl = await emulator.start();
    return new EmulatedVenue(emulator, instrument, baseUrl, portOptions);
  }

  #options(overrides: Partial<CcxtVenuePortOptions>): CcxtVenuePortOptions {
    return {
      account: 'main',
      apiKeyId: 'default',
      instruments: [this.instrument],
      endpoints: { testnet: false, baseUrl: this.baseUrl, wsUrl: this.emulator.wsUrl },
      callTimeoutMs: 5_000,
      streamBackoff: { initialDelayMs: 50, maxDelayMs: 500 },
      ...this.portOptions,
      ...overrides,
    };
  }

  /** A port against the emulator, closed by `close()`. */
  async openPort(overrides: Partial<CcxtVenuePortOptions> = {}): Promise<CcxtVenuePort> {
    const port = await CcxtVenuePort.open(this.#options(overrides));
    this.#opened.push(port);
    return port;
  }

  /** The counterparty places a limit order (its own account, straight into the sim). */
  makerOrder(side: 'buy' | 'sell', price: string, size: string, timeInForce: 'gtc' | 'ioc' = 'gtc'): void {
    placeMakerOrder(this.emulator, this.instrument, side, price, size, timeInForce);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#opened.map((p) => p.close()));
    await this.emulator.close();
  }
}

/**
 * `port` buys 0.1 at 60000 from the counterparty, then mark rises above index (longs pay)
 * and the test waits for a few settlements (FUNDING_EVERY_SECOND). Returns when it began.
 */
export async function holdLongWhileFundingSettles(
  venue: MakerVenue,
  port: Pick<VenuePort, 'createOrder'>,
  instrument: InstrumentId,
  clientOrderId: string,
): Promise<number> {
  const since = Date.now();
  venue.makerOrder('sell', '60000', '0.1');
  await port.createOrder({
    clientOrderId,
    instrument,
    side: 'buy',
    type: 'limit',
    timeInForce: 'ioc',
    price: new Decimal('60000'),
    size: new Decimal('0.1'),
    reduceOnly: false,
  });
  const exchange = venue.emulator.exchange;
  exchange.setPrices(instrument, { markPrice: '60060', indexPrice: '60000' });
  await eventually(
    'a few settlements',
    () => exchange.balance('main').fundingNet.lt(0) && Date.now() - since > 2_500,
    10_000,
  );
  return since;
}

/**
 * The counterparty sells 0.002, then 0.003, at 60000 into our resting 0.005 buy
 * `clientOrderId` at that price; waits until the venue reports it partially filled, then
 * filled, and until both fills are in `events` (our user stream). Returns the filled order
 * and its streamed fills.
 */
export async function fillInTwoParts(
  venue: MakerVenue,
  port: Pick<VenuePort, 'fetchOrder'>,
  instrument: InstrumentId,
  clientOrderId: string,
  events: readonly UserStreamEvent[],
): Promise<{ filled: VenueOrder; fills: VenueFill[] }> {
  const ref = { instrument, clientOrderId };
  venue.makerOrder('sell', '60000', '0.002');
  await eventually(
    'partial fill',
    async () => (await port.fetchOrder(ref))?.status === 'partially_filled',
    5_000,
  );
  venue.makerOrder('sell', '60000', '0.003');
  const filled = await eventually(
    'filled',
    async () => {
      const o = await port.fetchOrder(ref);
      return o?.status === 'filled' ? o : undefined;
    },
    5_000,
  );
  const fills = () =>
    events.flatMap((e) => (e.kind === 'fill' && e.fill.clientOrderId === clientOrderId ? [e.fill] : []));
  await eventually('both fills streamed', () => fills().length === 2, 5_000);
  return { filled, fills: fills() };
}
