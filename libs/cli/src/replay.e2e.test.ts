/**
 * `perpmesh replay projections` as real processes: `perpmesh start` trades a little on a
 * paper venue (fills, a resting order canceled); replay reads its session while it runs
 * (without disturbing it) and after it ended, and finds no difference; a stored
 * projection value tampered with is named in the report and the exit code is 1. The
 * funding arb's input journal replays to identical decisions; a changed parameter shows
 * how they would differ; a tampered recorded decision is reported as the first
 * non-determinism (exit 1).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { EmbeddedLogReader } from '@perpmesh/bus';
import {
  AccountServiceClient,
  ExecutionServiceClient,
  type GetPositionsResponse,
  OrderType,
  type PlaceOrderResponse,
  Side,
  TimeInForce,
} from '@perpmesh/contracts';
import { eventually, unary } from '@perpmesh/testing';

const ROOT = new URL('../../../', import.meta.url).pathname;
const BIN = join(ROOT, 'libs/cli/src/bin.ts');
const NODE_ARGS = ['--import', 'tsx', '--conditions=@perpmesh/source', BIN];
const READY =
  /perpmesh is ready in [\d.]+ s: health http:\/\/localhost:(\d+)\/readyz, gRPC execution (\S+), account (\S+), market-data (\S+);/;

interface Running {
  child: ChildProcess;
  stderr: () => string;
  execution: string;
  account: string;
}

async function start(dataDir: string): Promise<Running> {
  const child = spawn(
    process.execPath,
    [
      ...NODE_ARGS,
      'start',
      ...[
        `dataDir=${dataDir}`,
        'log.level=warn',
        'gateway.http.port=0',
        'gateway.http.host=127.0.0.1',
      ].flatMap((kv) => ['--set', kv]),
      ...['execution', 'account', 'marketData', 'strategy'].flatMap((s) => [
        '--set',
        `${s}.grpcPort=0`,
        '--set',
        `${s}.grpcHost=127.0.0.1`,
      ]),
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PERPMESH_CONFIG: '' } },
  );
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const ready = await eventually(
    'the ready line',
    () => READY.exec(err) ?? (child.exitCode !== null ? ('exited' as const) : undefined),
    { timeoutMs: 60_000, intervalMs: 100 },
  ).catch(() => 'timed out' as const);
  if (typeof ready === 'string') {
    child.kill('SIGKILL');
    assert.fail(`perpmesh start did not become ready (${ready}); stderr:\n${err}`);
  }
  return { child, stderr: () => err, execution: ready[2]!, account: ready[3]! };
}

function stop(r: Running): Promise<number | null> {
  return new Promise((resolveExit) => {
    r.child.once('exit', (code) => resolveExit(code));
    r.child.kill('SIGTERM');
  });
}

/** Runs `perpmesh <args>` to its end: exit code and output. */
function perpmesh(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [...NODE_ARGS, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PERPMESH_CONFIG: '' },
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('exit', (code) => resolveRun({ code, out, err }));
  });
}

// ETH: the funding arb of the default config trades BTC only, so these positions are ours alone.
const ORDER = {
  venue: 'paper',
  account: 'main',
  instrument: 'ETH-USDC-PERP',
  timeInForce: TimeInForce.TIME_IN_FORCE_IOC,
  price: '',
  reduceOnly: false,
  correlationId: '',
};

/** Edits the last saved state of a projection in an embedded store's files (process stopped). */
function tamperProjection(
  stateDir: string,
  name: string,
  edit: (state: Record<string, unknown>) => void,
): void {
  const key = `pm:proj:${encodeURIComponent(name)}`;
  const journal = readdirSync(stateDir).find((f) => /^journal-\d+\.log$/.test(f));
  if (journal) {
    const path = join(stateDir, journal);
    const lines = readFileSync(path, 'utf8').split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      if (!lines[i]) continue;
      const record = JSON.parse(lines[i] as string);
      if (record.op !== 'proj' || record.k !== key) continue;
      const state = JSON.parse(record.state);
      edit(state);
      record.state = JSON.stringify(state);
      lines[i] = JSON.stringify(record);
      writeFileSync(path, lines.join('\n'));
      return;
    }
  }
  const path = join(stateDir, 'snapshot.json');
  const snapshot = JSON.parse(readFileSync(path, 'utf8'));
  const entry = snapshot.projections[key];
  assert.ok(entry, `a saved state of ${name} in ${stateDir}`);
  const state = JSON.parse(entry.state);
  edit(state);
  entry.state = JSON.stringify(state);
  writeFileSync(path, JSON.stringify(snapshot));
}

describe('perpmesh replay (real processes)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'perpmesh-replay-'));
  const running: Running[] = [];
  after(() => {
    for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('no difference while running and after; a tampered projection is named, exit 1', async () => {
    const system = await start(dataDir);
    running.push(system);
    const exec = new ExecutionServiceClient(system.execution, credentials.createInsecure());
    const acct = new AccountServiceClient(system.account, credentials.createInsecure());
    const place = (clientOrderId: string, side: Side, size: string) =>
      unary<unknown, PlaceOrderResponse>(exec.placeOrder.bind(exec) as never, {
        ...ORDER,
        clientOrderId,
        side,
        type: OrderType.ORDER_TYPE_MARKET,
        size,
      });
    const positions = async () =>
      (
        await unary<unknown, GetPositionsResponse>(acct.getPositions.bind(acct) as never, {
          venue: 'paper',
          account: 'main',
          instrument: 'ETH-USDC-PERP',
        })
      ).positions.map((p) => p.position?.size);
    const positionIs = async (size: string) => {
      await eventually(`a ${size} ETH position over AccountService`, async () =>
        (await positions()).includes(size),
      ).catch(async (e) => {
        throw new Error(`${e.message}; positions: ${JSON.stringify(await positions())}`);
      });
    };
    try {
      await place('replay-1', Side.SIDE_BUY, '0.2');
      await positionIs('0.2');
      await place('replay-2', Side.SIDE_SELL, '0.05');
      await positionIs('0.15');
      // A resting limit far from the market, then canceled: order events without fills.
      await unary(exec.placeOrder.bind(exec) as never, {
        ...ORDER,
        clientOrderId: 'replay-rest',
        side: Side.SIDE_BUY,
        type: OrderType.ORDER_TYPE_LIMIT,
        timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
        price: '1000',
        size: '0.2',
      });
      await unary(exec.cancelOrder.bind(exec) as never, {
        venue: 'paper',
        account: 'main',
        instrument: 'ETH-USDC-PERP',
        orderId: { $case: 'clientOrderId', value: 'replay-rest' },
      });

      const whileRunning = await perpmesh(['replay', 'projections', '--data-dir', dataDir]);
      assert.equal(whileRunning.code, 0, `replay while running:\n${whileRunning.out}${whileRunning.err}`);
      assert.match(
        whileRunning.out,
        /positions \(account-positions, EXEC\): \d+ events folded, [1-9]\d* compared: no difference/,
      );
      assert.match(
        whileRunning.out,
        /orders \(exec\.order events, EXEC\): \d+ events folded, [1-9]\d* compared: no difference/,
      );
      // The running system was not disturbed: it still trades and projects.
      await place('replay-3', Side.SIDE_BUY, '0.1');
      await positionIs('0.25');
    } finally {
      exec.close();
      acct.close();
    }
    assert.equal(await stop(system), 0, `clean exit; stderr:\n${system.stderr()}`);

    const [sessionId] = readdirSync(join(dataDir, 'sessions'));
    const session = join(dataDir, 'sessions', sessionId as string);
    const afterwards = await perpmesh(['replay', 'projections', '--session', session, '--json']);
    assert.equal(afterwards.code, 0, `replay after the end:\n${afterwards.out}${afterwards.err}`);
    const report = JSON.parse(afterwards.out) as {
      differences: number;
      checks: { kind: string; compared: number }[];
    };
    assert.equal(report.differences, 0);
    assert.ok(
      (report.checks.find((c) => c.kind === 'positions')?.compared ?? 0) >= 3,
      'a comparison per saved state',
    );

    tamperProjection(join(session, 'state'), 'account-positions', (state) => {
      const positions = state.positions as Record<string, { size: string }>;
      const eth = Object.values(positions).find((p) => p.size === '0.25');
      assert.ok(eth, 'the ETH position in the stored projection');
      eth.size = '0.250';
    });
    const tampered = await perpmesh(['replay', 'projections', '--session', session]);
    assert.equal(tampered.code, 1, `replay of a tampered store:\n${tampered.out}${tampered.err}`);
    assert.match(
      tampered.out,
      /EXEC seq \d+ account-positions: positions\["[^"]*ETH-USDC-PERP[^"]*"\]\.size: live "0\.250", rebuilt "0\.25"/,
    );
  });

  test('explain an arb leg; replay strategy: identical decisions, --set shows the difference, a tampered record is a non-determinism', async () => {
    const strategyDir = mkdtempSync(join(tmpdir(), 'perpmesh-replay-strategy-'));
    try {
      const system = await start(strategyDir);
      running.push(system);
      const [sessionId] = readdirSync(join(strategyDir, 'sessions'));
      const session = join(strategyDir, 'sessions', sessionId as string);
      // The funding arb decides within seconds of its first books (a skip, a signal), and
      // enters (two filled legs) once the carry has held for its persistence time.
      const reader = await EmbeddedLogReader.open(join(session, 'events'));
      await eventually(
        'the funding arb to enter (its legs on EXEC)',
        async () => (await reader.streamInfo('EXEC')).lastSeq >= 4,
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      let leg: string | undefined;
      for await (const msg of reader.read({ stream: 'EXEC' })) {
        leg ??= /arb-1_[a-z0-9]+/.exec(Buffer.from(msg.data).toString('latin1'))?.[0];
      }
      await reader.close();
      assert.ok(leg, 'an arb leg order on EXEC');
      const explained = await perpmesh(['explain', leg, '--session', session]);
      assert.equal(explained.code, 0, `explain:\n${explained.out}${explained.err}`);
      assert.match(explained.out, /placed by: arb-1 enter net_carry_above_threshold/);
      assert.match(explained.out, /triggered by input #\d+ at \S+: (book|funding|balance|fill|order|tick)/);
      assert.match(explained.out, /funding rates: .*\.rate_per_hour=/);
      assert.match(explained.out, /balances \(risk check\): \S+\.available=/);
      assert.match(explained.out, /EXEC seq \d+ +order submitted/);
      const asJson = JSON.parse((await perpmesh(['explain', leg, '--session', session, '--json'])).out) as {
        placedBy?: { reasonCode: string };
      };
      assert.equal(asJson.placedBy?.reasonCode, 'net_carry_above_threshold');
      assert.equal(await stop(system), 0, `clean exit; stderr:\n${system.stderr()}`);

      const same = await perpmesh(['replay', 'strategy', 'arb-1', '--session', session]);
      assert.equal(same.code, 0, `replay:\n${same.out}${same.err}`);
      assert.match(
        same.out,
        /replay strategy arb-1: \d+ inputs, [1-9]\d* deciding steps, identical decisions/,
      );
      assert.doesNotMatch(same.out, /≠/);

      const changed = await perpmesh([
        'replay',
        'strategy',
        'arb-1',
        '--session',
        session,
        '--set',
        'entryThresholdBps=1000',
      ]);
      assert.equal(changed.code, 0, `replay --set:\n${changed.out}${changed.err}`);
      assert.match(changed.out, /≠ #\d+ /);
      assert.match(changed.out, /entry_threshold_bps: 1 → 1000/);
      assert.match(changed.out, /[1-9]\d* of \d+ deciding steps differ/);

      // Change what the journal says the strategy decided once: replay must catch it.
      const journalFile = join(session, 'events', 'streams', 'JOURNAL', 'log.jsonl');
      const lines = readFileSync(journalFile, 'utf8').trim().split('\n');
      let tampered = false;
      for (let i = 0; i < lines.length && !tampered; i++) {
        const line = JSON.parse(lines[i] as string) as { d?: string };
        if (!line.d) continue;
        const entries = Buffer.from(line.d, 'base64').toString('utf8').trim().split('\n');
        for (let k = 0; k < entries.length; k++) {
          const entry = JSON.parse(entries[k] as string) as { decisions?: { reasonCode: string }[] };
          if (!entry.decisions?.length) continue;
          (entry.decisions[0] as { reasonCode: string }).reasonCode = 'tampered_reason';
          entries[k] = JSON.stringify(entry);
          line.d = Buffer.from(`${entries.join('\n')}\n`).toString('base64');
          lines[i] = JSON.stringify(line);
          tampered = true;
          break;
        }
      }
      assert.ok(tampered, 'a recorded decision in the journal');
      writeFileSync(journalFile, `${lines.join('\n')}\n`);
      const broken = await perpmesh(['replay', 'strategy', 'arb-1', '--session', session]);
      assert.equal(broken.code, 1, `replay of a tampered journal:\n${broken.out}${broken.err}`);
      assert.match(broken.out, /recorded: \S+ tampered_reason/);
      assert.match(broken.out, /NON-DETERMINISM at input #\d+/);
    } finally {
      rmSync(strategyDir, { recursive: true, force: true });
    }
  });
});
