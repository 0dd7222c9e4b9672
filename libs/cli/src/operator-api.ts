/**
 * The gRPC calls the operator commands make, with the token attached, a deadline on
 * every call, and failures turned into `CliError`s (cli-errors.ts). One channel per
 * service, opened on first use; `close()` releases them so the process can exit.
 */

import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import {
  type CallOptions,
  type Client,
  type ClientOptions,
  type ClientUnaryCall,
  connectivityState,
  type credentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  AccountServiceClient,
  type CancelAllOrdersRequest,
  type CancelAllOrdersResponse,
  ExecutionServiceClient,
  type ExecutionServiceGetVenueReadinessRequest,
  type ExecutionServiceGetVenueReadinessResponse,
  type GetAccountSummaryRequest,
  type GetAccountSummaryResponse,
  type GetArbBookRequest,
  type GetArbBookResponse,
  type GetBalancesRequest,
  type GetBalancesResponse,
  type GetFundingRatesRequest,
  type GetFundingRatesResponse,
  type GetOrderRequest,
  type GetOrderResponse,
  type GetPositionsRequest,
  type GetPositionsResponse,
  type GetVenueReadinessRequest,
  type GetVenueReadinessResponse,
  type GetVenueStatusRequest,
  type GetVenueStatusResponse,
  type ListOpenOrdersRequest,
  type ListOpenOrdersResponse,
  type ListStrategiesResponse,
  MarketDataServiceClient,
  type SetTradingStateRequest,
  type SetTradingStateResponse,
  StrategyServiceClient,
} from '@perpmesh/contracts';
import { bearerAuthInterceptor, grpcChannelCredentials } from '@perpmesh/runtime';
import { ADDRESS_FLAG, type CliService, type CliTargets } from './cli-config.js';
import { CliError, cliErrorFromGrpc } from './cli-errors.js';

/** `grpc.health.v1.HealthCheckResponse.ServingStatus`, plus UNREACHABLE when nothing answers. */
export type ServiceHealth = 'SERVING' | 'NOT_SERVING' | 'UNKNOWN' | 'SERVICE_UNKNOWN' | 'UNREACHABLE';

const SERVING_STATUS: Readonly<Record<number, ServiceHealth>> = {
  0: 'UNKNOWN',
  1: 'SERVING',
  2: 'NOT_SERVING',
  3: 'SERVICE_UNKNOWN',
};

// grpc.health.v1 is two one-field messages (`string service = 1`, `ServingStatus status = 1`),
// encoded with the wire helpers ts-proto output uses instead of loading health.proto at
// every CLI start. Only the client half is used; the server half completes the definition.
function readField1<T>(bytes: Uint8Array, wireType: number, read: (r: BinaryReader) => T, empty: T): T {
  const reader = new BinaryReader(bytes);
  let value = empty;
  while (reader.pos < reader.len) {
    const [field, type] = reader.tag();
    if (field === 1 && type === wireType) value = read(reader);
    else reader.skip(type);
  }
  return value;
}

const HealthClient = makeGenericClientConstructor(
  {
    check: {
      path: '/grpc.health.v1.Health/Check',
      requestStream: false,
      responseStream: false,
      requestSerialize: (req: { service: string }) =>
        Buffer.from(new BinaryWriter().uint32(10).string(req.service).finish()),
      requestDeserialize: (bytes: Buffer) => ({ service: readField1(bytes, 2, (r) => r.string(), '') }),
      responseSerialize: (res: { status: number }) =>
        Buffer.from(new BinaryWriter().uint32(8).int32(res.status).finish()),
      responseDeserialize: (bytes: Buffer) => ({ status: readField1(bytes, 0, (r) => r.int32(), 0) }),
    },
  },
  'grpc.health.v1.Health',
) as unknown as new (
  address: string,
  creds: ReturnType<typeof credentials.createInsecure>,
  options?: Partial<ClientOptions>,
) => Client & {
  check(
    req: { service: string },
    md: Metadata,
    opts: Partial<CallOptions>,
    cb: (err: ServiceError | null, res: { status: number }) => void,
  ): ClientUnaryCall;
};

type Invoke<Res> = (
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, res: Res) => void,
) => ClientUnaryCall;

export class OperatorApi {
  readonly #targets: CliTargets;
  readonly #clients = new Map<string, Client>();

  constructor(targets: CliTargets) {
    this.#targets = targets;
  }

  address(service: CliService): string {
    return this.#targets.address(service);
  }

  listOpenOrders(req: Partial<ListOpenOrdersRequest>): Promise<ListOpenOrdersResponse> {
    const c = this.#client('execution', ExecutionServiceClient);
    return this.#call('execution', c, 'ListOpenOrders', (md, o, cb) =>
      c.listOpenOrders(fill(req, { venue: '', account: '', instrument: '' }), md, o, cb),
    );
  }

  /** One order, open or finished (execution answers a finished one from its event log). */
  getOrder(req: GetOrderRequest): Promise<GetOrderResponse> {
    const c = this.#client('execution', ExecutionServiceClient);
    return this.#call('execution', c, 'GetOrder', (md, o, cb) => c.getOrder(req, md, o, cb));
  }

  cancelAllOrders(req: CancelAllOrdersRequest): Promise<CancelAllOrdersResponse> {
    const c = this.#client('execution', ExecutionServiceClient);
    return this.#call('execution', c, 'CancelAllOrders', (md, o, cb) => c.cancelAllOrders(req, md, o, cb));
  }

  getBalances(req: Partial<GetBalancesRequest>): Promise<GetBalancesResponse> {
    const c = this.#client('account', AccountServiceClient);
    return this.#call('account', c, 'GetBalances', (md, o, cb) =>
      c.getBalances(fill(req, { venue: '', account: '' }), md, o, cb),
    );
  }

  getPositions(req: Partial<GetPositionsRequest>): Promise<GetPositionsResponse> {
    const c = this.#client('account', AccountServiceClient);
    return this.#call('account', c, 'GetPositions', (md, o, cb) =>
      c.getPositions(fill(req, { venue: '', account: '', instrument: '' }), md, o, cb),
    );
  }

  getAccountSummary(req: Partial<GetAccountSummaryRequest>): Promise<GetAccountSummaryResponse> {
    const c = this.#client('account', AccountServiceClient);
    return this.#call('account', c, 'GetAccountSummary', (md, o, cb) =>
      c.getAccountSummary(fill(req, { venue: '', account: '' }), md, o, cb),
    );
  }

  getFundingRates(req: Partial<GetFundingRatesRequest>): Promise<GetFundingRatesResponse> {
    const c = this.#client('market-data', MarketDataServiceClient);
    return this.#call('market-data', c, 'GetFundingRates', (md, o, cb) =>
      c.getFundingRates(fill(req, { venue: '', instrument: '' }), md, o, cb),
    );
  }

  /** Every component of each account's venue port (AccountService.GetVenueReadiness). */
  getVenueReadiness(req: Partial<GetVenueReadinessRequest>): Promise<GetVenueReadinessResponse> {
    const c = this.#client('account', AccountServiceClient);
    return this.#call('account', c, 'GetVenueReadiness', (md, o, cb) =>
      c.getVenueReadiness(fill(req, { venue: '', account: '' }), md, o, cb),
    );
  }

  /** Every component of execution's venue ports (ExecutionService.GetVenueReadiness). */
  getExecutionVenueReadiness(
    req: Partial<ExecutionServiceGetVenueReadinessRequest>,
  ): Promise<ExecutionServiceGetVenueReadinessResponse> {
    const c = this.#client('execution', ExecutionServiceClient);
    return this.#call('execution', c, 'GetVenueReadiness', (md, o, cb) =>
      c.getVenueReadiness(fill(req, { venue: '', account: '' }), md, o, cb),
    );
  }

  getVenueStatus(req: Partial<GetVenueStatusRequest>): Promise<GetVenueStatusResponse> {
    const c = this.#client('market-data', MarketDataServiceClient);
    return this.#call('market-data', c, 'GetVenueStatus', (md, o, cb) =>
      c.getVenueStatus(fill(req, { venue: '' }), md, o, cb),
    );
  }

  listStrategies(): Promise<ListStrategiesResponse> {
    const c = this.#client('strategy', StrategyServiceClient);
    return this.#call('strategy', c, 'ListStrategies', (md, o, cb) => c.listStrategies({}, md, o, cb));
  }

  getArbBook(req: GetArbBookRequest): Promise<GetArbBookResponse> {
    const c = this.#client('strategy', StrategyServiceClient);
    return this.#call('strategy', c, 'GetArbBook', (md, o, cb) => c.getArbBook(req, md, o, cb));
  }

  setTradingState(req: SetTradingStateRequest): Promise<SetTradingStateResponse> {
    const c = this.#client('strategy', StrategyServiceClient);
    return this.#call('strategy', c, 'SetTradingState', (md, o, cb) => c.setTradingState(req, md, o, cb));
  }

  /**
   * The whole server's `grpc.health.v1` status; UNREACHABLE (with why) when nothing answers.
   * Never throws for an unreachable service: `status` reports it beside the others.
   */
  async health(service: CliService): Promise<{ health: ServiceHealth; error?: CliError }> {
    const c = this.#client(`${service} health`, HealthClient, service);
    try {
      const res = await this.#call<{ status: number }>(service, c, 'Health/Check', (md, o, cb) =>
        c.check({ service: '' }, md, o, cb),
      );
      return { health: SERVING_STATUS[res.status] ?? 'UNKNOWN' };
    } catch (err) {
      if (err instanceof CliError) return { health: 'UNREACHABLE', error: err };
      throw err;
    }
  }

  close(): void {
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }

  #client<C extends Client>(
    key: string,
    ctor: new (
      address: string,
      creds: ReturnType<typeof credentials.createInsecure>,
      options?: Partial<ClientOptions>,
    ) => C,
    service: CliService = key as CliService,
  ): C {
    let client = this.#clients.get(key);
    if (!client) {
      const token = this.#targets.token;
      // TLS when the config's `tls` section says so, else plaintext; the interceptor adds
      // `authorization: Bearer` on both (grpc-js refuses call credentials on plaintext).
      client = new ctor(this.address(service), grpcChannelCredentials(this.#targets.tls), {
        ...(token ? { interceptors: [bearerAuthInterceptor(token)] } : {}),
      });
      this.#clients.set(key, client);
    }
    return client as C;
  }

  #call<Res>(service: CliService, client: Client, method: string, invoke: Invoke<Res>): Promise<Res> {
    const timeoutMs = this.#targets.timeoutMs;
    return new Promise<Res>((resolve, reject) => {
      invoke(new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (!err) {
          resolve(res);
          return;
        }
        const state = client.getChannel().getConnectivityState(false);
        reject(
          cliErrorFromGrpc(err, {
            service,
            address: this.address(service),
            method,
            connected: state === connectivityState.READY,
            tokenSent: this.#targets.token !== undefined,
            timeoutMs,
            addressFlag: ADDRESS_FLAG[service],
          }),
        );
      });
    });
  }
}

function fill<T extends object>(partial: Partial<T>, defaults: T): T {
  const out = { ...defaults };
  for (const [key, value] of Object.entries(partial)) {
    if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  }
  return out;
}
