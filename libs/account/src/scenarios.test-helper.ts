/**
 * The account service's behaviour, as one suite run against two backends (embedded log and
 * store; NATS JetStream and Redis): a simulated exchange (PaperVenueHub, manual clock) is
 * the venue, fills arrive as the exec.fill events the execution service would publish.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { ProjectionStore } from '@perpmesh/bus';
import {
  decodeEnvelope,
  type Envelope,
  FILL_ORIGIN,
  factEventId,
  liquidityToProto,
  newEnvelope,
  type PayloadCase,
  type PayloadOf,
  PositionSide,
  publishEnvelope,
  StateSource,
  sideToProto,
} from '@perpmesh/contracts';
import { dec } from '@perpmesh/core';
import { createLogger, HealthRegistry } from '@perpmesh/runtime';
import type { StateStore } from '@perpmesh/state';
import { eventually, openTestBackend, type TestBackend, type TestBackendKind } from '@perpmesh/testing';
import {
  PaperVenueHub,
  type PlaceOrderRequest,
  StaticVenueDirectory,
  type VenueClockOffset,
  VenueDisconnectedError,
  type VenueFill,
  type VenuePort,
} from '@perpmesh/venues';
import type { AccountSettingsInput } from './config.js';
import { BalancesUnavailableError } from './errors.js';
import { type AccountService, accountComponents, buildAccountService } from './service.js';

export const T0 = Date.UTC(2026, 0, 1);
export const BTC = 'BTC-USDC-PERP';
export const FUNDING_INTERVAL_MS = 60_000;

/** A venue port whose reads can be made to fail (a venue outage). Everything else is the paper port. */
export class FlakyPort {
  failReads = false;
  /** What the port says of the venue's clock offset (the paper venue measures none). */
  clock: VenueClockOffset | undefined;
  readonly inner: VenuePort;
  constructor(inner: VenuePort) {
    this.inner = inner;
    // biome-ignore lint/correctness/noConstructorReturn: a transparent proxy over the paper port
    return new Proxy(this, {
      get: (target, prop, receiver) => {
        if (prop in target) return Reflect.get(target, prop, receiver);
        const value = Reflect.get(inner, prop, inner);
        if (typeof value !== 'function') return value;
        if (['fetchBalances', 'fetchPositions', 'fetchOpenOrders'].includes(prop as string)) {
          return async (...args: unknown[]) => {
            if (target.failReads)
              throw new VenueDisconnectedError(inner.venue, 'simulated outage: connection refused');
            return (value as (...a: unknown[]) => unknown).apply(inner, args);
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(inner);
      },
    });
  }

  clockOffset(): VenueClockOffset | undefined {
    return this.clock;
  }
}

export const TEST_SETTINGS: AccountSettingsInput = {
  pollIntervalMs: 0,
  housekeepingIntervalMs: 0,
  driftGraceMs: 5_000,
  positionMarkPublishIntervalMs: 1_000,
};

export interface World {
  readonly hub: PaperVenueHub;
  readonly port: FlakyPort & VenuePort;
  readonly health: HealthRegistry;
  readonly backend: TestBackend;
  build(overrides?: { state?: ProjectionStore; settings?: AccountSettingsInput }): AccountService;
}

/** A store whose calls can be held (a paused or partitioned process). */
export function pausable(store: StateStore) {
  let gate: Promise<void> | undefined;
  let open = () => {};
  const proxy = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (gate) await gate;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    store: proxy as StateStore,
    pause: () => {
      gate = new Promise((resolve) => {
        open = resolve;
      });
    },
    resume: () => {
      gate = undefined;
      open();
    },
  };
}

export function makeWorld(backend: TestBackend): World {
  const hub = new PaperVenueHub({
    seed: 7,
    clock: { kind: 'manual' },
    startMs: T0,
    venues: [{ venueId: 'paper', overrides: { funding: { intervalMs: FUNDING_INTERVAL_MS } } }],
    accounts: [{ venueId: 'paper', accountId: 'main', deposit: '100000' }],
  });
  const port = new FlakyPort(hub.venue('paper', 'main')) as FlakyPort & VenuePort;
  const health = new HealthRegistry({ nowMs: () => hub.nowMs });
  const logger = createLogger({ service: 'account', level: 'silent' });
  return {
    hub,
    port,
    health,
    backend,
    build: (overrides = {}) =>
      buildAccountService({
        log: backend.log,
        state: overrides.state ?? backend.state,
        venues: new StaticVenueDirectory([port]),
        subjects: backend.subjects,
        health,
        logger,
        nowMs: () => hub.nowMs,
        source: 'account/test',
        config: { ...TEST_SETTINGS, ...overrides.settings },
        streamPrefix: backend.streamPrefix,
      }),
  };
}

/** What the execution service publishes for a venue fill: exec.fill with a fact id. */
export function fillEnvelope(venue: string, account: string, fill: VenueFill, id?: string): Envelope {
  return newEnvelope({
    source: 'execution/test',
    tsEventMs: fill.tsEventMs,
    tsInitMs: fill.tsEventMs,
    id: id ?? factEventId(fill.tsEventMs, `fill|${venue}|${account}|${fill.tradeId}`),
    payload: {
      $case: 'fill',
      value: {
        venue,
        account,
        instrument: fill.instrument,
        clientOrderId: fill.clientOrderId,
        venueOrderId: fill.venueOrderId,
        tradeId: fill.tradeId,
        side: sideToProto(fill.side),
        price: fill.price.toFixed(),
        size: fill.size.toFixed(),
        fee: fill.fee.toFixed(),
        feeCurrency: fill.feeCurrency,
        liquidity: liquidityToProto(fill.liquidity),
        filledAtMs: fill.tsEventMs,
        origin: FILL_ORIGIN.toProto(fill.origin ?? 'order'),
      },
    },
  });
}

export function marketOrder(clientOrderId: string, side: 'buy' | 'sell', size: string): PlaceOrderRequest {
  return {
    clientOrderId,
    instrument: BTC,
    side,
    type: 'market',
    timeInForce: 'ioc',
    size: dec(size),
    reduceOnly: false,
  };
}

/** Places a market order on the paper port and returns its fills (as the venue reports them). */
export async function trade(world: World, clientOrderId: string, side: 'buy' | 'sell', size: string) {
  const order = await world.port.createOrder(marketOrder(clientOrderId, side, size));
  const fills = (await world.port.fetchFills(T0)).filter((f) => f.venueOrderId === order.venueOrderId);
  assert.ok(fills.length > 0, `order ${clientOrderId} filled`);
  return fills;
}

export async function publishFills(world: World, fills: readonly VenueFill[]): Promise<void> {
  for (const f of fills) {
    await publishEnvelope(world.backend.log, fillEnvelope('paper', 'main', f), world.backend.subjects);
  }
}

/** Every event of one payload kind in the ACCT stream, in order. */
export async function acctEvents<C extends PayloadCase>(
  backend: TestBackend,
  kind: C,
): Promise<PayloadOf<C>[]> {
  const out: PayloadOf<C>[] = [];
  for await (const msg of backend.log.read({ stream: backend.stream('ACCT') })) {
    const envelope = decodeEnvelope(msg.data);
    if (envelope.payload?.$case === kind) out.push(envelope.payload.value as PayloadOf<C>);
  }
  return out;
}

/** The size of the (one) position as projected from the log; undefined while only the venue reports it. */
export function projectedSize(svc: AccountService): string | undefined {
  const [p] = svc.positions();
  return p?.source === 'projection' ? p.size.toFixed() : undefined;
}

/** Sum of the sizes of a list of fills (decimal text). */
export function sizeOf(fills: readonly VenueFill[]): string {
  return fills.reduce((acc, f) => acc.plus(f.size), dec(0)).toFixed();
}

export function describeAccountScenarios(kind: TestBackendKind): void {
  describe(`account service (${kind})`, () => {
    let backend: TestBackend;
    let world: World;
    const services: AccountService[] = [];
    const start = async (overrides?: Parameters<World['build']>[0]) => {
      const svc = world.build(overrides);
      services.push(svc);
      await svc.start();
      return svc;
    };

    afterEach(async () => {
      for (const svc of services.splice(0)) await svc.stop();
      world?.hub.close();
      await backend?.close();
    });

    const fresh = async () => {
      backend = await openTestBackend(kind, { prefix: 'ACC' });
      world = makeWorld(backend);
    };

    test('a balance is known true from when it was polled (our clock), also on acct.balance; a large venue clock offset is shown', async () => {
      await fresh();
      world.port.clock = { offsetMs: -1_443, uncertaintyMs: 20, measuredAtMs: T0 };
      const svc = await start();
      world.hub.advanceTo(world.hub.nowMs + 700);
      const polledAtMs = world.hub.nowMs;
      await svc.refresh();
      const [balance] = svc.balances();
      assert.equal(balance?.observedAtMs, polledAtMs);
      const component = world.health.component(accountComponents.balances('paper', 'main'));
      assert.equal(component?.ready, true);
      assert.equal(component?.detail?.venueClockOffsetMs, -1_443);
      world.port.clock = { offsetMs: 300, uncertaintyMs: 20, measuredAtMs: T0 };
      await svc.refresh();
      assert.equal(
        world.health.component(accountComponents.balances('paper', 'main'))?.detail?.venueClockOffsetMs,
        undefined,
        'small: not shown',
      );
      await svc.idle();
      const events = await acctEvents(backend, 'balance');
      assert.ok(events.length > 0);
      assert.ok(
        events.every((e) => (e.observedAtMs ?? 0) > 0),
        'every acct.balance says when it was observed',
      );
    });

    test('balances never fetched are unavailable (not zero) with the reason; after a fetch, the real balance', async () => {
      await fresh();
      world.port.failReads = true;
      const svc = await start();
      assert.throws(
        () => svc.balances(),
        (err: unknown) =>
          err instanceof BalancesUnavailableError &&
          err.code === 'UNAVAILABLE' &&
          /paper\/main: last fetch failed: .*simulated outage/.test(err.message),
      );
      assert.throws(() => svc.summary(), BalancesUnavailableError);
      const component = world.health.component(accountComponents.balances('paper', 'main'));
      assert.equal(component?.ready, false);
      assert.match(
        component?.reason ?? '',
        /balances: not fetched yet: last fetch failed: .*simulated outage/,
      );
      assert.match(
        world.health.component(accountComponents.positions('paper', 'main'))?.reason ?? '',
        /positions: not fetched yet/,
      );

      world.port.failReads = false;
      await svc.refresh();
      const [balance] = svc.balances();
      assert.equal(balance?.currency, 'USDC');
      assert.equal(balance?.total.toFixed(), '100000');
      assert.equal(balance?.source, 'venue');
      assert.equal(balance?.stale, false);
      assert.equal(world.health.component(accountComponents.balances('paper', 'main'))?.ready, true);
      assert.equal(world.health.component(accountComponents.userStream('paper', 'main'))?.ready, true);
      await svc.idle();
      const events = await acctEvents(backend, 'balance');
      assert.equal(events.at(-1)?.total, '100000');
      assert.equal(events.at(-1)?.source, StateSource.STATE_SOURCE_VENUE);
    });

    test('an acct.position without a fill still in flight is never dated at or after that fill', async () => {
      await fresh();
      const svc = await start();
      await publishFills(world, await trade(world, 'buy-1', 'buy', '0.01'));
      await eventually('the first fill applied', () => projectedSize(svc) === '0.01');
      await svc.idle();
      // A second fill at the venue the account has not consumed yet (exec.fill in flight).
      world.hub.advanceTo(world.hub.nowMs + 2_000);
      const inFlight = await trade(world, 'buy-2', 'buy', '0.02');
      const inFlightAtMs = Math.min(...inFlight.map((f) => f.tsEventMs));
      // The venue's report (holding it) brings a mark read after the fill; sizes disagree.
      world.hub.advanceTo(world.hub.nowMs + 500);
      await svc.refresh();
      await svc.idle();
      const last = (await acctEvents(backend, 'position')).at(-1)!;
      assert.equal(last.size, '0.01', 'the projection without the fill in flight');
      assert.ok(last.markPrice, 'republished at the mark of the venue report');
      // A consumer holding the fill (the strategy's world) takes a newer snapshot as holding it.
      assert.ok(
        last.asOfMs < inFlightAtMs,
        `as of ${last.asOfMs}, before the fill in flight at ${inFlightAtMs}`,
      );
    });

    test('a fill becomes a position (query and acct.position) and moves the balance (acct.balance)', async () => {
      await fresh();
      const svc = await start();
      const fills = await trade(world, 'buy-1', 'buy', '0.01');
      await publishFills(world, fills);
      const position = await eventually('the position', () => {
        const [p] = svc.positions({ venue: 'paper', account: 'main', instrument: BTC });
        // Until the fill is applied, the venue's own report is what is shown (source venue).
        assert.equal(p?.source, 'projection');
        assert.equal(p?.size.toFixed(), sizeOf(fills));
        return p;
      });
      assert.equal(position.side, 'long');
      assert.equal(position.source, 'projection');
      assert.ok(position.entryPrice?.eq(fills[0]!.price));
      assert.ok(position.fees.gt(0), 'taker fee booked');
      await svc.refresh();
      await svc.idle();
      const positions = await acctEvents(backend, 'position');
      const last = positions.at(-1)!;
      assert.equal(last.size, '0.01');
      assert.equal(last.side, PositionSide.POSITION_SIDE_LONG);
      assert.equal(last.source, StateSource.STATE_SOURCE_PROJECTION);
      const balances = await acctEvents(backend, 'balance');
      assert.ok(balances.length >= 1);
      assert.ok(dec(balances.at(-1)!.total).lt(100000), 'the fee left the wallet');
      // The venue agrees with the projection: no drift, the position is confirmed (not stale).
      world.hub.advanceTo(world.hub.nowMs + 10_000);
      await svc.refresh();
      await svc.idle();
      assert.deepEqual(await acctEvents(backend, 'accountDrift'), []);
      const [confirmed] = svc.positions();
      assert.equal(confirmed?.stale, false);
      assert.ok(confirmed?.markPrice !== undefined, 'marked from the venue report');
      const [summary] = svc.summary();
      assert.equal(summary?.openPositions, 1);
      assert.ok(summary?.equity.gt(0));
      assert.ok(summary?.fees.eq(position.fees));
    });

    test('a funding payment on the venue → acct.funding (once) and funding in the position', async () => {
      await fresh();
      const svc = await start();
      // A second instance (a hot standby, or the same service restarted) sees the same payments.
      const standby = await start({ settings: { consumerName: 'account-standby' } });
      await publishFills(world, await trade(world, 'buy-1', 'buy', '0.05'));
      await eventually('the position', () => projectedSize(svc) === '0.05');
      // Cross two funding settlements.
      world.hub.advanceTo(T0 + FUNDING_INTERVAL_MS + 1_000);
      world.hub.advanceTo(T0 + 2 * FUNDING_INTERVAL_MS + 1_000);
      await svc.idle();
      await standby.idle();
      const payments = await acctEvents(backend, 'fundingPayment');
      assert.equal(payments.length, 2, 'one acct.funding per settlement, though two instances reported each');
      assert.equal(payments[0]?.instrument, BTC);
      assert.equal(payments[0]?.currency, 'USDC');
      assert.equal(payments[0]?.positionSide, PositionSide.POSITION_SIDE_LONG);
      const total = payments.reduce((acc, p) => acc.plus(p.amount), dec(0));
      assert.ok(!total.isZero(), 'the funding rate was not zero');
      await eventually('funding in the position', () => svc.positions()[0]?.funding.eq(total));
      await eventually('both payments applied', () => svc.projectorStats().funding.applied === 2);
    });

    test('a funding payment made while no account instance listened is recovered from the venue history, once', async () => {
      await fresh();
      const svc = await start();
      await publishFills(world, await trade(world, 'buy-1', 'buy', '0.05'));
      await eventually('the position', () => projectedSize(svc) === '0.05');
      world.hub.advanceTo(T0 + FUNDING_INTERVAL_MS + 1_000);
      await svc.idle();
      await eventually('the first payment applied', () => svc.projectorStats().funding.applied === 1);
      await svc.stop();
      // Paid while the account service is down: nobody hears it on the user stream.
      world.hub.advanceTo(T0 + 2 * FUNDING_INTERVAL_MS + 1_000);

      const restarted = await start();
      await restarted.idle();
      const times = async () => (await acctEvents(backend, 'fundingPayment')).map((p) => p.fundingTimeMs);
      assert.deepEqual(await times(), [T0 + FUNDING_INTERVAL_MS, T0 + 2 * FUNDING_INTERVAL_MS]);
      await eventually('the missed payment applied', () => restarted.projectorStats().funding.applied === 1);
      // Later polls read the history again: nothing is published twice.
      await restarted.refresh();
      await restarted.idle();
      assert.deepEqual(await times(), [T0 + FUNDING_INTERVAL_MS, T0 + 2 * FUNDING_INTERVAL_MS]);
      const venueFunding = (await world.port.fetchFundingPayments?.(T0)) ?? [];
      const total = venueFunding.reduce((acc, p) => acc.plus(p.amount), dec(0));
      await eventually('all the venue paid is in the position', () =>
        restarted.positions()[0]?.funding.eq(total),
      );
    });

    test('a liquidation fill on exec.fill takes the projected position to zero; no drift', async () => {
      await fresh();
      const svc = await start();
      await world.port.setLeverage?.(BTC, dec(50));
      await publishFills(world, await trade(world, 'buy-1', 'buy', '0.05'));
      await eventually('the position', () => projectedSize(svc) === '0.05');
      // Thin the collateral so a 10% drop liquidates the account.
      world.hub.command('paper', (exchange) => {
        const free = exchange.marginSummary('main').available;
        return exchange.withdraw('main', free.minus(20).toDecimalPlaces(2, 1));
      });
      const mark = world.hub.exchange('paper').markPrice(BTC)!;
      const crash = mark.mul('0.9').toDecimalPlaces(1);
      world.hub.command('paper', (exchange) =>
        exchange.setPrices(BTC, { markPrice: crash, indexPrice: crash }),
      );
      const liquidation = (await world.port.fetchFills(T0)).filter((f) => f.origin === 'liquidation');
      assert.equal(liquidation.length, 1, 'the venue liquidated the position');
      // What the execution service publishes for it (exec.fill, origin liquidation).
      await publishFills(world, liquidation);
      await eventually('the position closed', () => projectedSize(svc) === '0');
      world.hub.advanceTo(world.hub.nowMs + 10_000);
      await svc.refresh();
      await svc.idle();
      assert.deepEqual(await acctEvents(backend, 'accountDrift'), []);
    });

    test('a redelivered exec.fill is applied once; a fill stored twice under two ids is applied once', async () => {
      await fresh();
      let failNextSave = true;
      const flaky: ProjectionStore = {
        loadProjection: (n) => backend.state.loadProjection(n),
        // The save lands, then the "ack" is lost: the consumer sees a failure and redelivers.
        saveProjection: async (n, s, applied, expected) => {
          await backend.state.saveProjection(n, s, applied, expected);
          if (failNextSave && n.endsWith('-positions')) {
            failNextSave = false;
            throw new Error('connection reset after the write');
          }
        },
      };
      const svc = await start({ state: flaky });
      const fills = await trade(world, 'buy-1', 'buy', '0.02');
      await publishFills(world, fills);
      await eventually('the redelivery', () => svc.projectorStats().fills.skipped >= 1);
      assert.equal(projectedSize(svc), '0.02');
      // The same fill again under another envelope id (e.g. resent after the duplicate window).
      const again = fillEnvelope('paper', 'main', fills[0]!, factEventId(fills[0]!.tsEventMs, 'another id'));
      await publishEnvelope(backend.log, again, backend.subjects);
      await publishFills(world, await trade(world, 'buy-2', 'buy', '0.01'));
      await eventually('the second order', () => projectedSize(svc) === '0.03');
    });

    test('a restart keeps the positions and applies nothing twice', async () => {
      await fresh();
      const svc = await start();
      await publishFills(world, await trade(world, 'buy-1', 'buy', '0.02'));
      await publishFills(world, await trade(world, 'sell-1', 'sell', '0.01'));
      await eventually('the position', () => projectedSize(svc) === '0.01');
      const before = svc.positions()[0]!;
      await svc.stop();

      const restarted = await start();
      assert.equal(restarted.projectorStats().fills.applied, 0);
      const after = restarted.positions()[0]!;
      assert.equal(after.size.toFixed(), before.size.toFixed());
      assert.ok(after.entryPrice?.eq(before.entryPrice!));
      assert.ok(after.tradingPnl.eq(before.tradingPnl));
      assert.ok(after.fees.eq(before.fees));
      await publishFills(world, await trade(world, 'buy-2', 'buy', '0.01'));
      await eventually('the new fill', () => projectedSize(restarted) === '0.02');
      assert.equal(restarted.projectorStats().fills.applied, 1, 'only the new fill was applied');
    });

    test('a balance not refreshed within its bound is shown stale with its age; readiness says why', async () => {
      await fresh();
      const svc = await start();
      const [fresh1] = svc.balances();
      assert.equal(fresh1?.stale, false);
      world.port.failReads = true;
      world.hub.advanceTo(world.hub.nowMs + 20_000);
      await svc.refresh();
      const [stale] = svc.balances();
      assert.equal(stale?.stale, true);
      assert.equal(stale?.ageMs, world.hub.nowMs - stale!.asOfMs);
      assert.ok(stale!.ageMs >= 20_000);
      assert.equal(stale?.total.toFixed(), '100000', 'the last known value, flagged, never zero');
      const component = world.health.component(accountComponents.balances('paper', 'main'));
      assert.equal(component?.ready, false);
      assert.match(
        component?.reason ?? '',
        /stale: last reading is \d+ ms old .*last fetch failed: .*simulated outage/,
      );
      assert.equal(svc.summary()[0]?.stale, true);
    });

    test('a venue position changed behind our back → acct.drift after the grace, shown as the venue’s', async () => {
      await fresh();
      const svc = await start();
      await trade(world, 'manual-1', 'buy', '0.01'); // no exec.fill: nobody told the log
      await svc.refresh();
      await svc.idle();
      assert.deepEqual(await acctEvents(backend, 'accountDrift'), [], 'within the grace: maybe in flight');
      world.hub.advanceTo(world.hub.nowMs + 6_000);
      await svc.refresh();
      await svc.idle();
      const drifts = await acctEvents(backend, 'accountDrift');
      const sizeDrift = drifts.find((d) => d.field === 'position.size');
      assert.ok(sizeDrift, `a position.size drift, got ${JSON.stringify(drifts)}`);
      assert.equal(sizeDrift.instrument, BTC);
      assert.equal(sizeDrift.projectedValue, '0');
      assert.equal(sizeDrift.venueValue, '0.01');
      assert.ok(
        drifts.some((d) => d.field === 'balance.total' && d.currency === 'USDC'),
        'the unexplained fee',
      );
      const [shown] = svc.positions();
      assert.equal(shown?.source, 'venue');
      assert.equal(shown?.size.toFixed(), '0.01');
      // Reported once, not on every poll.
      world.hub.advanceTo(world.hub.nowMs + 6_000);
      await svc.refresh();
      await svc.idle();
      assert.equal(
        (await acctEvents(backend, 'accountDrift')).filter((d) => d.field === 'position.size').length,
        1,
      );
    });
  });
}
