/**
 * `PERPMESH_CONFIG=config/emulated.yaml perpmesh start` as a real process: its `emulators`
 * section starts the local venue emulators in process, the emulated Binance USD-M and
 * Hyperliquid venues become ready through the real ccxt code path (with no credential in
 * the config or the test's environment); every component of their venue ports (markets,
 * link, balance, streams, request budget) reaches `/readyz`, `perpmesh status --json` and
 * the gateway's venue view, each venue flagged emulated, and the ready line names them.
 * Then the funding arb ENTERS between Binance's USDT perp and Hyperliquid's USDC perp
 * through the exposure equivalence: both legs filled at the emulators (asked directly,
 * signed as the venues want), exec.fill events on the bus, the arb book's open arb naming
 * the USDT/USDC conversion it assumed, and no false account_drift alarm while it entered.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { type GetArbBookResponse, StrategyServiceClient } from '@perpmesh/contracts';
import { Decimal } from '@perpmesh/core';
import { EMULATOR_CREDENTIALS } from '@perpmesh/emulators';
import { eventually, freePort, type PerpmeshProcess, startPerpmeshProcess, unary } from '@perpmesh/testing';
import {
  Capture,
  EMULATED_YAML,
  EMULATOR_CREDENTIAL_VARIABLES,
  writeEmulatedConfig,
} from './emulated-config.test-helper.js';
import { runCli } from './main.js';

/** The Hyperliquid account of config/emulated.yaml (the emulator's test key's address). */
const HYPERLIQUID_WALLET =
  /walletAddress: "(0x[0-9a-f]{40})"/.exec(readFileSync(EMULATED_YAML, 'utf8'))?.[1] ?? '';

interface VenuesView {
  venues: {
    venue: string;
    ready: boolean;
    emulated: boolean | null;
    components: {
      service: string;
      name: string;
      ready: boolean;
      reason: string | null;
      informational: boolean;
      port?: { account: string; component: string };
    }[];
  }[];
}

interface ReadyzBody {
  ready: boolean;
  components: { name: string; ready: boolean; reason: string | null; informational?: true }[];
}

const EMULATED_VENUES = ['binanceusdm', 'hyperliquid'];
/** Every component the ccxt port of a trading account reports (its user stream once subscribed). */
const TRADING_PORT_COMPONENTS = ['markets', 'link', 'balance', 'user stream', 'request budget'];
/** The public (market-data) port's: no account, so no balance and no user stream. */
const PUBLIC_PORT_COMPONENTS = ['markets', 'link', 'market stream', 'request budget'];

describe('perpmesh start with config/emulated.yaml (real process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perpmesh-emulated-'));
  let running: PerpmeshProcess | undefined;
  let binancePort = 0;
  let hyperliquidPort = 0;
  let strategyAddress = '';
  let feed: FeedSeen = { fills: [], arrivals: [] };
  let stopFills = () => {};
  after(() => {
    stopFills();
    if (running && running.child.exitCode === null) running.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('starts the emulators with the system; both emulated venues report ready components', async () => {
    const strategyPort = await freePort();
    strategyAddress = `127.0.0.1:${strategyPort}`;
    // The shipped file, on free ports (the emulators' and the venues' URLs move together);
    // the arb's persistence shortened so the entry comes within the test's bound.
    const written = await writeEmulatedConfig(dir, (yaml) => {
      assert.ok(yaml.includes('persistenceMs: 10s'), 'the arb persistence can be shortened');
      return yaml.replace('persistenceMs: 10s', 'persistenceMs: 2s');
    });
    ({ binancePort, hyperliquidPort } = written);
    const config = written.path;
    const env: Record<string, string> = { PERPMESH_CONFIG: config };
    // The credentials come from the emulators component, not from this environment.
    for (const name of EMULATOR_CREDENTIAL_VARIABLES) {
      assert.equal(process.env[name], undefined, `${name} is not set by the test runner`);
    }
    running = await startPerpmeshProcess({
      dataDir: join(dir, 'data'),
      env,
      settings: [`strategy.grpcPort=${strategyPort}`],
    });
    // The gateway's live feed (exec.fill, acct.position, decisions), from the start (before the arb can enter).
    ({ feed, stop: stopFills } = watchFeed(running.httpPort));

    const view = await eventually(
      'both emulated venues ready',
      async () => {
        const res = await fetch(`http://127.0.0.1:${running!.httpPort}/api/venues`);
        const body = (await res.json()) as VenuesView;
        const byId = new Map(body.venues.map((v) => [v.venue, v]));
        const wanted = ['binanceusdm', 'hyperliquid'].map((id) => byId.get(id));
        return wanted.every((v) => v?.ready && v.components.length > 0) ? body : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    for (const id of ['binanceusdm', 'hyperliquid']) {
      const venue = view.venues.find((v) => v.venue === id)!;
      const names = venue.components.map((c) => `${c.service}:${c.name}`);
      for (const n of ['market-data:order_books', 'account:main/balances']) {
        assert.ok(names.includes(n), `${id} reports ${n} (has ${names.join(', ')})`);
      }
      assert.ok(
        venue.components.every((c) => c.ready),
        `${id}: every component ready`,
      );
    }
    assert.match(
      running!.stderr(),
      /perpmesh is ready in .*; EMULATED venues \(local emulators, simulated money\): binanceusdm, hyperliquid\n/,
      'the ready line names the emulated venues',
    );

    // The gateway's venue view: every port component, per account, and the emulated flag.
    for (const id of EMULATED_VENUES) {
      const venue = view.venues.find((v) => v.venue === id)!;
      assert.equal(venue.emulated, true, `${id} is flagged emulated`);
      const ports = venue.components.filter((c) => c.port);
      const of = (account: string) =>
        ports.filter((c) => c.port!.account === account).map((c) => c.port!.component);
      for (const component of PUBLIC_PORT_COMPONENTS) {
        assert.ok(of('').includes(component), `${id} market-data port shows ${component} (has ${of('')})`);
      }
      // The user stream is reported once subscribed; /readyz below waits for the full list.
      for (const component of TRADING_PORT_COMPONENTS.filter((c) => c !== 'user stream')) {
        assert.ok(of('main').includes(component), `${id} main port shows ${component} (has ${of('main')})`);
      }
      const budget = ports.find((c) => c.name === 'main: request budget')!;
      assert.equal(budget.informational, true);
      assert.match(budget.reason ?? '', /requests left/);
    }

    // /readyz: every component of every port, by venue and account, with its reason.
    const readyz = await eventually(
      'every port component in /readyz',
      async () => {
        const body = (await (
          await fetch(`http://127.0.0.1:${running!.httpPort}/readyz`)
        ).json()) as ReadyzBody;
        const names = new Set(body.components.map((c) => c.name));
        const wanted = EMULATED_VENUES.flatMap((id) => [
          ...TRADING_PORT_COMPONENTS.map((c) => `venue ${id}/main: ${c}`),
          ...PUBLIC_PORT_COMPONENTS.map((c) => `venue ${id}: ${c}`),
        ]);
        return wanted.every((n) => names.has(n)) ? body : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    const budget = readyz.components.find((c) => c.name === 'venue binanceusdm/main: request budget')!;
    assert.equal(budget.informational, true, 'the request budget is informational');
    assert.match(budget.reason ?? '', /binanceusdm\/main: \d+ of \d+ requests left/);
    const markets = readyz.components.find((c) => c.name === 'venue hyperliquid/main: markets')!;
    assert.deepEqual([markets.ready, markets.informational], [true, undefined]);
    assert.match(markets.reason ?? '', /BTC-USDC-PERP loaded/);

    // perpmesh status --json: the same venues, every component, the emulated flag.
    const out = new Capture();
    const err = new Capture();
    const code = await runCli(
      [
        'status',
        '--json',
        '--execution',
        running.execution,
        '--account-service',
        running.account,
        '--market-data',
        running.marketData,
      ],
      { out, err, env: { ...process.env, PERPMESH_CONFIG: '' }, confirm: null },
    );
    assert.equal(code, 0, `status exits 0; stderr: ${err.text}`);
    const status = JSON.parse(out.text) as VenuesView & { ready: boolean; emulatedVenues: string[] };
    assert.equal(status.ready, true);
    assert.deepEqual(status.emulatedVenues, EMULATED_VENUES);
    for (const id of EMULATED_VENUES) {
      const venue = status.venues.find((v) => v.venue === id)!;
      assert.equal(venue.emulated, true);
      const names = venue.components.map((c) => c.name);
      for (const component of TRADING_PORT_COMPONENTS) {
        assert.ok(
          names.includes(`main: ${component}`),
          `status shows ${id} main: ${component} (has ${names})`,
        );
      }
      for (const component of PUBLIC_PORT_COMPONENTS) {
        assert.ok(names.includes(component), `status shows ${id} ${component} (has ${names})`);
      }
    }
    // Paper venues (none here) and real ones are never flagged: only the two emulated venues are.
    assert.deepEqual(
      status.venues.filter((v) => v.emulated).map((v) => v.venue),
      EMULATED_VENUES,
    );
  });

  test('the funding arb enters USDT (Binance) vs USDC (Hyperliquid): both legs filled at the emulators', async () => {
    assert.ok(running, 'the process runs (previous test)');
    const strategy = new StrategyServiceClient(strategyAddress, credentials.createInsecure());
    try {
      // The arb book: an arb on the exposure, both legs at their full target size.
      const arb = await eventually(
        'an open arb in the arb book',
        async () => {
          const book = await unary<unknown, GetArbBookResponse>(strategy.getArbBook.bind(strategy) as never, {
            strategyId: 'arb-1',
          });
          return book.active.find((a) => a.phase === 'open');
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      assert.equal(arb.instrument, 'BTC-USD');
      const legs = [arb.shortLeg!, arb.longLeg!];
      const byVenue = new Map(legs.map((l) => [l.venue, l]));
      assert.equal(byVenue.get('binanceusdm')?.instrument, 'BTC-USDT-PERP');
      assert.equal(byVenue.get('hyperliquid')?.instrument, 'BTC-USDC-PERP');
      const size = new Map(legs.map((l) => [l.venue, l.size]));
      assert.equal(
        Math.abs(Number(size.get('binanceusdm'))),
        Math.abs(Number(size.get('hyperliquid'))),
        'equal BTC on both legs',
      );
      assert.ok(Number(size.get('binanceusdm')) !== 0, 'the legs hold a position');
      // The conversion the entry used, read from the two venues' index prices, stated in the book.
      assert.equal(arb.entry.report_currency, 'USDC');
      assert.match(
        arb.entry.settle_conversion ?? '',
        /^1 USDT = [\d.]+ USDC \(read: index [\d.]+ USDC on hyperliquid \/ [\d.]+ USDT on binanceusdm; [\d.]+ bps from the configured 1\)$/,
      );
      assert.equal(arb.entry['binanceusdm.conversion_source'], 'market');
      assert.equal(arb.entry['binanceusdm.settle'], 'USDT');
      assert.equal(arb.entry['hyperliquid.settle'], 'USDC');

      // Emulator truth: each venue's own API says the same position.
      const binance = await binancePosition(binancePort, 'BTCUSDT');
      const hyperliquid = await hyperliquidPosition(hyperliquidPort, 'BTC');
      assert.equal(binance, size.get('binanceusdm'), 'Binance positionRisk = the binanceusdm leg');
      assert.equal(
        hyperliquid,
        size.get('hyperliquid'),
        'Hyperliquid clearinghouseState = the hyperliquid leg',
      );

      // exec.fill events on the bus for both legs' orders.
      const legOrders = new Set(legs.flatMap((l) => l.clientOrderIds));
      await eventually(
        'exec.fill events of both legs',
        () => {
          const venues = new Set(
            feed.fills.filter((f) => legOrders.has(f.clientOrderId)).map((f) => f.venue),
          );
          return venues.has('binanceusdm') && venues.has('hyperliquid') ? venues : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 200 },
      );

      // No false account_drift during the entry: the account's acct.position as of a fill and
      // that exec.fill count once however the strategy receives them. Judged once the
      // account has published each leg's position twice more after the legs filled.
      await eventually(
        'two acct.position events of each leg after legs_filled',
        () => {
          const filledAt = feed.arrivals.indexOf('decision:legs_filled');
          if (filledAt < 0) return undefined;
          const later = feed.arrivals.slice(filledAt + 1);
          return EMULATED_VENUES.every((v) => later.filter((a) => a === `position:${v}`).length >= 2)
            ? true
            : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      const drift = feed.arrivals.filter((a) => a === 'decision:alarm_account_drift');
      assert.deepEqual(drift, [], 'no account_drift alarm during the entry');
    } finally {
      strategy.close();
    }
  });

  test('stops cleanly', async () => {
    assert.ok(running, 'the process runs');
    stopFills();
    assert.equal(await running.stop(), 0, `clean exit; stderr:\n${running.stderr()}`);
  });
});

interface FillSeen {
  readonly venue: string;
  readonly clientOrderId: string;
}

interface FeedSeen {
  readonly fills: FillSeen[];
  /** In arrival order: `decision:<reasonCode>` and `position:<venue>` (acct.position). */
  readonly arrivals: string[];
}

/** Collects the gateway's server-sent events (exec.fill, acct.position, decisions) until stopped. */
function watchFeed(httpPort: number): { feed: FeedSeen; stop: () => void } {
  const feed: FeedSeen = { fills: [], arrivals: [] };
  const abort = new AbortController();
  void (async () => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/api/events`, { signal: abort.signal });
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('data: ')) continue;
        const event = JSON.parse(line.slice(6)) as { kind?: string; payload?: Record<string, unknown> };
        if (!event.payload) continue;
        if (event.kind === 'fill') {
          feed.fills.push({
            venue: String(event.payload.venue ?? ''),
            clientOrderId: String(event.payload.clientOrderId ?? ''),
          });
        } else if (event.kind === 'strategyDecision') {
          feed.arrivals.push(`decision:${String(event.payload.reasonCode ?? '')}`);
        } else if (event.kind === 'position') {
          feed.arrivals.push(`position:${String(event.payload.venue ?? '')}`);
        }
      }
    }
  })().catch(() => {});
  return { feed, stop: () => abort.abort() };
}

/** The emulated Binance account's position in `symbol`, signed the way Binance checks it (HMAC-SHA256). */
async function binancePosition(port: number, symbol: string): Promise<string> {
  const query = `timestamp=${Date.now()}`;
  const signature = createHmac('sha256', EMULATOR_CREDENTIALS.BINANCE_EMULATOR_SECRET)
    .update(query)
    .digest('hex');
  const res = await fetch(`http://127.0.0.1:${port}/fapi/v2/positionRisk?${query}&signature=${signature}`, {
    headers: { 'X-MBX-APIKEY': EMULATOR_CREDENTIALS.BINANCE_EMULATOR_API_KEY },
  });
  assert.equal(res.status, 200, `positionRisk: ${res.status}`);
  const positions = (await res.json()) as { symbol: string; positionAmt: string }[];
  return canonical(positions.find((p) => p.symbol === symbol)?.positionAmt ?? '0');
}

/** The emulated Hyperliquid wallet's position in `coin` (public info endpoint). */
async function hyperliquidPosition(port: number, coin: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/info`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'clearinghouseState', user: HYPERLIQUID_WALLET }),
  });
  assert.equal(res.status, 200, `clearinghouseState: ${res.status}`);
  const state = (await res.json()) as { assetPositions: { position: { coin: string; szi: string } }[] };
  return canonical(state.assetPositions.find((p) => p.position.coin === coin)?.position.szi ?? '0');
}

/** Decimal text without trailing zeros (`-0.0830` -> `-0.083`), as the arb book writes sizes. */
function canonical(text: string): string {
  return new Decimal(text).toFixed();
}
