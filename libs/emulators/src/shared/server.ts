/**
 * The shared base of every venue emulator: one HTTP server and one websocket server on
 * 127.0.0.1 (same port), the simulated exchange that really matches orders, a step timer
 * that moves the venue clock, and fault injection. A venue folder supplies the wire
 * format: its REST routes, its websocket protocol and its error payloads.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type EpochMs, errorText, sleep } from '@perpmesh/core';
import type { SimEvent } from '@perpmesh/sim';
import { type WebSocket, WebSocketServer } from 'ws';
import { type FaultConfig, Faults } from './faults.js';
import type { EmulatorMarket } from './market.js';

export interface EmulatorRequest {
  readonly method: string;
  /** Path without the query (`/fapi/v1/order`). */
  readonly path: string;
  /** The query string as sent (signatures cover it byte for byte). */
  readonly rawQuery: string;
  readonly rawBody: string;
  readonly headers: IncomingMessage['headers'];
}

export interface EmulatorResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

/** What a venue folder implements. */
export interface VenueWire {
  handle(request: EmulatorRequest): Promise<EmulatorResponse> | EmulatorResponse;
  /** The venue's payload for an HTTP fault (429 rate limit, 5xx). */
  faultResponse(kind: 'rate-limit' | 'server-error'): EmulatorResponse;
  onWebSocket(socket: WebSocket, request: IncomingMessage): void;
  /** Events of the simulated exchange since the last step, to push to subscribers. */
  onEvents(events: readonly SimEvent[]): void;
}

export interface EmulatorServerOptions {
  readonly market: EmulatorMarket;
  /** How often the venue clock moves; 0 = only on requests and `flush()`. Default 250 ms. */
  readonly stepIntervalMs?: number;
  readonly faults?: FaultConfig;
  /** Port to listen on (127.0.0.1); 0 = any free port. */
  readonly port?: number;
}

export class EmulatorServer {
  readonly faults: Faults;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private timer: NodeJS.Timeout | undefined;
  private wire: VenueWire | undefined;
  private readonly held = new Set<ServerResponse>();
  /** Requests served, by `METHOD /path` (what a test counts to prove nothing was resent). */
  readonly requestCounts = new Map<string, number>();

  constructor(private readonly options: EmulatorServerOptions) {
    this.faults = new Faults(options.faults);
    this.http = createServer((req, res) => {
      void this.serve(req, res);
    });
    // Idle keep-alive connections are closed by the client only: a server closing one while a
    // client sends on it resets a request the venue never read (seen as an unknown outcome
    // under load, when timers run late). close() ends every connection.
    this.http.keepAliveTimeout = 0;
    this.wss = new WebSocketServer({ server: this.http });
    this.wss.on('connection', (socket, request) => this.wire?.onWebSocket(socket, request));
  }

  get market(): EmulatorMarket {
    return this.options.market;
  }

  /** Listens on 127.0.0.1; returns the base URL (`http://127.0.0.1:<port>`). */
  async start(wire: VenueWire): Promise<string> {
    this.wire = wire;
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port ?? 0, '127.0.0.1', () => resolve());
    });
    const interval = this.options.stepIntervalMs ?? 250;
    if (interval > 0) {
      this.timer = setInterval(() => this.flush(), interval);
      this.timer.unref();
    }
    this.flush();
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  /** The venue's clock now (ours plus the market's skew): every venue time the wire sends. */
  nowMs(): EpochMs {
    return this.options.market.nowMs();
  }

  /** Moves the venue clock to now and pushes what happened to the websocket subscribers. */
  flush(nowMs: EpochMs = this.nowMs()): void {
    const events = this.options.market.step(nowMs);
    if (events.length > 0) this.wire?.onEvents(events);
  }

  /** Closes every websocket connection (clients see a drop and reconnect). */
  dropWebSockets(): void {
    for (const client of this.wss.clients) client.terminate();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const res of this.held) res.destroy();
    this.held.clear();
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const request: EmulatorRequest = {
      method: req.method ?? 'GET',
      path: q < 0 ? url : url.slice(0, q),
      rawQuery: q < 0 ? '' : url.slice(q + 1),
      rawBody: Buffer.concat(chunks).toString('utf8'),
      headers: req.headers,
    };
    const wire = this.wire as VenueWire;
    const routeKey = `${request.method} ${request.path}`;
    this.requestCounts.set(routeKey, (this.requestCounts.get(routeKey) ?? 0) + 1);
    if (this.faults.latencyMs > 0) await sleep(this.faults.latencyMs);
    const fault = this.faults.take(request.method, request.path);
    let response: EmulatorResponse;
    if (fault === 'rate-limit' || fault === 'server-error') {
      response = wire.faultResponse(fault);
    } else {
      try {
        this.flush();
        response = await wire.handle(request);
        this.flush();
      } catch (err) {
        response = { status: 500, body: { error: errorText(err) } };
      }
    }
    if (fault === 'timeout-after-accept') {
      // Processed, never answered: the client's deadline decides.
      this.held.add(res);
      res.on('close', () => this.held.delete(res));
      return;
    }
    // The `Date` header on the venue's clock (whole seconds), as a venue's servers send theirs.
    res.writeHead(response.status, {
      'content-type': 'application/json',
      date: new Date(this.nowMs()).toUTCString(),
      ...response.headers,
    });
    res.end(JSON.stringify(response.body));
  }
}

/** Sends a JSON frame if the socket is open. */
export function sendJson(socket: WebSocket, frame: unknown): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame));
}
