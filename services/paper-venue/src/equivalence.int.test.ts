/**
 * One scripted scenario, two ways to reach the simulated exchange: the in-process
 * adapter (SimulatedVenue over a PaperVenueHub) and the paper-venue service over gRPC
 * (PaperVenueClient → PaperVenueService → the service's own hub). Same seed, same manual
 * clock, same calls: the fills and balances must be identical.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openVenueDirectory } from '@perpmesh/app';
import { dec, toWire } from '@perpmesh/core';
import { createLogger, parseConfig } from '@perpmesh/runtime';
import { eventually } from '@perpmesh/testing';
import {
  PaperVenueClient,
  PaperVenueHub,
  PUBLIC_ACCOUNT,
  paperHubOptionsFromConfig,
  type UserStreamEvent,
  type VenuePort,
} from '@perpmesh/venues';
import { paperVenueConfigSchema } from './config.js';
import { buildService, type PaperVenueService } from './main.js';

const START_MS = Date.UTC(2026, 0, 5, 0, 0, 0);
const RAW_CONFIG = {
  mode: 'distributed',
  paper: { seed: 1234 },
  venues: {
    paper: { kind: 'paper', instruments: ['BTC-USDC-PERP'], accounts: { alice: { paperDeposit: '50000' } } },
    'paper-lighter': {
      kind: 'paper',
      instruments: ['BTC-USDC-PERP', 'ETH-USDC-PERP'],
      accounts: { alice: { apiKeyId: '5', paperDeposit: '50000' } },
    },
  },
  paperVenue: { grpcHost: '127.0.0.1', grpcPort: 0, http: { host: '127.0.0.1', port: 0 } },
};

/** The scenario: returns everything observable, in decimal text, for comparison. */
async function runScenario(
  ports: { paper: VenuePort; lighter: VenuePort },
  advanceTo: (ms: number) => Promise<void>,
): Promise<unknown> {
  const userEvents: string[] = [];
  const record = (venue: string) => (e: UserStreamEvent) => {
    if (e.kind === 'fill') {
      const f = e.fill;
      userEvents.push(
        `${venue} fill ${f.clientOrderId} ${f.side} ${toWire(f.price)} x ${toWire(f.size)} fee ${toWire(f.fee)} ${f.liquidity}`,
      );
    }
  };
  const subs = [
    await ports.paper.watchUserStream(record('paper')),
    await ports.lighter.watchUserStream(record('paper-lighter')),
  ];
  const results: unknown[] = [];
  await advanceTo(START_MS + 5_000);
  const place = async (
    port: VenuePort,
    clientOrderId: string,
    extra: Record<string, unknown>,
    nonce?: bigint,
  ) => {
    try {
      const o = await port.createOrder({
        clientOrderId,
        instrument: 'BTC-USDC-PERP',
        side: 'buy',
        type: 'market',
        timeInForce: 'ioc',
        size: dec('0.05'),
        reduceOnly: false,
        ...(nonce === undefined ? {} : { nonce }),
        ...extra,
      });
      results.push([clientOrderId, o.status, toWire(o.filled), o.avgFillPrice ? toWire(o.avgFillPrice) : '']);
    } catch (err) {
      results.push([clientOrderId, 'error', (err as Error).name, (err as { reason?: string }).reason ?? '']);
    }
  };
  await place(ports.paper, 'p-1', {});
  await place(ports.lighter, 'l-1', { side: 'sell', size: dec('0.02') }, 1n);
  await place(ports.lighter, 'l-dup-nonce', {}, 1n); // strict nonce venue: rejected
  await advanceTo(START_MS + 65_000);
  await place(ports.paper, 'p-2', { side: 'sell', size: dec('0.03'), reduceOnly: true });
  const book = await ports.paper.fetchOrderBook('BTC-USDC-PERP', 5);
  const best = book.asks[0]!.price;
  await place(ports.paper, 'p-post', { type: 'limit', timeInForce: 'post_only', price: best }); // would cross
  await advanceTo(START_MS + 2 * 3_600_000 + 1_000); // past an hourly funding on paper-lighter
  const balances = async (p: VenuePort) =>
    (await p.fetchBalances()).map((b) => [b.asset, toWire(b.total), toWire(b.available), toWire(b.equity)]);
  const positions = async (p: VenuePort) =>
    (await p.fetchPositions()).map((x) => [
      x.instrument,
      toWire(x.size),
      toWire(x.entryPrice),
      toWire(x.realizedPnl),
    ]);
  const fills = async (p: VenuePort) =>
    (await p.fetchFills(START_MS)).map((f) => [
      f.tradeId,
      f.clientOrderId,
      toWire(f.price),
      toWire(f.size),
      toWire(f.fee),
    ]);
  const out = {
    results,
    paper: {
      balances: await balances(ports.paper),
      positions: await positions(ports.paper),
      fills: await fills(ports.paper),
    },
    lighter: {
      balances: await balances(ports.lighter),
      positions: await positions(ports.lighter),
      fills: await fills(ports.lighter),
    },
  };
  // Stream delivery is asynchronous over gRPC: wait until every fill the venues report has
  // arrived on the user streams; the comparison with the other run then checks their content.
  const fillCount = out.paper.fills.length + out.lighter.fills.length;
  await eventually(`${fillCount} fills on the user streams`, () => userEvents.length >= fillCount);
  for (const s of subs) await s.close();
  return { ...out, userEvents };
}

describe('paper venue: in-process adapter and paper-venue service agree', () => {
  const logger = createLogger({ service: 'paper-venue-test', level: 'silent' });
  let service: PaperVenueService;
  let remote: { paper: PaperVenueClient; lighter: PaperVenueClient };

  before(async () => {
    const { config } = parseConfig(paperVenueConfigSchema, RAW_CONFIG, { env: {} });
    service = buildService({ config, logger, clock: { kind: 'manual' }, startMs: START_MS });
    await service.start();
    const address = service.grpcAddress()!;
    const connect = (venue: string, apiKeyId: string) =>
      PaperVenueClient.connect({
        address,
        venue,
        account: 'alice',
        apiKeyId,
        callTimeoutMs: 5_000,
        readinessPollMs: 0,
      });
    remote = { paper: await connect('paper', 'default'), lighter: await connect('paper-lighter', '5') };
  });

  after(async () => {
    await remote.paper.close();
    await remote.lighter.close();
    await service.stop('test done');
  });

  test('public access reaches each venue without an account; account calls are refused', async () => {
    const { config } = parseConfig(
      paperVenueConfigSchema,
      { ...RAW_CONFIG, paper: { ...RAW_CONFIG.paper, address: service.grpcAddress() } },
      { env: {} },
    );
    const directory = await openVenueDirectory(config, { access: 'public', callTimeoutMs: 5_000 });
    try {
      assert.deepEqual(directory.venues(), ['paper', 'paper-lighter']);
      const lighter = directory.marketPort('paper-lighter');
      assert.equal(lighter.account, PUBLIC_ACCOUNT);
      assert.deepEqual(
        (await lighter.loadMarkets()).map((m) => m.instrument),
        ['BTC-USDC-PERP', 'ETH-USDC-PERP'],
      );
      assert.equal((await lighter.fetchOrderBook('BTC-USDC-PERP', 3)).instrument, 'BTC-USDC-PERP');
      assert.equal(lighter.fetchNextNonce, undefined, 'no nonce without an account');
      await assert.rejects(lighter.fetchBalances(), /public market data only/);
      assert.deepEqual(
        lighter.readiness().filter((c) => c.component === 'user stream' || c.component === 'balance'),
        [],
      );
      assert.throws(() => directory.port('paper-lighter', 'alice'), /public access/);
    } finally {
      await directory.close();
    }
  });

  test('same scenario, same fills, balances and positions', async () => {
    const { config } = parseConfig(paperVenueConfigSchema, RAW_CONFIG, { env: {} });
    const hub = new PaperVenueHub(
      paperHubOptionsFromConfig({
        venues: config.venues,
        paper: config.paper,
        clock: { kind: 'manual' },
        startMs: START_MS,
      }),
    );
    const inProcess = await runScenario(
      { paper: hub.venue('paper', 'alice'), lighter: hub.venue('paper-lighter', 'alice', '5') },
      async (ms) => hub.advanceTo(ms),
    );
    hub.close();

    const viaService = await runScenario(remote, async (ms) => service.hub.advanceTo(ms));

    const summary = inProcess as { results: unknown[][]; paper: { fills: unknown[] } };
    // The scenario really traded and really got rejected where it should.
    assert.equal(summary.results.find((r) => r[0] === 'p-1')?.[1], 'filled');
    assert.deepEqual(summary.results.find((r) => r[0] === 'l-dup-nonce')?.slice(1), [
      'error',
      'VenueRejectedError',
      'nonce_too_low',
    ]);
    assert.deepEqual(summary.results.find((r) => r[0] === 'p-post')?.slice(1), [
      'error',
      'VenueRejectedError',
      'post_only_would_cross',
    ]);
    assert.ok(summary.paper.fills.length >= 2);
    assert.deepEqual(viaService, inProcess);
  });
});
