/**
 * The gateway's API against a running embedded system (`perpmesh start` as a process)
 * configured with a token (PERPMESH_TOKEN → auth.token): the gRPC servers and the
 * gateway's actions both demand it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, promtoolAvailable, promtoolProblems } from '@perpmesh/testing';
import { type EmbeddedSystem, ExecutionClient, startEmbeddedSystem } from './embedded-system.test-helper.js';

/** A JSON answer as parsed: the tests check its shape field by field. */
type Loose = ReturnType<typeof JSON.parse>;

const TOKEN = 'e2e-gateway-token-0123456789abcdef';

describe('gateway API on the embedded system (token configured)', () => {
  let system: EmbeddedSystem;
  let execution: ExecutionClient;
  const api = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${system.baseUrl}${path}`, init);
    return { status: res.status, body: (await res.json()) as Record<string, Loose> };
  };
  const post = (path: string, body: unknown, token?: string) =>
    api(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  before(async () => {
    system = await startEmbeddedSystem({ token: TOKEN });
    execution = new ExecutionClient(system.executionAddress, TOKEN);
  });
  after(async () => {
    execution?.close();
    if (system) assert.equal(await system.stop(), 0, `clean exit; stderr:\n${system.stderr()}`);
  });

  test('GET /api/venues: three venues, every component ready, market-data and account', async () => {
    const { status, body } = await api('/api/venues');
    assert.equal(status, 200);
    assert.deepEqual(
      body.venues.map((v: Loose) => [v.venue, v.ready]),
      [
        ['paper', true],
        ['paper-extended', true],
        ['paper-lighter', true],
      ],
    );
    const names = body.venues[0].components.map((c: Loose) => `${c.service}:${c.name}`);
    for (const n of ['market-data:order_books', 'market-data:funding', 'account:main/balances'])
      assert.ok(names.includes(n), n);
  });

  test('GET /api/balances: non-zero totals with as-of, age and stale flag', async () => {
    const { body } = await api('/api/balances');
    assert.equal(body.balances.length, 3);
    for (const b of body.balances) {
      assert.equal(b.currency, 'USDC');
      assert.equal(b.total, '100000');
      assert.equal(typeof b.ageMs, 'number');
      assert.ok(b.asOfMs > 0);
      assert.equal(b.stale, false);
    }
  });

  test('GET /api/funding: venue × instrument with raw rate, interval, per-hour, annualized, spreads', async () => {
    const { body } = await api('/api/funding');
    assert.deepEqual(body.venues, ['paper', 'paper-extended', 'paper-lighter']);
    assert.deepEqual(body.instruments, ['BTC-USDC-PERP', 'ETH-USDC-PERP']);
    assert.equal(body.cells.length, 6);
    const paper = body.cells.find((c: Loose) => c.venue === 'paper' && c.instrument === 'BTC-USDC-PERP');
    assert.equal(paper.intervalHours, '8');
    assert.match(paper.rate, /^-?\d/);
    assert.match(paper.ratePerHourPct, /^-?\d+\.\d{5}$/);
    assert.match(paper.annualizedPct, /^-?\d+\.\d{2}$/);
    assert.equal(body.spreads.length, 2);
  });

  test('positions and orders: a market buy becomes a position with entry, mark, uPnL; a limit rests', async () => {
    await execution.placeMarketBuy('gw-e2e-mkt-1', '0.02', 'paper-extended');
    const position = await eventually('a position in /api/positions', async () => {
      const { body } = await api('/api/positions');
      return body.positions.find((p: Loose) => p.venue === 'paper-extended' && p.size === '0.02');
    });
    assert.equal(position.side, 'long');
    assert.match(position.entryPrice, /^\d/);
    assert.match(position.markPrice, /^\d/);
    assert.match(position.unrealizedPnl, /^-?\d/);
    if (position.liquidationPrice) assert.match(position.liquidationDistancePct, /^\d+\.\d\d$/);

    await execution.placeRestingBuy('gw-e2e-rest-1', '30000');
    const order = await eventually('the resting order in /api/orders', async () => {
      const { body } = await api('/api/orders');
      return body.orders.find((o: Loose) => o.clientOrderId === 'gw-e2e-rest-1');
    });
    assert.equal(order.side, 'buy');
    assert.equal(order.type, 'limit');
    assert.equal(order.status, 'accepted');
  });

  test('GET /api/events streams decoded events as JSON with decimals as strings', async () => {
    const controller = new AbortController();
    const res = await fetch(`${system.baseUrl}/api/events`, { signal: controller.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = res.body!.getReader();
    const kinds = new Set<string>();
    let buffer = '';
    let placed = false;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && !(kinds.has('fundingRate') && kinds.has('orderEvent'))) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += Buffer.from(value).toString('utf8');
      for (let at = buffer.indexOf('\n\n'); at >= 0; at = buffer.indexOf('\n\n')) {
        const frame = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        const data = frame.split('\n').find((l) => l.startsWith('data: '));
        if (!data || frame.includes('event: ready')) continue;
        const event = JSON.parse(data.slice(6));
        kinds.add(event.kind);
        if (event.kind === 'fundingRate') assert.equal(typeof event.payload.rate, 'string');
        if (event.kind === 'orderEvent') assert.equal(event.payload.order.side, 'buy');
      }
      if (!placed && kinds.has('fundingRate')) {
        placed = true;
        await execution.placeRestingBuy('gw-e2e-sse-1', '30100');
      }
    }
    controller.abort();
    assert.ok(kinds.has('fundingRate') && kinds.has('orderEvent'), `kinds seen: ${[...kinds].join(', ')}`);
  });

  test('POST /api/cancel-all: 401 without or with a wrong token; with it, open orders go to zero', async () => {
    await execution.placeRestingBuy('gw-e2e-cancel-1', '30200', 'paper-lighter');
    const none = await post('/api/cancel-all', {});
    assert.equal(none.status, 401);
    assert.equal(none.body.error, 'UNAUTHENTICATED');
    const wrong = await post('/api/cancel-all', {}, 'not-the-token');
    assert.equal(wrong.status, 401);
    assert.ok((await execution.listOpenOrders()).orders.length >= 1, 'nothing canceled');
    assert.ok(!JSON.stringify(wrong.body).includes(TOKEN), 'the token is never echoed');

    const ok = await post('/api/cancel-all', {}, TOKEN);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.ok, true);
    assert.ok(ok.body.ordersCancelRequested >= 1);
    await eventually('no open orders', async () => (await execution.listOpenOrders()).orders.length === 0);
  });

  test('POST /api/trading-state: validated, then forwarded to the strategy service (kill switch)', async () => {
    assert.equal((await post('/api/trading-state', { state: 'HALTED' })).status, 401);
    const bad = await post('/api/trading-state', { state: 'STOP' }, TOKEN);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, 'state');
    const halted = await post('/api/trading-state', { state: 'HALTED', reason: 'e2e' }, TOKEN);
    assert.equal(halted.status, 200);
    assert.equal(halted.body.state, 'HALTED');
    const resumed = await post('/api/trading-state', { state: 'ACTIVE', reason: 'e2e' }, TOKEN);
    assert.equal(resumed.status, 200);
    assert.equal(resumed.body.state, 'ACTIVE');
  });

  test('one listener: /readyz lists the gateway feed, the dashboard and uPlot are served', async () => {
    const ready = (await (await fetch(`${system.baseUrl}/readyz`)).json()) as {
      components: { name: string }[];
    };
    assert.ok(ready.components.some((c) => c.name === 'gateway/event-feed'));
    const html = await fetch(`${system.baseUrl}/`);
    assert.equal(html.status, 200);
    assert.match(await html.text(), /<script type="module" src="\/app.js">/);
    const uplot = await fetch(`${system.baseUrl}/vendor/uplot.esm.js`);
    assert.equal(uplot.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.match(await uplot.text(), /export \{ uPlot as default \}/);
  });

  test('/metrics passes `promtool check metrics`', {
    skip: promtoolAvailable() ? false : 'needs promtool (Debian prometheus; make setup installs it)',
  }, async () => {
    const res = await fetch(`${system.baseUrl}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^perpmesh_/m, 'the gateway process exposes perpmesh metrics');
    assert.equal(promtoolProblems(text), '', 'gateway /metrics');
  });
});
