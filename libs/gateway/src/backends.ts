/**
 * What the gateway reads and asks: the services' gRPC APIs behind one small port
 * (`GatewayBackends`), so the HTTP layer is tested against a fake and runs against
 * `GrpcBackends` in production.
 *
 * Addresses are functions: the embedded process learns its gRPC ports (0 in tests) only
 * once its servers are bound, after the gateway's HTTP listener is already up.
 */
import {
  type CallOptions,
  type Client,
  type credentials,
  Metadata,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import {
  AccountServiceClient,
  type CancelAllOrdersRequest,
  type CancelAllOrdersResponse,
  ExecutionServiceClient,
  type ExecutionServiceGetVenueReadinessResponse,
  type GetAccountSummaryResponse,
  type GetArbBookResponse,
  type GetBalancesResponse,
  type GetFundingRatesResponse,
  type GetPositionsResponse,
  type GetVenueReadinessResponse,
  type GetVenueStatusResponse,
  type ListOpenOrdersResponse,
  type ListStrategiesResponse,
  MarketDataServiceClient,
  type SetTradingStateResponse,
  StrategyServiceClient,
  TRADING_STATE,
} from '@perpmesh/contracts';
import { bearerMetadata, grpcChannelCredentials, type Secret, type TlsSection } from '@perpmesh/runtime';
import { BackendUnavailableError } from './errors.js';
import type { TradingState, TradingStateChange, TradingStateService } from './trading-state.js';
import { ARB_BOOK_STRATEGY_KIND } from './views.js';

export interface GatewayBackends {
  venueStatus(): Promise<GetVenueStatusResponse>;
  /** Every component of each account's venue port (account service); absent = not shown. */
  venueReadiness?(): Promise<GetVenueReadinessResponse>;
  /** The same of execution's ports (signer, nonces, dead-man switch); absent = not shown. */
  executionVenueReadiness?(): Promise<ExecutionServiceGetVenueReadinessResponse>;
  fundingRates(): Promise<GetFundingRatesResponse>;
  balances(): Promise<GetBalancesResponse>;
  positions(): Promise<GetPositionsResponse>;
  accountSummary(): Promise<GetAccountSummaryResponse>;
  openOrders(): Promise<ListOpenOrdersResponse>;
  cancelAllOrders(request: CancelAllOrdersRequest): Promise<CancelAllOrdersResponse>;
  /** The arb book of every funding-arb strategy (StrategyService); absent: /api/arbs answers 502. */
  arbBooks?(): Promise<GetArbBookResponse[]>;
  close(): void;
}

export interface GrpcBackendAddresses {
  readonly execution: () => string;
  readonly account: () => string;
  readonly marketData: () => string;
  /** StrategyService: the arb books, and the kill switch (over gRPC in the standalone gateway). */
  readonly strategy: () => string;
}

export interface GrpcBackendsOptions {
  addresses: GrpcBackendAddresses;
  /** Sent as `authorization: Bearer` when the services demand a token (`auth.token`). */
  authToken?: Secret | undefined;
  /** The `tls` section: TLS to the services when it has a caFile or certFile. */
  tls?: Partial<TlsSection> | undefined;
  callTimeoutMs: number;
}

type ServiceName = keyof GrpcBackendAddresses;
type Unary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, response: Res) => void,
) => unknown;

const CONSTRUCTORS = {
  execution: ExecutionServiceClient,
  account: AccountServiceClient,
  marketData: MarketDataServiceClient,
  strategy: StrategyServiceClient,
} as const;

const SERVICE_LABEL: Record<ServiceName, string> = {
  execution: 'execution',
  account: 'account',
  marketData: 'market-data',
  strategy: 'strategy',
};

export class GrpcBackends implements GatewayBackends {
  readonly #options: GrpcBackendsOptions;
  readonly #clients = new Map<ServiceName, { address: string; client: Client }>();

  constructor(options: GrpcBackendsOptions) {
    this.#options = options;
  }

  venueStatus(): Promise<GetVenueStatusResponse> {
    return this.#call('marketData', (c) => c.getVenueStatus.bind(c), { venue: '' });
  }
  venueReadiness(): Promise<GetVenueReadinessResponse> {
    return this.#call('account', (c) => c.getVenueReadiness.bind(c), { venue: '', account: '' });
  }
  executionVenueReadiness(): Promise<ExecutionServiceGetVenueReadinessResponse> {
    return this.#call('execution', (c) => c.getVenueReadiness.bind(c), { venue: '', account: '' });
  }
  fundingRates(): Promise<GetFundingRatesResponse> {
    return this.#call('marketData', (c) => c.getFundingRates.bind(c), { venue: '', instrument: '' });
  }
  balances(): Promise<GetBalancesResponse> {
    return this.#call('account', (c) => c.getBalances.bind(c), { venue: '', account: '' });
  }
  positions(): Promise<GetPositionsResponse> {
    return this.#call('account', (c) => c.getPositions.bind(c), { venue: '', account: '', instrument: '' });
  }
  accountSummary(): Promise<GetAccountSummaryResponse> {
    return this.#call('account', (c) => c.getAccountSummary.bind(c), { venue: '', account: '' });
  }
  openOrders(): Promise<ListOpenOrdersResponse> {
    return this.#call('execution', (c) => c.listOpenOrders.bind(c), {
      venue: '',
      account: '',
      instrument: '',
    });
  }
  cancelAllOrders(request: CancelAllOrdersRequest): Promise<CancelAllOrdersResponse> {
    return this.#call('execution', (c) => c.cancelAllOrders.bind(c), request);
  }

  /** Every funding-arb strategy's book: ListStrategies, then GetArbBook for each of that kind. */
  async arbBooks(): Promise<GetArbBookResponse[]> {
    const list = await this.#call<'strategy', unknown, ListStrategiesResponse>(
      'strategy',
      (c) => c.listStrategies.bind(c),
      {},
    );
    const ids = list.strategies.filter((s) => s.kind === ARB_BOOK_STRATEGY_KIND).map((s) => s.strategyId);
    return Promise.all(
      ids.map((strategyId) =>
        this.#call<'strategy', unknown, GetArbBookResponse>('strategy', (c) => c.getArbBook.bind(c), {
          strategyId,
        }),
      ),
    );
  }

  /** The kill switch over StrategyService.SetTradingState, for every strategy of the service. */
  async setTradingState(change: TradingStateChange): Promise<{ state: TradingState }> {
    await this.#call<'strategy', unknown, SetTradingStateResponse>(
      'strategy',
      (c) => c.setTradingState.bind(c),
      {
        strategyId: '',
        state: TRADING_STATE.toProto(change.state),
        reason: change.reason,
      },
    );
    return { state: change.state };
  }

  /** `setTradingState` as the gateway's TradingStateService. */
  tradingStateService(): TradingStateService {
    return { setTradingState: (change) => this.setTradingState(change) };
  }

  close(): void {
    for (const { client } of this.#clients.values()) client.close();
    this.#clients.clear();
  }

  #client<S extends ServiceName>(
    service: S,
  ): { address: string; client: InstanceType<(typeof CONSTRUCTORS)[S]> } {
    const address = this.#options.addresses[service]();
    const held = this.#clients.get(service);
    if (held && held.address === address) {
      return held as { address: string; client: InstanceType<(typeof CONSTRUCTORS)[S]> };
    }
    held?.client.close();
    const Ctor = CONSTRUCTORS[service] as unknown as new (
      address: string,
      creds: ReturnType<typeof credentials.createInsecure>,
    ) => InstanceType<(typeof CONSTRUCTORS)[S]>;
    const entry = { address, client: new Ctor(address, grpcChannelCredentials(this.#options.tls)) };
    this.#clients.set(service, entry);
    return entry;
  }

  #call<S extends ServiceName, Req, Res>(
    service: S,
    method: (client: InstanceType<(typeof CONSTRUCTORS)[S]>) => unknown,
    request: Req,
  ): Promise<Res> {
    let address = '(unknown)';
    try {
      const held = this.#client(service);
      address = held.address;
      const fn = method(held.client) as Unary<Req, Res>;
      const metadata = this.#options.authToken ? bearerMetadata(this.#options.authToken) : new Metadata();
      const deadline = new Date(Date.now() + this.#options.callTimeoutMs);
      return new Promise<Res>((resolve, reject) => {
        fn(request, metadata, { deadline }, (err, response) => {
          if (err) reject(backendError(SERVICE_LABEL[service], address, err));
          else resolve(response);
        });
      });
    } catch (err) {
      return Promise.reject(backendError(SERVICE_LABEL[service], address, err));
    }
  }
}

function backendError(service: string, address: string, err: unknown): BackendUnavailableError {
  const code = (err as Partial<ServiceError>)?.code;
  const statusName = typeof code === 'number' ? status[code] : undefined;
  const details = (err as Partial<ServiceError>)?.details;
  const detail =
    typeof details === 'string' && details !== ''
      ? details
      : err instanceof Error
        ? err.message
        : String(err);
  return new BackendUnavailableError(service, address, statusName, detail, err);
}
