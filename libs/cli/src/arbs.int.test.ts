/**
 * `perpmesh arbs` against a stand-in StrategyService on 127.0.0.1 (the real one is covered
 * by libs/strategy's arb-book.int.test.ts): which calls the CLI makes, with the token, and
 * what it prints (table and --json).
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceError,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import {
  type Arb,
  type ArbLeg,
  type GetArbBookRequest,
  type GetArbBookResponse,
  Side,
  StrategyMode,
  type StrategyServiceServer,
  StrategyServiceService,
  TradingState,
} from '@perpmesh/contracts';
import { runCli } from './main.js';

const TOKEN = 'cli-arbs-token';
const T0 = Date.UTC(2026, 0, 5);

function leg(venue: string, side: Side, size: string): ArbLeg {
  return {
    venue,
    account: 'main',
    instrument: 'BTC-USDC-PERP',
    entrySide: side,
    size,
    entryPrice: '50000',
    fees: '5',
    fundingReceived: '3',
    realizedPnl: '0',
    clientOrderIds: [],
    pricePnl: '-0.1',
    unrealizedPnl: '-0.1',
    mark: '50000',
    slippage: '0.1',
    fundingPredicted: '3.2',
    settlements: 1,
    fundingHistory: [
      { venue, fundingTimeMs: T0 + 3_600_000, settled: '3', predicted: '3.2', rate: '0.0003', mark: '50000' },
    ],
  };
}

const openArb: Arb = {
  arbId: 'BTC-USDC-PERP#1',
  instrument: 'BTC-USDC-PERP',
  phase: 'open',
  shortLeg: leg('paper-lighter', Side.SIDE_SELL, '-0.2'),
  longLeg: leg('paper-extended', Side.SIDE_BUY, '0.2'),
  expectedNetCarry: '12',
  fees: '10',
  fundingReceived: '6',
  carryNetOfFees: '-4',
  realizedPnl: '-4',
  startedAtMs: T0,
  closedAtMs: 0,
  closeReason: '',
  entry: {},
  attribution: {
    funding: '6',
    fundingPredicted: '6.4',
    basisPnl: '-0.2',
    fees: '10',
    slippage: '0.2',
    net: '-4.2123456789',
  },
  breakEvenHours: '3.4567',
  carryPerHour: '4.1',
  openedAtMs: T0 + 1_000,
};

const book: GetArbBookResponse = {
  strategyId: 'arb-1',
  dryRun: false,
  active: [openArb],
  closed: [],
  totals: openArb.attribution,
  breakEvenHours: '3.4567',
  alarms: [
    { key: 'BTC-USDC-PERP#1:one_legged', name: 'one_legged', sinceMs: T0, message: 'one-legged for 40 s' },
  ],
  breaker: {
    tripped: true,
    reasonCode: 'drawdown_breaker',
    message: 'realized net PnL is 12 below its peak (limit 10)',
    trippedAtMs: T0,
    realizedNet: '-12',
    peakNet: '0',
    drawdown: '12',
    consecutiveLosses: 2,
  },
  asOfMs: T0,
  fundingReadings: [],
};

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, done) {
        append(String(chunk));
        done();
      },
    });
  const code = await runCli(args, {
    out: sink((s) => {
      out += s;
    }),
    err: sink((s) => {
      err += s;
    }),
    env: { PERPMESH_TOKEN: TOKEN, PERPMESH_CONFIG: '' },
    nowMs: () => T0 + 60_000,
    confirm: null,
  });
  return { code, out, err };
}

describe('perpmesh arbs (a stand-in StrategyService)', () => {
  const server = new Server();
  const bookCalls: Array<{ strategyId: string; auth: string }> = [];
  let address = '';

  before(async () => {
    const unimplemented = (_call: unknown, cb: (err: Partial<ServiceError>) => void) =>
      cb({ code: status.UNIMPLEMENTED, details: 'not in this test' });
    const instance = (strategyId: string, kind: string) => ({
      strategyId,
      kind,
      mode: StrategyMode.STRATEGY_MODE_LIVE,
      state: 'running',
      tradingState: TradingState.TRADING_STATE_ACTIVE,
      reason: '',
      decisions: 1,
      openOrders: 0,
    });
    server.addService(StrategyServiceService, {
      listStrategies: (_call: unknown, cb: sendUnaryData<{ strategies: ReturnType<typeof instance>[] }>) =>
        cb(null, { strategies: [instance('arb-1', 'funding_arb'), instance('grid-1', 'grid')] }),
      getTradingState: unimplemented,
      setTradingState: unimplemented,
      closeAll: unimplemented,
      listDecisions: unimplemented,
      getArbBook: (
        call: ServerUnaryCall<GetArbBookRequest, GetArbBookResponse>,
        cb: sendUnaryData<GetArbBookResponse>,
      ) => {
        bookCalls.push({
          strategyId: call.request.strategyId,
          auth: String(call.metadata.get('authorization')[0] ?? ''),
        });
        cb(null, book);
      },
    } satisfies StrategyServiceServer);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    address = `127.0.0.1:${port}`;
  });
  after(() => server.forceShutdown());

  test('--json: the read model rows (exact decimals); only funding-arb strategies are asked, with the token', async () => {
    const r = await run(['arbs', '--strategy', address, '--json']);
    assert.equal(r.code, 0, r.err);
    const view = JSON.parse(r.out);
    assert.equal(view.arbs[0].attribution.net, '-4.2123456789');
    assert.equal(view.arbs[0].breakEvenHours, '3.4567');
    assert.equal(view.strategies[0].breaker.tripped, true);
    assert.equal(view.alarms[0].ageMs, 60_000);
    assert.equal(view.funding[0].predicted, '3.2');
    assert.deepEqual(bookCalls.splice(0), [{ strategyId: 'arb-1', auth: `Bearer ${TOKEN}` }]);
  });

  test('table: the split and break-even per arb and in total, the breaker and the alarms', async () => {
    const r = await run(['arbs', '--strategy', address]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /ARB .*FUNDING .*BASIS .*FEES .*SLIPPAGE .*NET .*BREAK-EVEN/);
    assert.match(
      r.out,
      /BTC-USDC-PERP#1 .*open .*6\.0000 .*-0\.2000 .*10\.0000 .*0\.2000 .*-4\.2123 .*3\.5 h/,
    );
    assert.match(r.out, /TOTAL .*1 active .*-4\.2123 .*3\.5 h/);
    assert.match(r.out, /arb-1: ENTRIES PAUSED \(drawdown_breaker\)/);
    assert.match(r.out, /one_legged .*arb-1 .*one-legged for 40 s/);
    const one = await run(['arbs', '--strategy', address, '--strategy-id', 'arb-1']);
    assert.equal(one.code, 0, one.err);
    assert.deepEqual(
      bookCalls.map((c) => c.strategyId),
      ['arb-1', 'arb-1'],
    );
  });
});
