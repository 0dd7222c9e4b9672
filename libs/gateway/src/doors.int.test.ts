/**
 * The gateway's browser-side doors (issue 15): Host check against DNS rebinding, same-origin
 * actions without CORS, reads beyond loopback need the token, bounded SSE streams per
 * client, no static path escapes, echoed values cut.
 */
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { describe, test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import { createLogger, Secret } from '@perpmesh/runtime';
import { eventually } from '@perpmesh/testing';
import type { GatewayBackends } from './backends.js';
import type { EventFeed } from './feed.js';
import { Gateway, MAX_SSE_STREAMS_PER_CLIENT, mountGateway } from './gateway.js';
import { MAX_REASON_CHARS, parseTradingStateChange } from './trading-state.js';

const logger = createLogger({ service: 'gateway-doors-test', level: 'silent' });
const TOKEN = 'doors-token-doors-token';

const backends: GatewayBackends = {
  venueStatus: async () => ({ venues: [] }),
  fundingRates: async () => ({ rates: [] }),
  balances: async () => ({ balances: [] }),
  positions: async () => ({ positions: [] }),
  accountSummary: async () => ({ accounts: [], totals: [] }),
  openOrders: async () => ({ orders: [] }),
  cancelAllOrders: async () => ({ orders: [] }),
  close() {},
};

const quietFeed = {
  started: true,
  subscribe: () => () => {},
  strategies: () => [],
  recentDecisions: () => [],
  stats: () => ({}),
} as unknown as EventFeed;

async function withGateway(
  fn: (at: { port: number; host: string }) => Promise<void>,
  options: { host?: string; allowedHosts?: string[] } = {},
): Promise<void> {
  const gateway = new Gateway({
    backends,
    actions: { token: () => new Secret(TOKEN), allowUnauthenticated: false },
    explain: async (target) => ({ target, timeline: [{}], problems: [] }),
    logger,
    ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
  });
  gateway.attachFeed(quietFeed);
  const server: Server = createServer((_req, res) => {
    res.statusCode = 404;
    res.end('fallback\n');
  });
  mountGateway(server, gateway, logger);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((r) => server.listen(0, host, r));
  try {
    await fn({ port: (server.address() as AddressInfo).port, host });
  } finally {
    gateway.closeStreams();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

interface Answer {
  /** Ends a response kept open (`keepOpen`). */
  close?: () => void;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http, so the test can send any Host and Origin (fetch forbids setting Host). */
function send(
  at: { port: number; host: string },
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; keepOpen?: boolean } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: at.host, port: at.port, path, method: options.method ?? 'GET', headers: options.headers ?? {} },
      (res) => {
        if (options.keepOpen) {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: '',
            close: () => req.destroy(),
          });
          return;
        }
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const json = { 'content-type': 'application/json' };
const bearer = { authorization: `Bearer ${TOKEN}` };

describe('gateway doors', () => {
  test('a rebound DNS name in Host is refused; IP literals, localhost and listed names are served', async () => {
    await withGateway(
      async (at) => {
        const rebound = await send(at, '/api/balances', { headers: { host: `evil.example:${at.port}` } });
        assert.equal(rebound.status, 403);
        assert.match(rebound.body, /gateway\.allowedHosts/);
        assert.equal((await send(at, '/', { headers: { host: 'evil.example' } })).status, 403);
        for (const host of [
          `127.0.0.1:${at.port}`,
          `localhost:${at.port}`,
          `[::1]:${at.port}`,
          'perpmesh.internal',
        ]) {
          assert.equal((await send(at, '/api/balances', { headers: { host } })).status, 200, host);
        }
        // Health and metrics (the runtime's routes behind the gateway) stay open for probes.
        assert.equal((await send(at, '/healthz', { headers: { host: 'evil.example' } })).body, 'fallback\n');
      },
      { allowedHosts: ['perpmesh.internal'] },
    );
  });

  test('actions are same-origin only and get no CORS, even with the right token', async () => {
    await withGateway(async (at) => {
      const body = JSON.stringify({ venue: 'paper', account: 'main' });
      const crossOrigin = await send(at, '/api/cancel-all', {
        method: 'POST',
        headers: { ...json, ...bearer, origin: 'https://evil.example' },
        body,
      });
      assert.equal(crossOrigin.status, 403);
      const crossSite = await send(at, '/api/cancel-all', {
        method: 'POST',
        headers: { ...json, ...bearer, 'sec-fetch-site': 'cross-site' },
        body,
      });
      assert.equal(crossSite.status, 403);
      const sameOrigin = await send(at, '/api/cancel-all', {
        method: 'POST',
        headers: { ...json, ...bearer, origin: `http://127.0.0.1:${at.port}` },
        body,
      });
      assert.equal(sameOrigin.status, 200);
      const preflight = await send(at, '/api/cancel-all', {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      });
      assert.notEqual(preflight.status, 200);
      assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    });
  });

  test('no path escapes the dashboard directory', async () => {
    await withGateway(async (at) => {
      for (const path of [
        '/../package.json',
        '/%2e%2e/package.json',
        '/vendor/../../package.json',
        '/app.js/..%2f..%2fpackage.json',
      ]) {
        const answer = await send(at, path);
        assert.ok(!answer.body.includes('"name"'), path);
        assert.notEqual(answer.status, 200, path);
      }
    });
  });

  test(`at most ${MAX_SSE_STREAMS_PER_CLIENT} event streams per client; a closed one frees its place`, async () => {
    await withGateway(async (at) => {
      const opened: Answer[] = [];
      const agent = { headers: { connection: 'close' }, keepOpen: true };
      for (let i = 0; i < MAX_SSE_STREAMS_PER_CLIENT; i++) opened.push(await send(at, '/api/events', agent));
      assert.ok(opened.every((a) => a.status === 200));
      const over = await send(at, '/api/events');
      assert.equal(over.status, 429);
      assert.match(over.body, /event streams per client/);
      opened[0]!.close!();
      await eventually('a closed stream frees its place', async () => {
        const again = await send(at, '/api/events', agent);
        again.close!();
        return again.status === 200;
      });
    });
  });

  test('echoed values are cut in error messages', async () => {
    await withGateway(async (at) => {
      const answer = await send(at, `/api/decisions?limit=${'9x'.repeat(2000)}`, { headers: bearer });
      assert.equal(answer.status, 400);
      assert.ok(answer.body.length < 800, `body of ${answer.body.length} characters`);
    });
  });

  test('an operator reason over the limit is refused by name, not silently cut', () => {
    assert.throws(
      () => parseTradingStateChange({ state: 'HALTED', reason: 'r'.repeat(MAX_REASON_CHARS + 1) }),
      (err: unknown) => err instanceof ValidationError && err.field === 'reason',
    );
    assert.equal(parseTradingStateChange({ state: 'HALTED', reason: 'maintenance' }).reason, 'maintenance');
  });

  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
  test('reads beyond loopback need the token, like actions', {
    skip: external === undefined && 'no non-loopback interface',
  }, async () => {
    await withGateway(
      async (at) => {
        assert.equal((await send(at, '/api/balances')).status, 401);
        assert.equal((await send(at, '/api/positions')).status, 401);
        assert.equal((await send(at, '/api/balances', { headers: bearer })).status, 200);
        assert.equal((await send(at, '/api/explain/arb-1_rest')).status, 401);
        assert.equal((await send(at, '/api/explain/arb-1_rest', { headers: bearer })).status, 200);
        assert.equal((await send(at, '/api/status')).status, 200);
        // The live stream: EventSource cannot send the header, so a single-use ticket.
        assert.equal((await send(at, '/api/events')).status, 401);
        assert.equal(
          (await send(at, '/api/stream-ticket', { method: 'POST', headers: json, body: '{}' })).status,
          401,
        );
        const minted = await send(at, '/api/stream-ticket', {
          method: 'POST',
          headers: { ...json, ...bearer },
          body: '{}',
        });
        const { ticket } = JSON.parse(minted.body) as { ticket: string };
        const stream = await send(at, `/api/events?ticket=${ticket}`, { keepOpen: true });
        assert.equal(stream.status, 200);
        stream.close!();
        assert.equal((await send(at, `/api/events?ticket=${ticket}`)).status, 401, 'a ticket is single-use');
      },
      { host: external! },
    );
  });
});
