/**
 * The gateway's HTTP surface: the dashboard (static ES modules, uPlot from node_modules),
 * the JSON API and the server-sent-event stream. It shares ONE listener with the
 * service's /healthz /readyz /metrics (`mountGateway`).
 *
 *   GET  /                     the dashboard
 *   GET  /api/venues           readiness per venue and component, with reasons
 *   GET  /api/balances         balances with as-of, age and stale flag
 *   GET  /api/positions        open positions: entry, mark, uPnL, liquidation distance
 *   GET  /api/orders           open orders
 *   GET  /api/funding          funding matrix venue × instrument, per-hour / annualized, spreads
 *   GET  /api/summary          equity / PnL per account and totals
 *   GET  /api/decisions        recent strategy decisions (bounded ring) and strategies seen
 *   GET  /api/arbs             funding-arb books: PnL split and break-even per arb and in total,
 *                              funding predicted vs settled, raised alarms, circuit breakers
 *   GET  /api/explain/<id>     the explain timeline of an order, fill, cancel or decision back
 *                              to the decision and its inputs (`perpmesh explain --json`)
 *   GET  /api/events           server-sent events: md.funding, md.status, exec.*, acct.*, strat.*
 *   GET  /api/status           the gateway itself: whether actions need a token, feed state
 *   POST /api/cancel-all       token-protected: CancelAllOrders per account (all, or one)
 *   POST /api/stream-ticket    token-protected: a single-use ticket for /api/events?ticket=
 *                              (EventSource cannot send the token beyond loopback)
 *   POST /api/trading-state    token-protected: HALTED / REDUCING / ACTIVE (503 until a
 *                              TradingStateService is wired in)
 *
 * Browser-side doors (issue 15), checked before any route:
 * - Host: an IP literal, `localhost` or a name in `gateway.allowedHosts`, else 403. A page
 *   that rebinds its own DNS name to this machine sends its name as Host and is refused,
 *   so it cannot read balances and positions (DNS rebinding).
 * - Actions (POST) are same-origin only: a present `Origin` (or `Sec-Fetch-Site:
 *   cross-site`) that is not this Host is refused; no CORS header is ever sent, and the
 *   token travels in the `Authorization` header (never a cookie), which no cross-site page
 *   can attach: that is the CSRF defense.
 * - Reads beyond loopback: a request that arrived on a non-loopback address needs the
 *   token on every /api GET too (except /api/status, which says whether one is needed).
 * - Bounded: POST bodies (16 KB), error messages (echoed values cut), SSE streams per
 *   client address (`MAX_SSE_STREAMS_PER_CLIENT`); static files come from a fixed table,
 *   so no path escapes the dashboard directory.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { CancelAllOrdersRequest } from '@perpmesh/contracts';
import { ERROR_CODES, PerpmeshError, ValidationError } from '@perpmesh/core';
import { isLoopbackHost, type Logger } from '@perpmesh/runtime';
import { type ActionPolicy, authorizeAction } from './auth.js';
import type { GatewayBackends } from './backends.js';
import { ActionRefusedError, BackendUnavailableError, TradingStateUnavailableError } from './errors.js';
import { EXPLAIN_ROUTE, type ExplainSource, explainTargetOf } from './explain.js';
import type { EventFeed } from './feed.js';
import { parseTradingStateChange, type TradingStateService } from './trading-state.js';
import {
  arbBookView,
  balancesView,
  fundingMatrix,
  ordersView,
  positionsView,
  summaryView,
  venuesView,
} from './views.js';
import type { EventJson } from './wire-json.js';

export const DASHBOARD_DIR = fileURLToPath(new URL('../dashboard/', import.meta.url));
const require = createRequire(import.meta.url);

/** Static files by URL path: the dashboard's own and the chart library from node_modules. */
const STATIC_FILES: Readonly<Record<string, () => string>> = {
  '/': () => `${DASHBOARD_DIR}index.html`,
  '/index.html': () => `${DASHBOARD_DIR}index.html`,
  '/app.js': () => `${DASHBOARD_DIR}app.js`,
  '/explain.js': () => `${DASHBOARD_DIR}explain.js`,
  '/format.js': () => `${DASHBOARD_DIR}format.js`,
  '/style.css': () => `${DASHBOARD_DIR}style.css`,
  '/vendor/uplot.esm.js': () => require.resolve('uplot/dist/uPlot.esm.js'),
  '/vendor/uplot.min.css': () => require.resolve('uplot/dist/uPlot.min.css'),
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  // Same-origin scripts only (no CDN, no inline script); uPlot sets inline styles.
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** Largest POST body accepted. */
const MAX_BODY_BYTES = 16 * 1024;
/** Open /api/events streams one client address may hold (a tab holds one). */
export const MAX_SSE_STREAMS_PER_CLIENT = 8;
/** How long a stream ticket (POST /api/stream-ticket) stays valid, and how many may be open. */
export const STREAM_TICKET_TTL_MS = 30_000;
const MAX_STREAM_TICKETS = 1_000;
/** Explain requests running at once (each reads the order's and the decisions' streams). */
export const MAX_CONCURRENT_EXPLAINS = 2;
/** Longest error message sent back: values quoted in it are cut. */
const MAX_ERROR_MESSAGE_CHARS = 512;
/** An SSE client this far behind is cut off (it reconnects and refetches). */
const MAX_SSE_BUFFER_BYTES = 1024 * 1024;
export const DEFAULT_SSE_HEARTBEAT_MS = 15_000;

/**
 * HTTP status of each error code, from core's catalog. Codes it marks INTERNAL are left
 * out: they answer a bare 500 and their message goes only to the log.
 */
const HTTP_STATUS_OF_CODE: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(ERROR_CODES)
    .filter(([, info]) => info.grpc !== 'INTERNAL')
    .map(([code, info]) => [code, info.http]),
);

export interface GatewayOptions {
  backends: GatewayBackends;
  actions: ActionPolicy;
  /** Where POST /api/trading-state goes; absent until a strategy service exists. */
  tradingState?: TradingStateService | undefined;
  /** What answers GET /api/explain/<id> (the CLI's explain over this process's log); 503 when absent. */
  explain?: ExplainSource | undefined;
  logger: Logger;
  nowMs?: () => number;
  sseHeartbeatMs?: number;
  /**
   * Host names (besides IP literals and `localhost`) the gateway answers to: the names
   * operators browse to, e.g. `perpmesh.internal` (`gateway.allowedHosts`).
   */
  allowedHosts?: readonly string[];
}

export class Gateway {
  readonly #options: GatewayOptions;
  readonly #nowMs: () => number;
  readonly #staticCache = new Map<string, Buffer>();
  readonly #sseClients = new Set<ServerResponse>();
  /** Single-use tickets for /api/events beyond loopback → expiry (epoch ms). */
  readonly #streamTickets = new Map<string, number>();
  /** Open SSE streams per client address. */
  readonly #sseStreamsByClient = new Map<string, number>();
  readonly #allowedHosts: ReadonlySet<string>;
  #feed: EventFeed | undefined;
  #explainsRunning = 0;

  constructor(options: GatewayOptions) {
    this.#options = options;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#allowedHosts = new Set((options.allowedHosts ?? []).map((h) => h.toLowerCase()));
  }

  /** The live event feed (started by the caller); before it, /api/events and /api/decisions answer 503. */
  attachFeed(feed: EventFeed | undefined): void {
    this.#feed = feed;
  }

  /** Ends every SSE stream (clients reconnect to whoever serves next). */
  closeStreams(): void {
    for (const res of this.#sseClients) res.end();
    this.#sseClients.clear();
  }

  /** Handles the request when it is the gateway's; false leaves it to the next handler. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const staticFile = STATIC_FILES[path];
    const api = path.startsWith('/api/');
    if (!api && !(staticFile && (method === 'GET' || method === 'HEAD'))) return false;
    try {
      checkHost(req.headers.host, this.#allowedHosts);
    } catch (err) {
      this.#sendError(res, err);
      return true;
    }
    if (!api) {
      await this.#serveStatic(res, staticFile!());
      return true;
    }
    try {
      await this.#route(req, res, url, method);
    } catch (err) {
      this.#sendError(res, err);
    }
    return true;
  }

  async #route(req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
    const { backends } = this.#options;
    const get = method === 'GET' || method === 'HEAD';
    const path = url.pathname;
    if (path === '/api/stream-ticket') {
      // EventSource cannot send a header: beyond loopback the page trades its token for a
      // short-lived, single-use ticket in the stream's URL (never the token itself).
      if (method !== 'POST') return this.#methodNotAllowed(res, 'POST');
      checkSameOrigin(req);
      authorizeAction(this.#options.actions, req.headers.authorization);
      return this.#sendJson(res, 200, {
        ticket: this.#mintStreamTicket(),
        expiresInMs: STREAM_TICKET_TTL_MS,
      });
    }
    if (path === '/api/cancel-all' || path === '/api/trading-state') {
      if (method !== 'POST') return this.#methodNotAllowed(res, 'POST');
      checkSameOrigin(req);
      authorizeAction(this.#options.actions, req.headers.authorization);
      const body = await readJsonBody(req);
      return path === '/api/cancel-all' ? this.#cancelAll(res, body) : this.#tradingState(res, body);
    }
    if (!get) return this.#methodNotAllowed(res, 'GET, HEAD');
    // Balances and positions beyond loopback: the same rule as actions.
    if (path !== '/api/status' && !isLoopbackHost(req.socket.localAddress ?? '')) {
      const ticket = path === '/api/events' ? url.searchParams.get('ticket') : null;
      if (ticket === null || !this.#redeemStreamTicket(ticket)) {
        authorizeAction(this.#options.actions, req.headers.authorization);
      }
    }
    if (path.startsWith(EXPLAIN_ROUTE)) return this.#explain(res, path);
    switch (path) {
      case '/api/venues': {
        const [status, balances, account, execution] = await Promise.all([
          backends.venueStatus().catch(asError),
          backends.balances().catch(asError),
          backends.venueReadiness?.().catch(asError),
          backends.executionVenueReadiness?.().catch(asError),
        ]);
        return this.#sendJson(res, 200, {
          asOfMs: this.#nowMs(),
          venues: venuesView(status, balances, { account, execution }),
        });
      }
      case '/api/balances':
        return this.#sendJson(res, 200, {
          asOfMs: this.#nowMs(),
          balances: balancesView(await backends.balances()),
        });
      case '/api/positions':
        return this.#sendJson(res, 200, {
          asOfMs: this.#nowMs(),
          positions: positionsView(await backends.positions()),
        });
      case '/api/orders':
        return this.#sendJson(res, 200, {
          asOfMs: this.#nowMs(),
          orders: ordersView(await backends.openOrders()),
        });
      case '/api/funding':
        return this.#sendJson(res, 200, {
          asOfMs: this.#nowMs(),
          ...fundingMatrix(await backends.fundingRates()),
        });
      case '/api/summary':
        return this.#sendJson(res, 200, {
          asOfMs: this.#nowMs(),
          ...summaryView(await backends.accountSummary()),
        });
      case '/api/decisions': {
        const feed = this.#requireFeed();
        const limit = parseLimit(url.searchParams.get('limit'));
        const strategies = feed.strategies();
        return this.#sendJson(res, 200, {
          asOfMs: this.#nowMs(),
          strategies,
          running: strategies.length > 0,
          dryRun: strategies.some((s) => s.dryRun),
          decisions: feed.recentDecisions(limit),
        });
      }
      case '/api/arbs': {
        if (!backends.arbBooks) {
          throw new BackendUnavailableError(
            'strategy',
            '(none)',
            undefined,
            'no strategy service configured',
          );
        }
        const asOfMs = this.#nowMs();
        return this.#sendJson(res, 200, { asOfMs, ...arbBookView(await backends.arbBooks(), asOfMs) });
      }
      case '/api/status': {
        const token = this.#options.actions.token();
        return this.#sendJson(res, 200, {
          asOfMs: this.#nowMs(),
          actions: {
            tokenRequired: token !== undefined,
            enabled: token !== undefined || this.#options.actions.allowUnauthenticated,
            tradingStateAvailable: this.#options.tradingState !== undefined,
          },
          feed: this.#feed ? { started: this.#feed.started, ...this.#feed.stats() } : { started: false },
        });
      }
      case '/api/events':
        return this.#events(req, res, url);
      default:
        return this.#sendJson(res, 404, { error: 'NOT_FOUND', message: `no API route ${path}` });
    }
  }

  async #cancelAll(res: ServerResponse, body: unknown): Promise<void> {
    const { backends, logger } = this.#options;
    const filter = parseCancelAllBody(body);
    let targets: Array<{ venue: string; account: string }>;
    if (filter.venue && filter.account) {
      targets = [{ venue: filter.venue, account: filter.account }];
    } else {
      // Every account we know of: the ones with open orders and the ones with balances.
      const [orders, balances] = await Promise.all([
        backends.openOrders(),
        backends.balances().catch(asError),
      ]);
      const keys = new Set<string>();
      for (const o of orders.orders) keys.add(`${o.venue}\u0000${o.account}`);
      if (!(balances instanceof Error)) {
        for (const b of balances.balances)
          if (b.balance) keys.add(`${b.balance.venue}\u0000${b.balance.account}`);
      }
      targets = [...keys]
        .map((k) => {
          const [venue, account] = k.split('\u0000') as [string, string];
          return { venue, account };
        })
        .filter(
          (t) =>
            (!filter.venue || t.venue === filter.venue) && (!filter.account || t.account === filter.account),
        )
        .sort((a, b) => `${a.venue}/${a.account}`.localeCompare(`${b.venue}/${b.account}`));
    }
    const results = await Promise.all(
      targets.map(async (t) => {
        const request: CancelAllOrdersRequest = {
          venue: t.venue,
          account: t.account,
          instrument: filter.instrument ?? '',
        };
        try {
          const answer = await backends.cancelAllOrders(request);
          return { ...t, ok: true, orders: answer.orders.length, error: null };
        } catch (err) {
          return { ...t, ok: false, orders: 0, error: err instanceof Error ? err.message : String(err) };
        }
      }),
    );
    const ok = results.every((r) => r.ok);
    logger.warn(
      {
        accounts: results.map((r) => `${r.venue}/${r.account}`),
        ok,
        orders: results.reduce((n, r) => n + r.orders, 0),
      },
      'gateway: cancel-all requested by operator',
    );
    this.#sendJson(res, ok ? 200 : 502, {
      asOfMs: this.#nowMs(),
      ok,
      ordersCancelRequested: results.reduce((n, r) => n + r.orders, 0),
      accounts: results,
    });
  }

  async #explain(res: ServerResponse, path: string): Promise<void> {
    const target = explainTargetOf(path);
    const source = this.#options.explain;
    if (!source) {
      throw new PerpmeshError(
        'UNAVAILABLE',
        'this gateway has no event log reader for explain; run `perpmesh explain <id>` instead',
      );
    }
    if (this.#explainsRunning >= MAX_CONCURRENT_EXPLAINS) {
      throw new PerpmeshError(
        'RESOURCE_EXHAUSTED',
        `at most ${MAX_CONCURRENT_EXPLAINS} explain requests at once; retry in a moment`,
      );
    }
    this.#explainsRunning += 1;
    try {
      const explanation = await source(target);
      if (explanation.timeline.length === 0) {
        throw new PerpmeshError(
          'NOT_FOUND',
          explanation.problems[0] ?? `nothing in the log with id ${JSON.stringify(target)}`,
        );
      }
      this.#sendJson(res, 200, { asOfMs: this.#nowMs(), ...explanation });
    } finally {
      this.#explainsRunning -= 1;
    }
  }

  async #tradingState(res: ServerResponse, body: unknown): Promise<void> {
    const change = parseTradingStateChange(body);
    const service = this.#options.tradingState;
    if (!service) {
      throw new TradingStateUnavailableError(
        `no strategy service is running, so there is no trading state to set to ${change.state}; ` +
          'use cancel-all to stop resting orders',
      );
    }
    const result = await service.setTradingState(change);
    this.#options.logger.warn(
      { state: result.state, reason: change.reason },
      'gateway: trading state set by operator',
    );
    this.#sendJson(res, 200, { asOfMs: this.#nowMs(), state: result.state });
  }

  #events(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const feed = this.#requireFeed();
    const client = req.socket.remoteAddress ?? 'unknown';
    const open = this.#sseStreamsByClient.get(client) ?? 0;
    if (open >= MAX_SSE_STREAMS_PER_CLIENT) {
      throw new PerpmeshError(
        'RESOURCE_EXHAUSTED',
        `at most ${MAX_SSE_STREAMS_PER_CLIENT} event streams per client; close one (another tab?) first`,
      );
    }
    const kinds = url.searchParams.get('kinds');
    const wanted = kinds ? new Set(kinds.split(',').filter(Boolean)) : undefined;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    // `retry`: how long the browser waits before reconnecting; `ready` tells it the stream is live.
    res.write(`retry: 3000\nevent: ready\ndata: ${JSON.stringify({ asOfMs: this.#nowMs() })}\n\n`);
    this.#sseClients.add(res);
    this.#sseStreamsByClient.set(client, open + 1);
    const send = (event: EventJson) => {
      if (wanted && !wanted.has(event.kind)) return;
      if (res.writableLength > MAX_SSE_BUFFER_BYTES) {
        this.#options.logger.warn('gateway: SSE client too slow, closing its stream');
        res.end();
        return;
      }
      res.write(`id: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    const unsubscribe = feed.subscribe(send);
    const heartbeat = setInterval(
      () => res.write(`: ping ${this.#nowMs()}\n\n`),
      this.#options.sseHeartbeatMs ?? DEFAULT_SSE_HEARTBEAT_MS,
    );
    heartbeat.unref();
    const cleanup = () => {
      clearInterval(heartbeat);
      unsubscribe();
      this.#sseClients.delete(res);
      const left = (this.#sseStreamsByClient.get(client) ?? 1) - 1;
      if (left > 0) this.#sseStreamsByClient.set(client, left);
      else this.#sseStreamsByClient.delete(client);
    };
    res.once('close', cleanup);
  }

  #mintStreamTicket(): string {
    const now = this.#nowMs();
    for (const [ticket, expiresAtMs] of this.#streamTickets) {
      if (expiresAtMs <= now) this.#streamTickets.delete(ticket);
    }
    if (this.#streamTickets.size >= MAX_STREAM_TICKETS) {
      throw new PerpmeshError('RESOURCE_EXHAUSTED', 'too many unused stream tickets; retry in a minute');
    }
    const ticket = randomBytes(24).toString('base64url');
    this.#streamTickets.set(ticket, now + STREAM_TICKET_TTL_MS);
    return ticket;
  }

  /** True once for a live ticket (single use). */
  #redeemStreamTicket(ticket: string): boolean {
    const expiresAtMs = this.#streamTickets.get(ticket);
    if (expiresAtMs === undefined) return false;
    this.#streamTickets.delete(ticket);
    return expiresAtMs > this.#nowMs();
  }

  #requireFeed(): EventFeed {
    if (!this.#feed?.started) {
      throw new PerpmeshError(
        'FEED_NOT_STARTED',
        'the gateway is starting: its event feed is not tailing the bus yet',
      );
    }
    return this.#feed;
  }

  async #serveStatic(res: ServerResponse, file: string): Promise<void> {
    let body = this.#staticCache.get(file);
    if (!body) {
      body = await readFile(file);
      this.#staticCache.set(file, body);
    }
    const ext = file.slice(file.lastIndexOf('.'));
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
      'content-length': body.length,
      'cache-control': 'no-cache',
    });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }

  #methodNotAllowed(res: ServerResponse, allow: string): void {
    res.setHeader('allow', allow);
    this.#sendJson(res, 405, { error: 'METHOD_NOT_ALLOWED', message: `use ${allow}` });
  }

  #sendError(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof ActionRefusedError && err.status === 401) {
      res.setHeader('www-authenticate', 'Bearer realm="perpmesh"');
    }
    if (err instanceof PerpmeshError && HTTP_STATUS_OF_CODE[err.code] !== undefined) {
      const message =
        err.message.length > MAX_ERROR_MESSAGE_CHARS
          ? `${err.message.slice(0, MAX_ERROR_MESSAGE_CHARS)}... (cut)`
          : err.message;
      const body: Record<string, unknown> = { error: err.code, message };
      if (err instanceof ValidationError) body.field = err.field;
      if (err instanceof BackendUnavailableError) body.service = err.service;
      this.#sendJson(res, HTTP_STATUS_OF_CODE[err.code]!, body);
      return;
    }
    this.#options.logger.error({ err }, 'gateway: request failed');
    this.#sendJson(res, 500, { error: 'INTERNAL', message: 'internal error (see the gateway log)' });
  }

  #sendJson(res: ServerResponse, status: number, body: unknown): void {
    const text = `${JSON.stringify(body)}\n`;
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(text),
    });
    res.end(res.req.method === 'HEAD' ? undefined : text);
  }
}

/**
 * Puts the gateway in front of an HTTP server's existing handler (runtime's /healthz
 * /readyz /metrics): one listener, the gateway's routes first, the rest as before.
 */
export function mountGateway(server: Server, gateway: Gateway, logger?: Logger): void {
  const fallbacks = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    gateway.handle(req, res).then(
      (handled) => {
        if (!handled) for (const fallback of fallbacks) fallback.call(server, req, res);
      },
      (err: unknown) => {
        logger?.error({ err, path: req.url }, 'gateway handler failed');
        if (!res.headersSent) {
          res.statusCode = 500;
          res.end('internal error\n');
        } else res.destroy();
      },
    );
  });
}

/** The host name of a Host header (`[::1]:8080` → `::1`), lowercased; '' when absent. */
function hostNameOf(hostHeader: string | undefined): string {
  const host = (hostHeader ?? '').trim().toLowerCase();
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']') > 0 ? host.indexOf(']') : undefined);
  const colon = host.lastIndexOf(':');
  return colon >= 0 && host.indexOf(':') === colon ? host.slice(0, colon) : host;
}

/**
 * DNS rebinding: a hostile page's name resolved to this machine still sends that name as
 * Host. IP literals and `localhost` cannot be rebound; other names must be listed.
 */
function checkHost(hostHeader: string | undefined, allowed: ReadonlySet<string>): void {
  const name = hostNameOf(hostHeader);
  if (name !== '' && (isIP(name) !== 0 || name === 'localhost' || allowed.has(name))) return;
  throw new PerpmeshError(
    'PERMISSION_DENIED',
    `the gateway does not answer to Host ${JSON.stringify(name.slice(0, 64))}: browse to it by IP address or localhost, or add the name to gateway.allowedHosts`,
  );
}

/** Actions are same-origin only: a browser's cross-site request is refused before the token is read. */
function checkSameOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  const crossSite = req.headers['sec-fetch-site'] === 'cross-site';
  let sameOrigin = !crossSite;
  if (origin !== undefined) {
    try {
      sameOrigin =
        sameOrigin && new URL(origin).host.toLowerCase() === (req.headers.host ?? '').toLowerCase();
    } catch {
      sameOrigin = false;
    }
  }
  if (!sameOrigin) {
    throw new PerpmeshError(
      'PERMISSION_DENIED',
      'actions are accepted from the dashboard itself only (same origin); this request came from another site',
    );
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function parseLimit(text: string | null): number | undefined {
  if (text === null) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new ValidationError('limit', `must be a whole number >= 1, got ${JSON.stringify(text)}`);
  return n;
}

function parseCancelAllBody(body: unknown): { venue?: string; account?: string; instrument?: string } {
  const value = (body ?? {}) as Record<string, unknown>;
  if (typeof value !== 'object' || Array.isArray(value))
    throw new ValidationError('body', 'must be a JSON object');
  const out: { venue?: string; account?: string; instrument?: string } = {};
  for (const field of ['venue', 'account', 'instrument'] as const) {
    const v = value[field];
    if (v === undefined || v === '') continue;
    if (typeof v !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(v)) {
      throw new ValidationError(
        field,
        `must be an id (letters, digits, "_" or "-"), got ${JSON.stringify(v)}`,
      );
    }
    out[field] = v;
  }
  if (out.account && !out.venue) throw new ValidationError('venue', 'is required when account is given');
  return out;
}

/**
 * A POST body as JSON. `content-type: application/json` is required: a cross-site HTML
 * form cannot send it without a CORS preflight (which the gateway never grants).
 */
async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new ValidationError(
      'content-type',
      `must be application/json, got ${JSON.stringify(type || '(none)')}`,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ValidationError('body', `must be at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError('body', 'is not valid JSON');
  }
}
