/**
 * Starts `perpmesh start` (the embedded system, with the gateway on its HTTP listener) as
 * a real process for the gateway's e2e and browser tests: every port 0, a fresh dataDir,
 * and the addresses read from its ready line. The same way libs/cli's start.e2e test runs it.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  ExecutionServiceClient,
  type ListOpenOrdersResponse,
  OrderType,
  type PlaceOrderRequest,
  type PlaceOrderResponse,
  Side,
  TimeInForce,
} from '@perpmesh/contracts';
import { eventually } from '@perpmesh/testing';

export const ROOT = new URL('../../../', import.meta.url).pathname;
const READY =
  /perpmesh is ready in [\d.]+ s: health http:\/\/localhost:(\d+)\/readyz, gRPC execution (\S+), account (\S+), market-data (\S+);/;

export interface EmbeddedSystem {
  readonly child: ChildProcess;
  readonly dataDir: string;
  readonly baseUrl: string;
  readonly executionAddress: string;
  /** The bearer token for actions (and gRPC, when `token` was given at start). */
  readonly actionToken: string;
  /** When started with a token, the gRPC servers demand it too. */
  readonly grpcToken: string | undefined;
  stderr(): string;
  stop(): Promise<number | null>;
}

export async function startEmbeddedSystem(options: { token?: string } = {}): Promise<EmbeddedSystem> {
  const dataDir = mkdtempSync(join(tmpdir(), 'perpmesh-gateway-'));
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@perpmesh/source',
      join(ROOT, 'libs/cli/src/bin.ts'),
      'start',
      ...[
        'dataDir',
        dataDir,
        'log.level',
        'warn',
        'gateway.http.port',
        '0',
        'gateway.http.host',
        '127.0.0.1',
      ].flatMap((v, i, a) => (i % 2 === 0 ? ['--set', `${v}=${a[i + 1]}`] : [])),
      ...['execution', 'account', 'marketData', 'strategy'].flatMap((s) => [
        '--set',
        `${s}.grpcPort=0`,
        '--set',
        `${s}.grpcHost=127.0.0.1`,
      ]),
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        PERPMESH_CONFIG: '',
        PERPMESH_TOKEN: options.token ?? '',
      },
    },
  );
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const stop = () =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) {
        rmSync(dataDir, { recursive: true, force: true });
        resolve(child.exitCode);
        return;
      }
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.once('exit', (code) => {
        clearTimeout(killer);
        rmSync(dataDir, { recursive: true, force: true });
        resolve(code);
      });
      child.kill('SIGTERM');
    });
  // The ready line, or the process's end (no use waiting out the deadline then).
  const ready = await eventually(
    'the ready line',
    () => READY.exec(err) ?? (child.exitCode !== null ? ('exited' as const) : undefined),
    { timeoutMs: 60_000, intervalMs: 100 },
  ).catch(() => 'timed out' as const);
  if (typeof ready === 'string') {
    await stop();
    assert.fail(`perpmesh start did not become ready (${ready}); stderr:\n${err}`);
  }
  const actionToken = options.token ?? readFileSync(join(dataDir, 'gateway-token'), 'utf8').trim();
  return {
    child,
    dataDir,
    baseUrl: `http://127.0.0.1:${ready[1]}`,
    executionAddress: ready[2]!,
    actionToken,
    grpcToken: options.token,
    stderr: () => err,
    stop,
  };
}

function unary<Req, Res>(
  client: ExecutionServiceClient,
  method: 'placeOrder' | 'listOpenOrders',
  request: Req,
  token: string | undefined,
): Promise<Res> {
  const metadata = new Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  const fn = (client[method] as unknown as (...args: never[]) => unknown).bind(client) as (
    req: Req,
    md: Metadata,
    cb: (err: ServiceError | null, res: Res) => void,
  ) => void;
  return new Promise((resolve, reject) => fn(request, metadata, (e, r) => (e ? reject(e) : resolve(r))));
}

/** Places orders over ExecutionService (the way strategies and the CLI do). */
export class ExecutionClient {
  readonly #client: ExecutionServiceClient;
  constructor(
    address: string,
    private readonly token: string | undefined,
  ) {
    this.#client = new ExecutionServiceClient(address, credentials.createInsecure());
  }

  /** A GTC limit buy at `price` (pass one far below the market: it rests until canceled). */
  placeRestingBuy(clientOrderId: string, price: string, venue = 'paper'): Promise<PlaceOrderResponse> {
    const request: PlaceOrderRequest = {
      clientOrderId,
      venue,
      account: 'main',
      instrument: 'BTC-USDC-PERP',
      side: Side.SIDE_BUY,
      type: OrderType.ORDER_TYPE_LIMIT,
      timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
      price,
      size: '0.01',
      reduceOnly: false,
      correlationId: '',
    };
    return unary(this.#client, 'placeOrder', request, this.token);
  }

  placeMarketBuy(clientOrderId: string, size: string, venue = 'paper'): Promise<PlaceOrderResponse> {
    const request: PlaceOrderRequest = {
      clientOrderId,
      venue,
      account: 'main',
      instrument: 'BTC-USDC-PERP',
      side: Side.SIDE_BUY,
      type: OrderType.ORDER_TYPE_MARKET,
      timeInForce: TimeInForce.TIME_IN_FORCE_IOC,
      price: '',
      size,
      reduceOnly: false,
      correlationId: '',
    };
    return unary(this.#client, 'placeOrder', request, this.token);
  }

  listOpenOrders(): Promise<ListOpenOrdersResponse> {
    return unary(this.#client, 'listOpenOrders', { venue: '', account: '', instrument: '' }, this.token);
  }

  close(): void {
    this.#client.close();
  }
}
