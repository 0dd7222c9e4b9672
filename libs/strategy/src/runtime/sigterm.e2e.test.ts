/**
 * SIGTERM on a REAL strategy process: `services/strategy/src/main.ts` in distributed mode
 * (NATS + Redis, its own namespace) running a grid that rests limit orders. The rest of
 * the trading path runs in this test process over the same NATS streams: a paper exchange
 * served as the paper-venue gRPC service (the strategy reads markets from it), and the
 * market-data, execution and account services, execution and account over gRPC.
 * After SIGTERM the process exits 0, the venue shows no open order of the strategy, and
 * the positions are what they were.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type AccountService, buildAccountService } from '@perpmesh/account';
import { NatsEventLog } from '@perpmesh/bus';
import {
  decodeEnvelope,
  namespaceFor,
  PaperVenueServiceService,
  type StrategyDecision,
  Subjects,
  streamSpecs,
} from '@perpmesh/contracts';
import { buildExecutionService, type ExecutionService } from '@perpmesh/execution';
import { buildMarketDataService, type MarketDataService } from '@perpmesh/market-data';
import { createLogger, HealthRegistry, type RunningGrpcServer, startGrpcServer } from '@perpmesh/runtime';
import { RedisStateStore } from '@perpmesh/state';
import { eventually, natsUrlForTests, redisUrlForTests, uniqueTestName } from '@perpmesh/testing';
import {
  PaperVenueHub,
  PUBLIC_ACCOUNT,
  paperVenueGrpcService,
  type SimulatedVenue,
  StaticVenueDirectory,
} from '@perpmesh/venues';
import { Redis } from 'ioredis';
import { BTC } from './stack.test-helper.js';

const REPO_ROOT = new URL('../../../../', import.meta.url).pathname;
const PROTO_ROOT = join(REPO_ROOT, 'proto');
const VENUE = 'paper';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * A TCP proxy in front of Redis for the strategy process only: `cut()` drops its connections
 * and refuses new ones, as a redis-server restart looks to that process (execution and
 * account, in this test process, keep theirs).
 */
async function redisProxy(redisUrl: string): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const target = new URL(redisUrl);
  const sockets = new Set<Socket>();
  let down = false;
  const server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port || 6379), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    cut: () => {
      down = true;
      // Not listening any more: reconnects are refused, as while redis-server restarts.
      server.close();
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (down) resolve();
        else server.close(() => resolve());
      }),
  };
}

for (const outage of [false, true]) {
  sigtermCase(outage);
}

function sigtermCase(outage: boolean): void {
  describe(`strategy process: SIGTERM cancels every open strategy order and keeps positions${outage ? ', also during a state store outage' : ''}`, () => {
    const name = uniqueTestName('STRATSIG');
    const ns = namespaceFor(name);
    const subjects = new Subjects({ root: ns.subjectRoot });
    const logger = createLogger({ service: 'strategy-e2e', level: 'silent' });
    let dir: string;
    let hub: PaperVenueHub;
    let log: NatsEventLog;
    let state: RedisStateStore;
    let redisUrl: string;
    let marketData: MarketDataService;
    let execution: ExecutionService;
    let account: AccountService;
    const servers: RunningGrpcServer[] = [];
    let child: ChildProcess | undefined;
    let output = '';
    let proxy: Awaited<ReturnType<typeof redisProxy>> | undefined;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'pm-strategy-sigterm-'));
      const natsUrl = await natsUrlForTests();
      redisUrl = await redisUrlForTests();
      log = await NatsEventLog.connect({ servers: natsUrl, name });
      await log.ensureStreams(streamSpecs(ns));
      state = await RedisStateStore.connect(redisUrl, { keyPrefix: `pm:test:${name}:` });
      hub = new PaperVenueHub({
        seed: 5,
        clock: { kind: 'realtime', tickIntervalMs: 100 },
        venues: [{ venueId: VENUE }],
        accounts: [
          { venueId: VENUE, accountId: 'main', deposit: '100000' },
          { venueId: VENUE, accountId: 'taker', deposit: '100000' },
        ],
      });
      hub.start();
      const directory = new StaticVenueDirectory([hub.venue(VENUE, 'main')]);
      const health = new HealthRegistry();
      const nowMs = Date.now;
      marketData = buildMarketDataService({
        log,
        venues: directory,
        subjects,
        health,
        logger,
        nowMs,
        source: 'market-data/e2e',
        config: { venues: { [VENUE]: { instruments: [BTC] } }, tuning: { portReadinessPollMs: 0 } },
      });
      execution = buildExecutionService({
        log,
        state,
        venues: directory,
        subjects,
        health,
        logger,
        nowMs,
        source: 'execution/e2e',
        config: { execStream: `${ns.prefix}EXEC` },
      });
      account = buildAccountService({
        log,
        state,
        venues: directory,
        subjects,
        health,
        logger,
        nowMs,
        source: 'account/e2e',
        streamPrefix: ns.prefix,
        config: { pollIntervalMs: 1_000 },
      });
      await marketData.start();
      await execution.start();
      await account.start();
      const serve = async (service: { definition: never; implementation: never }, proto: string) => {
        const s = await startGrpcServer({
          host: '127.0.0.1',
          port: 0,
          services: [service],
          protoFiles: [proto],
          includeDirs: [PROTO_ROOT],
          logger,
          health: new HealthRegistry(),
        });
        servers.push(s);
        return s.address;
      };
      const marketPorts = new Map<string, SimulatedVenue>();
      const paperAddress = await serve(
        {
          definition: PaperVenueServiceService as never,
          // The strategy opens public market ports (PUBLIC_ACCOUNT), execution and account
          // their trading ports, as services/paper-venue serves them.
          implementation: paperVenueGrpcService((venue, acct) => {
            if (acct !== PUBLIC_ACCOUNT)
              return hub.hasAccount(venue, acct) ? hub.venue(venue, acct) : undefined;
            let port = marketPorts.get(venue);
            if (port === undefined) {
              port = hub.marketVenue(venue);
              marketPorts.set(venue, port);
            }
            return port;
          }) as never,
        },
        'perpmesh/v1/paper_venue.proto',
      );
      const executionAddress = await serve(execution.grpc as never, 'perpmesh/v1/execution.proto');
      const accountAddress = await serve(account.grpc as never, 'perpmesh/v1/account.proto');

      proxy = await redisProxy(redisUrl);
      const config = {
        mode: 'distributed',
        namespace: name,
        log: { level: 'info' },
        nats: { url: natsUrl },
        redis: { url: proxy.url },
        paper: { address: paperAddress },
        venues: { [VENUE]: { kind: 'paper', instruments: [BTC], accounts: { main: {} } } },
        strategy: {
          grpcHost: '127.0.0.1',
          grpcPort: await freePort(),
          http: { host: '127.0.0.1', port: await freePort() },
          executionAddress,
          accountAddress,
          tickInterval: '200ms',
          balancePollInterval: '500ms',
          instances: [
            {
              id: 'grid-sig',
              kind: 'grid',
              mode: 'live',
              venue: VENUE,
              account: 'main',
              instrument: BTC,
              spacingBps: '50',
              levelsAbove: 2,
              levelsBelow: 2,
              sizePerLevel: '0.01',
              maxActiveOrders: 4,
              placementCooldownMs: 0,
              risk: {
                leverage: '5',
                maxLeverage: '10',
                maxNotionalPerInstrument: '20000',
                maxNotionalPerVenue: '50000',
              },
            },
          ],
        },
      };
      const configPath = join(dir, 'perpmesh.yaml');
      await writeFile(configPath, JSON.stringify(config, null, 2));
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env))
        if (v !== undefined && !k.startsWith('PERPMESH')) env[k] = v;
      env.PERPMESH_CONFIG = configPath;
      // REDIS_URL would override the config's redis.url: the strategy reaches Redis through the proxy.
      env.REDIS_URL = proxy.url;
      child = spawn(
        process.execPath,
        [
          '--import',
          import.meta.resolve('tsx'),
          '--conditions=@perpmesh/source',
          join(REPO_ROOT, 'services/strategy/src/main.ts'),
        ],
        { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout?.on('data', (c: Buffer) => {
        output += c.toString('utf8');
      });
      child.stderr?.on('data', (c: Buffer) => {
        output += c.toString('utf8');
      });
    });

    after(async () => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await proxy?.close();
      for (const s of servers) await s.close(100);
      await account?.stop();
      await execution?.stop();
      await marketData?.stop();
      hub?.close();
      for (const spec of streamSpecs(ns)) await log?.deleteStream(spec.name).catch(() => false);
      await log?.close();
      await state?.close();
      // The test's keys and the strategy process's (state, lease) under its namespace.
      const redis = new Redis(redisUrl, { lazyConnect: true });
      await redis.connect();
      for (const pattern of [`pm:test:${name}:*`, `pm:${ns.subjectRoot}:*`]) {
        const keys = await redis.keys(pattern);
        if (keys.length > 0) await redis.del(...keys);
      }
      redis.disconnect();
      await rm(dir, { recursive: true, force: true });
    });

    const openOrders = () => hub.exchange(VENUE).openOrders('main', BTC);

    test('the grid rests orders; after SIGTERM none is left and the position is unchanged', async () => {
      const explain = () => `\n--- strategy process output ---\n${output.split('\n').slice(-25).join('\n')}`;
      // A trade moves the book now and then, so market data has a fresh book to publish.
      const taker = hub.venue(VENUE, 'taker');
      let n = 0;
      const nudge = setInterval(() => {
        n += 1;
        void taker
          .createOrder({
            clientOrderId: `nudge_${n}`,
            instrument: BTC,
            side: n % 2 ? 'buy' : 'sell',
            type: 'market',
            timeInForce: 'ioc',
            size: hub.exchange(VENUE).markets()[0]!.minSize.mul(20),
            reduceOnly: false,
          })
          .catch(() => undefined);
      }, 300);
      try {
        await eventually(
          `4 resting grid orders${explain()}`,
          () => (openOrders().length >= 4 ? true : undefined),
          40_000,
        ).catch((err) => {
          throw new Error(`${(err as Error).message}${explain()}`);
        });
      } finally {
        clearInterval(nudge);
      }
      const resting = openOrders();
      assert.ok(
        resting.every((o) => o.clientOrderId?.startsWith('grid-sig_')),
        'they are the strategy orders',
      );
      const positionBefore = hub.exchange(VENUE).position('main', BTC).size.toFixed();

      // The strategy's store goes away (a redis-server restart) just before the signal.
      if (outage) proxy?.cut();
      child!.kill('SIGTERM');
      const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
        if (child!.exitCode !== null) resolve({ code: child!.exitCode, signal: null });
        child!.once('exit', (code, signal) => resolve({ code, signal }));
      });
      assert.equal(exit.code, 0, `clean exit after SIGTERM${explain()}`);
      assert.deepEqual(
        openOrders().map((o) => o.clientOrderId),
        [],
        'no strategy order is left on the venue',
      );
      assert.equal(
        hub.exchange(VENUE).position('main', BTC).size.toFixed(),
        positionBefore,
        'positions kept',
      );

      // Without its store the stop may not save its decision (the orders were canceled through
      // execution directly): the decision is not looked for on the log.
      if (outage) return;
      // The stop is on the log as a decision naming the orders it canceled.
      const stop = await eventually('a cancel_all decision on strat.grid-sig.*', async () => {
        const decisions: StrategyDecision[] = [];
        for await (const msg of log.read({ stream: `${ns.prefix}STRAT` })) {
          const e = decodeEnvelope(msg.data);
          if (e.payload?.$case === 'strategyDecision') decisions.push(e.payload.value);
        }
        return decisions.find((d) => d.reasonCode === 'operator_cancel_all');
      });
      for (const o of resting) assert.ok(stop.cancelClientOrderIds.includes(o.clientOrderId!));
    });
  });
}
