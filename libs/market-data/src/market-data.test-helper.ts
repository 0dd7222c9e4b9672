/**
 * Test helpers: a PaperVenueHub on a manual clock with the three preset venues, port
 * wrappers that misbehave on purpose (drop a delta, hold the stream back), and a reader
 * of the md.* envelopes on a log.
 */
import type { EventLog } from '@perpmesh/bus';
import { decodeEnvelope, type Envelope, type Subjects } from '@perpmesh/contracts';
import type { InstrumentId } from '@perpmesh/core';
import { createLogger, HealthRegistry, type Logger } from '@perpmesh/runtime';
import { openTestBackend, type TestBackend, type TestBackendKind } from '@perpmesh/testing';
import {
  type BookDelta,
  type FundingInfo,
  type MarketEvent,
  PaperVenueHub,
  StaticVenueDirectory,
  type Subscription,
  type VenuePort,
} from '@perpmesh/venues';
import { buildMarketDataService, type MarketDataService, type MarketDataServiceConfig } from './service.js';

export const START_MS = Date.UTC(2025, 0, 6, 0, 0, 0);
export const VENUES = ['paper', 'paper-lighter', 'paper-extended'] as const;
export const INSTRUMENTS: InstrumentId[] = ['BTC-USDC-PERP', 'ETH-USDC-PERP'];

export function newHub(seed = 7): PaperVenueHub {
  return new PaperVenueHub({
    seed,
    clock: { kind: 'manual' },
    startMs: START_MS,
    accounts: VENUES.map((venueId) => ({ venueId, accountId: 'main', deposit: '100000' })),
  });
}

export function quietLogger(): Logger {
  return createLogger({ service: 'market-data-test', level: 'silent' });
}

/** Forwards everything to `inner`; subclasses change what they need. */
export class ForwardingPort implements VenuePort {
  constructor(readonly inner: VenuePort) {}
  get venue() {
    return this.inner.venue;
  }
  get account() {
    return this.inner.account;
  }
  get apiKeyId() {
    return this.inner.apiKeyId;
  }
  get capabilities() {
    return this.inner.capabilities;
  }
  loadMarkets() {
    return this.inner.loadMarkets();
  }
  fetchOrderBook(instrument: InstrumentId, depth: number) {
    return this.inner.fetchOrderBook(instrument, depth);
  }
  fetchFunding(instruments: InstrumentId[]): Promise<FundingInfo[]> {
    return this.inner.fetchFunding(instruments);
  }
  watchMarket(instruments: InstrumentId[], onEvent: (event: MarketEvent) => void): Promise<Subscription> {
    return this.inner.watchMarket(instruments, onEvent);
  }
  fetchBalances() {
    return this.inner.fetchBalances();
  }
  fetchPositions() {
    return this.inner.fetchPositions();
  }
  fetchOpenOrders(instrument?: InstrumentId) {
    return this.inner.fetchOpenOrders(instrument);
  }
  fetchOrder(ref: Parameters<VenuePort['fetchOrder']>[0]) {
    return this.inner.fetchOrder(ref);
  }
  fetchFills(sinceMs: number) {
    return this.inner.fetchFills(sinceMs);
  }
  createOrder(request: Parameters<VenuePort['createOrder']>[0]) {
    return this.inner.createOrder(request);
  }
  cancelOrder(ref: Parameters<VenuePort['cancelOrder']>[0]) {
    return this.inner.cancelOrder(ref);
  }
  cancelAllOrders(instrument?: InstrumentId) {
    return this.inner.cancelAllOrders(instrument);
  }
  watchUserStream(onEvent: Parameters<VenuePort['watchUserStream']>[0]) {
    return this.inner.watchUserStream(onEvent);
  }
  readiness() {
    return this.inner.readiness();
  }
  close() {
    return this.inner.close();
  }
}

/** Drops the next book delta of `instrument` once armed: a sequence gap, as a lossy feed makes. */
export class GapPort extends ForwardingPort {
  #armed: InstrumentId | undefined;
  dropped: BookDelta | undefined;
  fetches = 0;

  dropNextDelta(instrument: InstrumentId): void {
    this.#armed = instrument;
  }

  override fetchOrderBook(instrument: InstrumentId, depth: number) {
    this.fetches += 1;
    return super.fetchOrderBook(instrument, depth);
  }

  override watchMarket(instruments: InstrumentId[], onEvent: (event: MarketEvent) => void) {
    return super.watchMarket(instruments, (event) => {
      if (event.kind === 'delta' && event.instrument === this.#armed) {
        this.#armed = undefined;
        this.dropped = event;
        return;
      }
      onEvent(event);
    });
  }
}

/** Holds every market event and funding reading back until `release()`: a venue still connecting. */
export class GatedPort extends ForwardingPort {
  #open = false;
  #held: Array<() => void> = [];

  release(): void {
    this.#open = true;
    for (const deliver of this.#held.splice(0)) deliver();
  }

  override async fetchFunding(instruments: InstrumentId[]) {
    return this.#open ? super.fetchFunding(instruments) : [];
  }

  override watchMarket(instruments: InstrumentId[], onEvent: (event: MarketEvent) => void) {
    return super.watchMarket(instruments, (event) => {
      if (this.#open) onEvent(event);
      else this.#held.push(() => onEvent(event));
    });
  }
}

export interface Harness {
  hub: PaperVenueHub;
  /** The test backend the service runs on (its own namespace; removed by `close()`). */
  backend: TestBackend;
  log: EventLog;
  subjects: Subjects;
  mdStream: string;
  health: HealthRegistry;
  service: MarketDataService;
  close(): Promise<void>;
}

/** A test backend of `kind` (default embedded), and the service over the hub's ports on it. */
export async function marketDataHarness(
  options: {
    kind?: TestBackendKind;
    hub?: PaperVenueHub;
    wrap?: (port: VenuePort) => VenuePort;
    config?: Partial<MarketDataServiceConfig>;
  } = {},
): Promise<Harness> {
  const hub = options.hub ?? newHub();
  const backend = await openTestBackend(options.kind ?? 'embedded', { prefix: 'MD' });
  const ports = VENUES.map((v) => (options.wrap ?? ((p: VenuePort) => p))(hub.venue(v, 'main')));
  const health = new HealthRegistry({ nowMs: () => hub.nowMs });
  const service = buildMarketDataService({
    log: backend.log,
    venues: new StaticVenueDirectory(ports),
    subjects: backend.subjects,
    health,
    logger: quietLogger(),
    nowMs: () => hub.nowMs,
    source: 'market-data/test',
    config: {
      venues: Object.fromEntries(VENUES.map((v) => [v, { instruments: INSTRUMENTS }])),
      tuning: { fundingPollIntervalMs: 0, portReadinessPollMs: 0 },
      ...options.config,
    },
  });
  return {
    hub,
    backend,
    log: backend.log,
    subjects: backend.subjects,
    mdStream: backend.stream('MD'),
    health,
    service,
    async close() {
      await service.stop();
      await backend.close();
      hub.close();
    },
  };
}

/** Every envelope on the stream (bounded read), decoded, with its subject. */
export async function readEnvelopes(
  log: EventLog,
  stream: string,
  fromSeq = 1,
): Promise<Array<{ seq: number; subject: string; envelope: Envelope }>> {
  const out: Array<{ seq: number; subject: string; envelope: Envelope }> = [];
  const info = await log.streamInfo(stream);
  if (info.lastSeq < fromSeq) return out;
  for await (const msg of log.read({ stream, fromSeq })) {
    out.push({ seq: msg.seq, subject: msg.subject, envelope: decodeEnvelope(msg.data) });
  }
  return out;
}

/** Steps the hub `steps` times by `stepMs`. */
export function advance(hub: PaperVenueHub, steps: number, stepMs = 1000): void {
  for (let i = 0; i < steps; i++) hub.advanceTo(hub.nowMs + stepMs);
}
