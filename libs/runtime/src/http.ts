/**
 * The operations HTTP listener every service runs:
 *   GET /healthz  200 while the process answers and its liveness checks pass, else 503;
 *   GET /readyz   200 when every component that decides readiness is ready, else 503; the
 *                 JSON body lists every component with `ready`, `reason` (a not-ready one's
 *                 cause, or a ready one's note) and `since` (epoch ms), and `informational:
 *                 true` on one that is shown but never flips readiness;
 *   GET /metrics  Prometheus text from the service's registry.
 * Answering /healthz at all proves the event loop turns; a blocked loop times the probe out.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { HealthRegistry } from './health.js';
import type { Logger } from './logger.js';

export interface HttpServerOptions {
  /** 0 binds any free port (tests); the bound port is in the result. */
  port: number;
  /** Default 127.0.0.1; services pass their configured host (0.0.0.0 in containers). */
  host?: string;
  health: HealthRegistry;
  /** Registry for /metrics; without it /metrics answers 404. */
  metrics?: Registry;
  logger?: Logger;
}

export interface RunningHttpServer {
  readonly port: number;
  readonly host: string;
  /** `http://host:port` (loopback when bound to all interfaces). */
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const { health, metrics, logger } = options;
  const startedAtMs = Date.now();

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger?.error({ err, path: req.url }, 'http handler failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    switch (path) {
      case '/healthz': {
        const report = health.liveness();
        const body = { alive: report.alive, uptimeMs: Date.now() - startedAtMs, failures: report.failures };
        return sendJson(res, report.alive ? 200 : 503, body);
      }
      case '/readyz': {
        const report = health.readiness();
        // reason: null (not absent) for ready components, so every entry has the same keys.
        const components = report.components.map((c) => ({ ...c, reason: c.reason ?? null }));
        return sendJson(res, report.ready ? 200 : 503, { ready: report.ready, components });
      }
      case '/metrics': {
        if (!metrics) return send(res, 404, 'text/plain; charset=utf-8', 'no metrics registry\n');
        return send(res, 200, metrics.contentType, await metrics.metrics());
      }
      default:
        return send(res, 404, 'text/plain; charset=utf-8', 'not found: try /healthz, /readyz or /metrics\n');
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Probes must not keep connections (and the process) alive across a shutdown.
  server.keepAliveTimeout = 5_000;
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  logger?.info({ host, port }, 'http listening (/healthz /readyz /metrics)');

  return {
    port,
    host,
    url: `http://${urlHost}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`);
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.statusCode = status;
  res.setHeader('content-type', contentType);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
