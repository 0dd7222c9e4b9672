/**
 * Starts `perpmesh start` (the embedded system, with the gateway on its HTTP listener) as
 * a real process for the gateway's e2e and browser tests, through @perpmesh/testing's
 * `startPerpmeshProcess` (as libs/cli's e2e tests do), in a fresh dataDir.
 */
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
import { type PerpmeshProcess, startPerpmeshProcess } from '@perpmesh/testing';
import { LOCAL_TOKEN_FILE } from './config.js';

export const ROOT = new URL('../../../', import.meta.url).pathname;

export interface EmbeddedSystem {
  readonly child: PerpmeshProcess['child'];
  readonly dataDir: string;
  readonly baseUrl: string;
  readonly executionAddress: string;
  /** The bearer token for actions (and gRPC, when `token` was given at start). */
  readonly actionToken: string;
  /** When started with a token, the gRPC servers demand it too. */
  readonly grpcToken: string | undefined;
  stderr(): string;
  /** Stops the process and removes its dataDir; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export async function startEmbeddedSystem(options: { token?: string } = {}): Promise<EmbeddedSystem> {
  const dataDir = mkdtempSync(join(tmpdir(), 'perpmesh-gateway-'));
  const removeDataDir = () => rmSync(dataDir, { recursive: true, force: true });
  const running = await startPerpmeshProcess({
    dataDir,
    env: { PERPMESH_TOKEN: options.token ?? '' },
  }).catch((err: unknown) => {
    removeDataDir();
    throw err;
  });
  const actionToken = options.token ?? readFileSync(join(dataDir, LOCAL_TOKEN_FILE), 'utf8').trim();
  return {
    child: running.child,
    dataDir,
    baseUrl: `http://127.0.0.1:${running.httpPort}`,
    executionAddress: running.execution,
    actionToken,
    grpcToken: options.token,
    stderr: running.stderr,
    stop: async () => {
      const code = await running.stop();
      removeDataDir();
      return code;
    },
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

  /**
   * A GTC limit buy at `price` (pass one far below the market: it rests until canceled);
   * `correlationId`: the decision that placed it (a decision's envelope id), if any.
   */
  placeRestingBuy(
    clientOrderId: string,
    price: string,
    venue = 'paper',
    correlationId = '',
  ): Promise<PlaceOrderResponse> {
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
      correlationId,
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
