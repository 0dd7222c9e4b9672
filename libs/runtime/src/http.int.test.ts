import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HealthRegistry } from './health.js';
import { type RunningHttpServer, startHttpServer } from './http.js';
import { createMetrics } from './metrics.js';

describe('operations HTTP server', () => {
  const health = new HealthRegistry();
  const metrics = createMetrics('http-test');
  const ordersPlaced = metrics.counter('perpmesh_orders_placed_total', 'Orders placed', ['venue']);
  let http: RunningHttpServer;

  before(async () => {
    http = await startHttpServer({ port: 0, host: '127.0.0.1', health, metrics: metrics.registry });
  });
  after(() => http.close());

  test('port 0 binds a free port and reports it', () => {
    assert.ok(http.port > 0);
    assert.equal(http.url, `http://127.0.0.1:${http.port}`);
  });

  test('/readyz lists every component with its reason: 503 until all are ready, then 200', async () => {
    health.register('symbols', 'symbols@paper: not loaded yet');
    health.notReady('book BTC-USDC-PERP@paper', 'order book BTC-USDC-PERP@paper: no snapshot yet');
    let res = await fetch(`${http.url}/readyz`);
    assert.equal(res.status, 503);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = (await res.json()) as {
      ready: boolean;
      components: Array<{ name: string; ready: boolean; reason?: string; since: number }>;
    };
    assert.equal(body.ready, false);
    assert.deepEqual(
      body.components.map((c) => [c.name, c.ready, c.reason]),
      [
        ['book BTC-USDC-PERP@paper', false, 'order book BTC-USDC-PERP@paper: no snapshot yet'],
        ['symbols', false, 'symbols@paper: not loaded yet'],
      ],
    );
    for (const c of body.components) assert.equal(typeof c.since, 'number');

    health.ready('symbols');
    res = await fetch(`${http.url}/readyz`);
    assert.equal(res.status, 503);
    const partly = (await res.json()) as {
      components: Array<{ name: string; ready: boolean; reason: string | null }>;
    };
    assert.deepEqual(
      partly.components.map((c) => [c.name, c.ready, c.reason]),
      [
        ['book BTC-USDC-PERP@paper', false, 'order book BTC-USDC-PERP@paper: no snapshot yet'],
        ['symbols', true, null],
      ],
    );

    health.ready('book BTC-USDC-PERP@paper');
    res = await fetch(`${http.url}/readyz`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { ready: boolean }).ready, true);
  });

  test('/healthz answers 200 while alive and 503 naming a failed liveness check', async () => {
    let res = await fetch(`${http.url}/healthz`);
    assert.equal(res.status, 200);
    const alive = (await res.json()) as { alive: boolean; uptimeMs: number };
    assert.equal(alive.alive, true);
    assert.equal(typeof alive.uptimeMs, 'number');

    const remove = health.addLivenessCheck('matcher', () => 'matcher loop: no progress');
    res = await fetch(`${http.url}/healthz`);
    assert.equal(res.status, 503);
    assert.deepEqual(((await res.json()) as { failures: unknown }).failures, [
      { name: 'matcher', reason: 'matcher loop: no progress' },
    ]);
    remove();
  });

  test('/metrics serves Prometheus text with default Node metrics and service metrics', async () => {
    ordersPlaced.inc({ venue: 'paper' }, 2);
    const res = await fetch(`${http.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.match(text, /# TYPE perpmesh_orders_placed_total counter/);
    assert.match(text, /perpmesh_orders_placed_total\{venue="paper",service="http-test"\} 2/);
    assert.match(text, /perpmesh_process_cpu_user_seconds_total\{service="http-test"\}/);
    assert.match(text, /perpmesh_nodejs_eventloop_lag_seconds/);
  });

  test('unknown paths get 404, other methods 405', async () => {
    assert.equal((await fetch(`${http.url}/nope`)).status, 404);
    const res = await fetch(`${http.url}/readyz`, { method: 'POST' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
  });
});

describe('metrics without an HTTP registry', () => {
  test('/metrics is 404 when no registry is given', async () => {
    const http = await startHttpServer({ port: 0, host: '127.0.0.1', health: new HealthRegistry() });
    try {
      assert.equal((await fetch(`${http.url}/metrics`)).status, 404);
    } finally {
      await http.close();
    }
  });
});
