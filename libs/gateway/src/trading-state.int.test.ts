/**
 * The standalone gateway (distributed mode) forwards the dashboard's kill switch to the
 * strategy service over gRPC (`gateway.strategyAddress`), with the bearer token.
 */
import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import {
  type SetTradingStateRequest,
  type SetTradingStateResponse,
  StrategyServiceService,
  TradingState,
} from '@perpmesh/contracts';
import { createLogger, Secret } from '@perpmesh/runtime';
import { buildGateway } from './components.js';
import { gatewayConfigSchema } from './config.js';
import { mountGateway } from './gateway.js';

const TOKEN = 'kill-switch-token';
const received: { state: TradingState; reason: string; auth: string }[] = [];
let grpcServer: Server;
let http: HttpServer;
let baseUrl: string;

before(async () => {
  grpcServer = new Server();
  const unimplemented = (_call: unknown, cb: sendUnaryData<never>) =>
    cb({ code: 12, details: 'not in this test' } as never, null);
  grpcServer.addService(StrategyServiceService, {
    listStrategies: unimplemented,
    getTradingState: unimplemented,
    getArbBook: unimplemented,
    closeAll: unimplemented,
    listDecisions: unimplemented,
    setTradingState: (
      call: ServerUnaryCall<SetTradingStateRequest, SetTradingStateResponse>,
      cb: sendUnaryData<SetTradingStateResponse>,
    ) => {
      received.push({
        state: call.request.state,
        reason: call.request.reason,
        auth: String(call.metadata.get('authorization')[0] ?? ''),
      });
      cb(null, { strategies: [], previous: [] } as unknown as SetTradingStateResponse);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const config = gatewayConfigSchema.parse({ gateway: { strategyAddress: `127.0.0.1:${port}` } });
  const { gateway } = buildGateway({
    section: config.gateway,
    authToken: new Secret(TOKEN, 'test'),
    logger: createLogger({ service: 'gateway-test', level: 'silent' }),
  });
  http = createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  mountGateway(http, gateway, createLogger({ service: 'gateway-test', level: 'silent' }));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise<void>((resolve) => http.close(() => resolve()));
  grpcServer.forceShutdown();
});

test('POST /api/trading-state reaches StrategyService.SetTradingState with the token', async () => {
  const res = await fetch(`${baseUrl}/api/trading-state`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ state: 'HALTED', reason: 'operator test' }),
  });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { state: string }).state, 'HALTED');
  assert.deepEqual(received, [
    { state: TradingState.TRADING_STATE_HALTED, reason: 'operator test', auth: `Bearer ${TOKEN}` },
  ]);
});
