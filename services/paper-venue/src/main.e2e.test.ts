/**
 * The paper-venue service as a real process: config from a temp YAML file, free ports,
 * /readyz with components, the venue port over gRPC through PaperVenueClient, and a clean
 * exit (0) on SIGTERM with components stopped in reverse order.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dec } from '@perpmesh/core';
import { eventually } from '@perpmesh/testing';
import { PaperVenueClient } from '@perpmesh/venues';

const MAIN = new URL('./main.ts', import.meta.url).pathname;

const CONFIG = `
log: { level: info }
paper:
  seed: 5
  stepInterval: 100ms
venues:
  paper:
    kind: paper
    instruments: [BTC-USDC-PERP]
    accounts:
      alice: { paperDeposit: "25000" }
  paper-lighter:
    kind: paper
    instruments: [BTC-USDC-PERP, ETH-USDC-PERP]
    accounts:
      alice: { apiKeyId: "7", paperDeposit: "50000" }
paperVenue:
  grpcHost: 127.0.0.1
  grpcPort: 0
  http: { host: 127.0.0.1, port: 0 }
  venueRules:
    paper:
      defaultLeverage: 5
`;

type LogLine = Record<string, unknown>;

function startService(configPath: string) {
  const child = spawn(
    process.execPath,
    // tsx by its resolved path: the child's cwd is not the repo.
    ['--import', import.meta.resolve('tsx'), '--conditions=@perpmesh/source', MAIN, '--config', configPath],
    // A foreign cwd: proto files must be found relative to the code, not the working directory.
    { cwd: tmpdir(), env: { ...process.env, PERPMESH_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: LogLine[] = [];
  let stderr = '';
  let buffered = '';
  const waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
      const text = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        continue;
      }
      lines.push(line);
      for (const w of waiters.filter((w) => w.match(line))) w.resolve(line);
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = (msg: string) => {
    const match = (l: LogLine) => l.msg === msg;
    const seen = lines.find(match);
    if (seen) return Promise.resolve(seen);
    return Promise.race([
      new Promise<LogLine>((resolve) => waiters.push({ match, resolve })),
      exited.then((code) => {
        throw new Error(`service exited (${code}) before "${msg}"; stderr: ${stderr}`);
      }),
    ]);
  };
  return { child, lines, exited, waitFor, stderr: () => stderr };
}

/** /readyz once it answers 200 (the body of a not-ready answer is the failure's detail). */
function untilReady(
  url: string,
): Promise<{ status: number; body: { ready: boolean; components: LogLine[] } }> {
  return eventually('/readyz to answer 200', async () => {
    const res = await fetch(`${url}/readyz`);
    const body = (await res.json()) as { ready: boolean; components: LogLine[] };
    if (res.status !== 200) throw new Error(`readyz ${res.status}: ${JSON.stringify(body)}`);
    return { status: res.status, body };
  });
}

function kill(child: ChildProcess, signal: NodeJS.Signals) {
  assert.ok(child.kill(signal), `could not send ${signal}`);
}

describe('paper-venue service process', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'paper-venue-e2e-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('serves readiness and the venue port over gRPC, and stops cleanly on SIGTERM', async () => {
    const configPath = join(dir, 'perpmesh.yaml');
    writeFileSync(configPath, CONFIG);
    const service = startService(configPath);
    try {
      const http = await service.waitFor('http listening (/healthz /readyz /metrics)');
      const grpc = await service.waitFor('gRPC listening');
      await service.waitFor('service running');
      const url = `http://127.0.0.1:${String(http.port)}`;

      const { body } = await untilReady(url);
      assert.equal(body.ready, true);
      const names = body.components.map((c) => c.name);
      for (const name of [
        'lifecycle',
        'paper hub',
        'grpc',
        'venue paper/alice',
        'venue paper-lighter/alice',
      ]) {
        assert.ok(names.includes(name), `readyz lists ${name}: ${names.join(', ')}`);
      }
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      assert.match(
        await (await fetch(`${url}/metrics`)).text(),
        /paper_venue_steps_total\{service="paper-venue"\} \d+/,
      );

      const lighter = await PaperVenueClient.connect({
        address: `127.0.0.1:${String(grpc.port)}`,
        venue: 'paper-lighter',
        account: 'alice',
        apiKeyId: '7',
        callTimeoutMs: 5_000,
        readinessPollMs: 0,
      });
      try {
        const markets = await lighter.loadMarkets();
        assert.deepEqual(
          markets.map((m) => [m.instrument, m.fundingIntervalMs]),
          [
            ['BTC-USDC-PERP', 3_600_000],
            ['ETH-USDC-PERP', 3_600_000],
          ],
        );
        assert.equal(lighter.capabilities.nonces, true);
        assert.equal(await lighter.fetchNextNonce!(), 0n);
        const order = await lighter.createOrder({
          clientOrderId: 'e2e-1',
          instrument: 'BTC-USDC-PERP',
          side: 'buy',
          type: 'market',
          timeInForce: 'ioc',
          size: dec('0.01'),
          reduceOnly: false,
          nonce: 1n,
        });
        assert.equal(order.status, 'filled');
        assert.equal(await lighter.fetchNextNonce!(), 2n);
        const [balance] = await lighter.fetchBalances();
        assert.ok(balance?.equity.gt(0));
        const [position] = await lighter.fetchPositions();
        assert.equal(position?.size.toFixed(), '0.01');
      } finally {
        await lighter.close();
      }

      kill(service.child, 'SIGTERM');
      assert.equal(await service.exited, 0, service.stderr());
      const stops = service.lines.filter((l) => l.msg === 'component stopped').map((l) => l.component);
      assert.deepEqual(stops, ['grpc', 'paper-hub', 'http']);
    } finally {
      service.child.kill('SIGKILL');
    }
  });

  test('a bad config exits 2 with a message naming the field', async () => {
    const configPath = join(dir, 'bad.yaml');
    writeFileSync(configPath, `${CONFIG}\n    paper-lighter:\n      defaultLeverage: 500\n`);
    const service = startService(configPath);
    try {
      assert.equal(await service.exited, 2);
      const all = `${service.stderr()}\n${service.lines.map((l) => String(l.msg)).join('\n')}`;
      assert.match(all, /venues\.paper-lighter\.defaultLeverage/);
    } finally {
      service.child.kill('SIGKILL');
    }
  });
});
