/**
 * The operator commands as real processes against `perpmesh start` (one embedded system,
 * every port 0, a bearer token required): status, balance, positions, orders, funding,
 * cancel-all in table and --json form; halt/reduce/resume against a stand-in strategy
 * service and a stopped one; config-file addressing; the
 * token and stopped-service errors.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  credentials,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceError,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import {
  AccountServiceClient,
  ExecutionServiceClient,
  type GetPositionsResponse,
  OrderType,
  type PlaceOrderRequest,
  type PlaceOrderResponse,
  type SetTradingStateRequest,
  type SetTradingStateResponse,
  Side,
  type StrategyInstance,
  StrategyMode,
  type StrategyServiceServer,
  StrategyServiceService,
  TimeInForce,
  TradingState,
} from '@perpmesh/contracts';
import { bearerAuthInterceptor, Secret } from '@perpmesh/runtime';
import { eventually, type PerpmeshProcess, startPerpmeshProcess, unary } from '@perpmesh/testing';
import { runCli } from './main.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const BIN = join(ROOT, 'libs/cli/src/bin.ts');
const TOKEN = `test-${randomBytes(12).toString('hex')}`;
const VENUES = ['paper', 'paper-extended', 'paper-lighter'];
const INSTRUMENTS = ['BTC-USDC-PERP', 'ETH-USDC-PERP'];

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `perpmesh <args>` as its own process. */
function cli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@perpmesh/source', BIN, ...args],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PERPMESH_CONFIG: '', PERPMESH_TOKEN: TOKEN, ...env },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

function json<T>(r: CliResult): T {
  assert.equal(r.code, 0, `exit 0; stderr:\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

function order(overrides: Partial<PlaceOrderRequest>): PlaceOrderRequest {
  return {
    clientOrderId: '',
    venue: 'paper',
    account: 'main',
    instrument: 'BTC-USDC-PERP',
    side: Side.SIDE_BUY,
    type: OrderType.ORDER_TYPE_MARKET,
    timeInForce: TimeInForce.TIME_IN_FORCE_IOC,
    price: '',
    size: '0.01',
    reduceOnly: false,
    correlationId: '',
    ...overrides,
  };
}

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

describe('perpmesh operator commands (against a running embedded system)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'perpmesh-cli-'));
  let system: PerpmeshProcess;
  let addr: string[];
  const interceptors = [bearerAuthInterceptor(new Secret(TOKEN))];
  let exec: ExecutionServiceClient;
  let acct: AccountServiceClient;

  before(async () => {
    system = await startPerpmeshProcess({ dataDir, env: { PERPMESH_TOKEN: TOKEN } });
    addr = [
      '--execution',
      system.execution,
      '--account-service',
      system.account,
      '--market-data',
      system.marketData,
    ];
    exec = new ExecutionServiceClient(system.execution, credentials.createInsecure(), { interceptors });
    acct = new AccountServiceClient(system.account, credentials.createInsecure(), { interceptors });
  });

  after(() => {
    exec?.close();
    acct?.close();
    if (system && system.child.exitCode === null) system.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('status: every service SERVING, the three venues ready per component (json and table)', async () => {
    const [asJson, asTable] = await Promise.all([
      cli(['status', ...addr, '--json']),
      cli(['status', ...addr]),
    ]);
    const report = json<{
      ready: boolean;
      services: { service: string; address: string; health: string }[];
      venues: {
        venue: string;
        ready: boolean;
        emulated: boolean | null;
        components: { name: string; service: string; ready: boolean; port?: { component: string } }[];
      }[];
      emulatedVenues: string[];
    }>(asJson);
    assert.equal(report.ready, true);
    assert.deepEqual(
      report.services.map((s) => [s.service, s.health]),
      [
        ['execution', 'SERVING'],
        ['account', 'SERVING'],
        ['market-data', 'SERVING'],
      ],
    );
    assert.deepEqual(
      report.venues.map((v) => [v.venue, v.ready]),
      VENUES.map((v) => [v, true]),
    );
    for (const v of report.venues) {
      assert.ok(
        v.components.some((c) => c.name === 'funding' && c.ready),
        `${v.venue} funding ready`,
      );
      // Every component of the venue ports too: market data's (public) and the account's.
      const ports = v.components.filter((c) => c.port).map((c) => `${c.service}:${c.name}`);
      for (const n of ['market-data:markets', 'market-data:market stream', 'account:main: user stream']) {
        assert.ok(ports.includes(n), `${v.venue} shows ${n} (has ${ports.join(', ')})`);
      }
      assert.equal(v.emulated, false, 'a paper venue is never called emulated');
    }
    assert.deepEqual(report.emulatedVenues, []);
    assert.equal(asTable.code, 0, asTable.stderr);
    for (const v of VENUES) assert.match(asTable.stdout, new RegExp(`│ ${v} +│ ready`));
    assert.match(asTable.stdout, /order_books/);
    assert.match(asTable.stdout, /main: user stream +│ account port +│ ready/);
    assert.match(asTable.stdout, /perpmesh is ready/);
  });

  test('balance: non-zero balances on every venue with their as-of age', async () => {
    const [asJson, asTable] = await Promise.all([
      cli(['balance', ...addr, '--json']),
      cli(['balance', ...addr]),
    ]);
    const { balances } = json<{
      balances: {
        venue: string;
        account: string;
        currency: string;
        total: string;
        ageMs: number;
        stale: boolean;
        asOfMs: number;
      }[];
    }>(asJson);
    assert.deepEqual([...new Set(balances.map((b) => b.venue))], VENUES);
    for (const b of balances) {
      assert.equal(typeof b.total, 'string', 'decimals are strings');
      assert.ok(Number(b.total) > 0, `${b.venue} balance ${b.total} is non-zero`);
      assert.ok(b.asOfMs > 0 && b.ageMs >= 0, 'as-of time and age');
      assert.equal(typeof b.stale, 'boolean');
    }
    assert.equal(asTable.code, 0, asTable.stderr);
    assert.match(asTable.stdout, /AGE/);
    assert.match(asTable.stdout, /│ paper-lighter +│ main +│ USDC +│ +100000(\.\d+)? │/);
    assert.match(asTable.stdout, /\d+(\.\d)?(ms|s) +│\n/, 'an age cell ends each row');

    const filtered = json<{ balances: { venue: string }[] }>(
      await cli(['balance', ...addr, '--json', '--venue', 'paper-extended']),
    );
    assert.deepEqual(
      filtered.balances.map((b) => b.venue),
      ['paper-extended'],
    );
  });

  test('positions: a market order placed over gRPC shows up as a position', async () => {
    await unary<PlaceOrderRequest, PlaceOrderResponse>(
      exec.placeOrder.bind(exec) as never,
      order({ clientOrderId: 'cli-e2e-pos-1' }),
    );
    await eventually('the fill to become a position', async () => {
      const res = await unary<unknown, GetPositionsResponse>(acct.getPositions.bind(acct) as never, {
        venue: 'paper',
        account: 'main',
        instrument: 'BTC-USDC-PERP',
      });
      return res.positions.some((p) => p.position?.size === '0.01');
    });
    const [asJson, asTable] = await Promise.all([
      cli(['positions', ...addr, '--json']),
      cli(['positions', ...addr]),
    ]);
    const { positions } = json<{
      positions: {
        venue: string;
        instrument: string;
        side: string;
        size: string;
        entryPrice: string;
        ageMs: number;
      }[];
    }>(asJson);
    const p = positions.find((x) => x.venue === 'paper' && x.instrument === 'BTC-USDC-PERP');
    assert.ok(p, `positions lists paper BTC-USDC-PERP: ${asJson.stdout}`);
    assert.equal(p.side, 'long');
    assert.equal(p.size, '0.01');
    assert.ok(Number(p.entryPrice) > 0);
    assert.equal(asTable.code, 0, asTable.stderr);
    assert.match(asTable.stdout, /│ paper +│ main +│ BTC-USDC-PERP │ long +│ +0\.01 │/);
  });

  test('order: one order by client or venue order id, every field; an unknown one is NOT_FOUND, exit 1', async () => {
    const placed = await unary<PlaceOrderRequest, PlaceOrderResponse>(
      exec.placeOrder.bind(exec) as never,
      order({ clientOrderId: 'cli-e2e-order-1', side: Side.SIDE_SELL }),
    );
    const venueOrderId = placed.order?.venueOrderId ?? '';
    assert.ok(venueOrderId, 'the venue gave an order id');
    const [asJson, asTable, byVenueId] = await Promise.all([
      cli(['order', 'cli-e2e-order-1', ...addr, '--venue', 'paper', '--json']),
      cli(['order', 'cli-e2e-order-1', ...addr, '--venue', 'paper']),
      cli([
        'order',
        venueOrderId,
        ...addr,
        '--venue',
        'paper',
        '--venue-order-id',
        '--instrument',
        'BTC-USDC-PERP',
        '--json',
      ]),
    ]);
    const { order: o } = json<{
      order: {
        clientOrderId: string;
        venueOrderId: string;
        side: string;
        status: string;
        filledSize: string;
        feeTotal: string;
      };
    }>(asJson);
    assert.deepEqual(
      [o.clientOrderId, o.venueOrderId, o.side, o.status, o.filledSize],
      ['cli-e2e-order-1', venueOrderId, 'sell', 'filled', '0.01'],
    );
    assert.ok(Number(o.feeTotal) > 0, `fees: ${asJson.stdout}`);
    assert.equal(
      json<{ order: { clientOrderId: string } }>(byVenueId).order.clientOrderId,
      'cli-e2e-order-1',
    );
    assert.equal(asTable.code, 0, asTable.stderr);
    assert.match(asTable.stdout, /│ status +│ filled +│/);
    assert.match(asTable.stdout, /│ venue order id +│ \S+ +│/);

    const unknown = await cli(['order', 'cli-e2e-never-placed', ...addr, '--venue', 'paper']);
    assert.equal(unknown.code, 1, unknown.stderr);
    assert.match(unknown.stderr, /no order .*cli-e2e-never-placed/);
    const noVenue = await cli(['order', 'cli-e2e-order-1', ...addr]);
    assert.notEqual(noVenue.code, 0);
    assert.match(noVenue.stderr, /--venue/);
  });

  test('orders: a resting limit order is listed; cancel-all --yes empties the open orders', async () => {
    await unary<PlaceOrderRequest, PlaceOrderResponse>(
      exec.placeOrder.bind(exec) as never,
      order({
        clientOrderId: 'cli-e2e-rest-1',
        venue: 'paper-lighter',
        type: OrderType.ORDER_TYPE_LIMIT,
        timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
        price: '50000',
      }),
    );
    const [asJson, asTable] = await Promise.all([
      cli(['orders', ...addr, '--json']),
      cli(['orders', ...addr]),
    ]);
    const { orders } = json<{
      orders: {
        clientOrderId: string;
        venue: string;
        side: string;
        type: string;
        price: string;
        status: string;
      }[];
    }>(asJson);
    const resting = orders.find((o) => o.clientOrderId === 'cli-e2e-rest-1');
    assert.ok(resting, `orders lists the resting order: ${asJson.stdout}`);
    assert.deepEqual(
      [resting.venue, resting.side, resting.type, resting.price, resting.status],
      ['paper-lighter', 'buy', 'limit', '50000', 'accepted'],
    );
    assert.equal(asTable.code, 0, asTable.stderr);
    assert.match(asTable.stdout, /│ paper-lighter │ main +│ BTC-USDC-PERP │ buy +│ limit │ gtc +│ +50000 │/);
    assert.match(asTable.stdout, /cli-e2e-rest-1/);

    // No terminal and no --yes: nothing is canceled.
    const refused = await cli(['cancel-all', ...addr]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /pass --yes/);
    // Declined at the prompt (in process, with the prompt stubbed): nothing is canceled.
    const out = new Capture();
    const err = new Capture();
    let asked = '';
    const declined = await runCli(['cancel-all', ...addr], {
      out,
      err,
      env: { ...process.env, PERPMESH_CONFIG: '', PERPMESH_TOKEN: TOKEN },
      confirm: async (q) => {
        asked = q;
        return false;
      },
    });
    assert.equal(declined, 1, err.text);
    assert.match(err.text, /not confirmed; nothing was canceled/);
    assert.match(
      asked,
      /Cancel 1 open order\(s\) on paper\/main, paper-extended\/main, paper-lighter\/main\?/,
    );
    assert.equal(json<{ orders: unknown[] }>(await cli(['orders', ...addr, '--json'])).orders.length, 1);

    const canceled = json<{
      requested: number;
      accounts: { venue: string; account: string; orders: { clientOrderId: string }[] }[];
    }>(await cli(['cancel-all', ...addr, '--yes', '--json']));
    assert.equal(canceled.requested, 1);
    assert.deepEqual(
      canceled.accounts.map((a) => a.venue),
      VENUES,
      'every configured account is asked to cancel',
    );
    assert.equal(
      canceled.accounts.find((a) => a.venue === 'paper-lighter')?.orders[0]?.clientOrderId,
      'cli-e2e-rest-1',
    );
    await eventually(
      'no open orders left',
      async () => json<{ orders: unknown[] }>(await cli(['orders', ...addr, '--json'])).orders.length === 0,
      10_000,
    );
  });

  test('cancel-all on one venue/account, as a table', async () => {
    const r = await cli(['cancel-all', ...addr, '--venue', 'paper', '--account', 'main', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /│ paper +│ main +│ +0 │ ok +│/);
    assert.doesNotMatch(r.stdout, /paper-lighter/);
    assert.match(r.stdout, /cancel requested for 0 order\(s\) on 1 account\(s\)/);
  });

  test('funding: raw rate, interval, per hour and annualized for every venue and instrument', async () => {
    const [asJson, asTable] = await Promise.all([
      cli(['funding', ...addr, '--json']),
      cli(['funding', ...addr]),
    ]);
    const { rates } = json<{
      rates: {
        venue: string;
        instrument: string;
        rate: string;
        intervalMs: number;
        ratePerHour: string;
        annualized: string;
      }[];
    }>(asJson);
    for (const v of VENUES) {
      for (const i of INSTRUMENTS) {
        const r = rates.find((x) => x.venue === v && x.instrument === i);
        assert.ok(r, `funding for ${v} ${i}`);
        for (const field of ['rate', 'ratePerHour', 'annualized'] as const) {
          assert.match(r[field], /^-?\d+(\.\d+)?$/, `${field} is decimal text`);
        }
        assert.ok(r.intervalMs > 0);
      }
    }
    assert.equal(rates.find((r) => r.venue === 'paper')?.intervalMs, 8 * 3_600_000);
    assert.equal(rates.find((r) => r.venue === 'paper-lighter')?.intervalMs, 3_600_000);
    assert.equal(asTable.code, 0, asTable.stderr);
    assert.match(asTable.stdout, /PER HOUR.*ANNUALIZED/);
    assert.match(
      asTable.stdout,
      /│ BTC-USDC-PERP │ paper +│ +-?\d+\.\d{4}% │ +8h │ +-?\d+\.\d{5}% │ +-?\d+\.\d{2}% │/,
    );
    assert.equal(asTable.stdout.match(/-PERP │ paper/g)?.length, 6, 'six venue/instrument rows');
  });

  test('halt / reduce / resume: the strategy service not running is one clear line, exit 2', async () => {
    const closedPort = await new Promise<number>((resolvePort) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolvePort(port));
      });
    });
    const results = await Promise.all(
      ['halt', 'reduce', 'resume'].map((c) =>
        cli([c, '--strategy', `127.0.0.1:${closedPort}`, '--reason', 'test']),
      ),
    );
    for (const [i, command] of ['halt', 'reduce', 'resume'].entries()) {
      const r = results[i]!;
      assert.equal(r.code, 2, r.stderr);
      assert.equal(
        r.stderr.trim(),
        `perpmesh ${command}: cannot reach the strategy service at 127.0.0.1:${closedPort} (connection refused): ` +
          'is it running? Start it with `perpmesh start`, or pass --strategy host:port',
      );
    }
  });

  test('halt / reduce / resume: SetTradingState on the strategy service, with the token (table and json)', async () => {
    // A stand-in StrategyService: the real one is another service's; this checks what the CLI sends.
    const calls: { state: TradingState; strategyId: string; reason: string; auth: string }[] = [];
    let current = TradingState.TRADING_STATE_ACTIVE;
    const server = new Server();
    const instance = (): StrategyInstance => ({
      strategyId: 'funding-arb-1',
      kind: 'funding_arb',
      mode: StrategyMode.STRATEGY_MODE_LIVE,
      state: 'running',
      tradingState: current,
      reason: '',
      decisions: 3,
      openOrders: 0,
    });
    const unimplemented = (_call: unknown, cb: (err: Partial<ServiceError>) => void) =>
      cb({ code: status.UNIMPLEMENTED, details: 'not in this test' });
    server.addService(StrategyServiceService, {
      listStrategies: unimplemented,
      getTradingState: unimplemented,
      getArbBook: unimplemented,
      closeAll: unimplemented,
      listDecisions: unimplemented,
      setTradingState: (
        call: ServerUnaryCall<SetTradingStateRequest, SetTradingStateResponse>,
        cb: sendUnaryData<SetTradingStateResponse>,
      ) => {
        calls.push({ ...call.request, auth: String(call.metadata.get('authorization')[0] ?? '') });
        const previous = current;
        current = call.request.state;
        cb(null, { strategies: [instance()], previous: [previous] });
      },
    } satisfies StrategyServiceServer);
    const port = await new Promise<number>((resolvePort, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolvePort(p),
      ),
    );
    try {
      const strategy = ['--strategy', `127.0.0.1:${port}`];
      const halted = json<{
        requested: string;
        strategies: { strategyId: string; previousTradingState: string; tradingState: string }[];
      }>(await cli(['halt', ...strategy, '--reason', 'operator test', '--json']));
      assert.deepEqual(halted, {
        requested: 'HALTED',
        strategies: [
          {
            strategyId: 'funding-arb-1',
            kind: 'funding_arb',
            mode: 'live',
            state: 'running',
            previousTradingState: 'ACTIVE',
            tradingState: 'HALTED',
            openOrders: 0,
          },
        ],
      });
      const reduced = await cli(['reduce', ...strategy, '--strategy-id', 'funding-arb-1']);
      assert.equal(reduced.code, 0, reduced.stderr);
      assert.match(
        reduced.stdout,
        /│ funding-arb-1 │ funding_arb │ live +│ running │ HALTED │ REDUCING │ +0 │/,
      );
      const resumed = await cli(['resume', ...strategy]);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stdout, /trading state ACTIVE on 1 strategy/);
      assert.deepEqual(
        calls.map((c) => [c.state, c.strategyId, c.reason, c.auth]),
        [
          [TradingState.TRADING_STATE_HALTED, '', 'operator test', `Bearer ${TOKEN}`],
          [TradingState.TRADING_STATE_REDUCING, 'funding-arb-1', 'perpmesh reduce', `Bearer ${TOKEN}`],
          [TradingState.TRADING_STATE_ACTIVE, '', 'perpmesh resume', `Bearer ${TOKEN}`],
        ],
      );
    } finally {
      server.forceShutdown();
    }
  });

  test('addresses and token from the config file; without the token the service says to set it', async () => {
    const configPath = join(dataDir, 'cli.yaml');
    writeFileSync(
      configPath,
      [
        'auth:',
        '  token: { env: CLI_TEST_TOKEN }',
        'cli:',
        `  executionAddress: ${system.execution}`,
        `  accountAddress: ${system.account}`,
        `  marketDataAddress: ${system.marketData}`,
        '',
      ].join('\n'),
    );
    const [fromConfig, noToken] = await Promise.all([
      cli(['orders', '--config', configPath, '--json'], { PERPMESH_TOKEN: '', CLI_TEST_TOKEN: TOKEN }),
      cli(['balance', ...addr], { PERPMESH_TOKEN: '' }),
    ]);
    assert.deepEqual(json<{ orders: unknown[] }>(fromConfig).orders, []);
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /the account service at \S+ requires a token: set PERPMESH_TOKEN/);
    assert.doesNotMatch(noToken.stderr + fromConfig.stderr, new RegExp(TOKEN), 'the token is never printed');
  });

  test('a bad flag value is named, exit 2', async () => {
    const r = await cli(['orders', '--execution', 'nowhere', '--json']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--execution: expected host:port/);
  });

  test('a stopped service: one clear line naming it and its address, exit 2', async () => {
    await new Promise<void>((resolveExit) => {
      system.child.once('exit', () => resolveExit());
      system.child.kill('SIGTERM');
    });
    const [orders, status] = await Promise.all([
      cli(['orders', ...addr]),
      cli(['status', ...addr, '--json']),
    ]);
    assert.equal(orders.code, 2);
    assert.equal(orders.stdout, '');
    assert.equal(orders.stderr.trim().split('\n').length, 1, `one line: ${orders.stderr}`);
    assert.match(
      orders.stderr,
      new RegExp(
        `perpmesh orders: cannot reach the execution service at ${system.execution} \\(connection refused\\)`,
      ),
    );
    assert.doesNotMatch(orders.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(status.code, 2);
    const report = JSON.parse(status.stdout) as { ready: boolean; services: { health: string }[] };
    assert.equal(report.ready, false);
    assert.deepEqual(
      report.services.map((s) => s.health),
      ['UNREACHABLE', 'UNREACHABLE', 'UNREACHABLE'],
    );
  });
});
