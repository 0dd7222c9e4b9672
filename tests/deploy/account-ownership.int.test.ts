/**
 * `account.ownership: per_account` with real processes on the real NATS and Redis: two
 * account service processes, the paper venue with two accounts (main, alt), one execution
 * service placing orders. Each (venue, account) has one owner (`account/lease` in /readyz says
 * which). kill -9 the owner of `main`: within the lease TTL (plus one renew round) the other
 * owns both accounts, and its projection of `main`, continued from the log (including a fill
 * made while nobody owned it), equals the venue's position. Reads go through either process
 * (one Service in front of both): each answers for both accounts, forwarding to the owner;
 * while `main` has no live owner a read for it answers UNAVAILABLE, never NOT_FOUND.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { credentials, type ServiceError, status } from '@grpc/grpc-js';
import {
  AccountServiceClient,
  ExecutionServiceClient,
  type GetOrderRequest,
  type GetOrderResponse,
  type GetPositionsRequest,
  type GetPositionsResponse,
  OrderStatus,
  PositionSide,
  Side,
} from '@perpmesh/contracts';
import { dec } from '@perpmesh/core';
import { bearerAuthInterceptor, Secret } from '@perpmesh/runtime';
import { freePort, natsUrlForTests, redisUrlForTests, uniqueTestName } from '@perpmesh/testing';
import { PaperVenueClient } from '@perpmesh/venues';
import {
  BTC,
  call,
  cleanupNamespace,
  marketOrder,
  placeOrder,
  type ReadyzObservation,
  ServiceProcess,
  TOKEN_ENV,
  waitUntil,
} from '../e2e/harness.js';

const ACCOUNTS = ['main', 'alt'] as const;
const TTL_MS = 3_000;
const RENEW_MS = 500;

interface LeaseDetail {
  owns: string[];
  members: string[];
}

function leaseDetail(seen: ReadyzObservation | undefined): LeaseDetail | undefined {
  const c = seen?.body.components.find((x) => x.name === 'account/lease');
  return c?.ready ? (c.detail as LeaseDetail) : undefined;
}

/** `long 0.02` / `short 0.01` / `flat`: a position's side and size, comparable across sources. */
function described(side: 'long' | 'short' | 'flat', size: string): string {
  return side === 'flat' || dec(size).isZero() ? 'flat' : `${side} ${dec(size).abs().toFixed()}`;
}

describe('per-account ownership: two account processes, kill -9 of an owner', { timeout: 180_000 }, () => {
  const name = uniqueTestName('ACO');
  const token = `aco-${name}`;
  const dir = mkdtempSync(join(tmpdir(), 'perpmesh-account-ownership-'));
  let natsUrl: string;
  let redisUrl: string;
  let paperVenue: ServiceProcess;
  let execution: ServiceProcess;
  let replicas: Array<{ process: ServiceProcess; grpc: number }>;
  let paperGrpc: number;
  let executionGrpc: number;
  const closers: Array<() => unknown> = [];

  before(async () => {
    natsUrl = await natsUrlForTests();
    redisUrl = await redisUrlForTests();
    const pair = async () => ({ grpc: await freePort(), http: await freePort() });
    const paper = await pair();
    const exec = await pair();
    const accounts = [await pair(), await pair()];
    paperGrpc = paper.grpc;
    executionGrpc = exec.grpc;
    const local = (p: { grpc: number; http: number }) => ({
      grpcHost: '127.0.0.1',
      grpcPort: p.grpc,
      http: { host: '127.0.0.1', port: p.http },
    });
    const configPath = join(dir, 'perpmesh.yaml');
    writeFileSync(
      configPath,
      JSON.stringify({
        mode: 'distributed',
        namespace: name,
        auth: { token: { env: TOKEN_ENV } },
        paper: { seed: 5, stepInterval: '100ms', address: `127.0.0.1:${paper.grpc}` },
        venues: {
          paper: {
            kind: 'paper',
            instruments: [BTC],
            accounts: Object.fromEntries(ACCOUNTS.map((a) => [a, { paperDeposit: '100000' }])),
          },
        },
        paperVenue: local(paper),
        execution: { ...local(exec), instance: 'aco-0', venueCallTimeout: '5s' },
        account: {
          ...local(accounts[0]!),
          ownership: 'per_account',
          leaseTtl: `${TTL_MS}ms`,
          leaseRenewInterval: `${RENEW_MS}ms`,
          pollInterval: '300ms',
          housekeepingInterval: '200ms',
          venueCallTimeout: '2s',
        },
      }),
    );
    const env = { [TOKEN_ENV]: token, NATS_URL: natsUrl, REDIS_URL: redisUrl };
    paperVenue = new ServiceProcess({ service: 'paper-venue', configPath, httpPort: paper.http, env });
    execution = new ServiceProcess({ service: 'execution', configPath, httpPort: exec.http, env });
    replicas = accounts.map((p, i) => ({
      grpc: p.grpc,
      process: new ServiceProcess({
        service: 'account',
        label: `account-${i}`,
        configPath,
        httpPort: p.http,
        env: {
          ...env,
          PERPMESH__ACCOUNT__GRPC_PORT: String(p.grpc),
          PERPMESH__ACCOUNT__HTTP__PORT: String(p.http),
        },
      }),
    }));
    paperVenue.start();
    await paperVenue.waitReady({ timeoutMs: 60_000 });
    execution.start();
    for (const r of replicas) r.process.start();
    await Promise.all(
      [execution, ...replicas.map((r) => r.process)].map((p) => p.waitReady({ timeoutMs: 60_000 })),
    );
  });

  after(async () => {
    for (const close of closers.splice(0).reverse()) await Promise.resolve(close()).catch(() => undefined);
    await Promise.all([paperVenue, execution, ...replicas.map((r) => r.process)].map((p) => p?.kill9()));
    await cleanupNamespace(name, natsUrl, redisUrl).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const auth = () => ({ interceptors: [bearerAuthInterceptor(new Secret(token))] });
  const accountClient = (grpc: number) => {
    const c = new AccountServiceClient(`127.0.0.1:${grpc}`, credentials.createInsecure(), auth());
    closers.push(() => c.close());
    return c;
  };
  const venuePosition = async (account: string) => {
    const port = await PaperVenueClient.connect({
      address: `127.0.0.1:${paperGrpc}`,
      venue: 'paper',
      account,
      apiKeyId: 'default',
      callTimeoutMs: 5_000,
      readinessPollMs: 0,
      authToken: new Secret(token),
    });
    try {
      const p = (await port.fetchPositions()).find((x) => x.instrument === BTC);
      return p ? described(p.size.isNegative() ? 'short' : 'long', p.size.toFixed()) : 'flat';
    } finally {
      await port.close();
    }
  };
  const projected = async (grpc: number, account: string) => {
    const c = accountClient(grpc);
    const res = await call<GetPositionsRequest, GetPositionsResponse>(c.getPositions.bind(c), {
      venue: 'paper',
      account,
      instrument: BTC,
    });
    const p = res.positions.map((v) => v.position).find((x) => x?.instrument === BTC);
    if (!p) return 'flat';
    const side =
      p.side === PositionSide.POSITION_SIDE_LONG
        ? 'long'
        : p.side === PositionSide.POSITION_SIDE_SHORT
          ? 'short'
          : 'flat';
    return described(side, p.size);
  };
  /** The replica's projection of `account` equals the venue's position (both read until they agree). */
  const matchesVenue = (grpc: number, account: string, timeoutMs: number) =>
    waitUntil(
      `:${grpc}'s projection of paper/${account} equals the venue`,
      async () => {
        const [mine, venue] = await Promise.all([
          projected(grpc, account).catch(() => undefined),
          venuePosition(account),
        ]);
        return mine !== undefined && mine === venue && venue !== 'flat' ? venue : undefined;
      },
      { timeoutMs, intervalMs: 200 },
    );
  const fill = async (account: string, side: Side, size: string) => {
    const c = new ExecutionServiceClient(`127.0.0.1:${executionGrpc}`, credentials.createInsecure(), auth());
    closers.push(() => c.close());
    const req = marketOrder({ account, side, size });
    const placed = await placeOrder(c, req);
    if (placed.order?.status === OrderStatus.ORDER_STATUS_FILLED) return;
    // On a loaded machine the answer can come before the fill (the venue call outlived its
    // deadline and execution settled the outcome later): the fill must still come.
    assert.notEqual(placed.order?.status, OrderStatus.ORDER_STATUS_REJECTED, placed.order?.reason);
    await waitUntil(
      `${req.clientOrderId} filled`,
      async () => {
        const res = await call<GetOrderRequest, GetOrderResponse>(c.getOrder.bind(c), {
          venue: req.venue,
          account,
          instrument: req.instrument,
          orderId: { $case: 'clientOrderId', value: req.clientOrderId },
        });
        return res.order?.status === OrderStatus.ORDER_STATUS_FILLED ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
  };

  test('the survivor owns both within the TTL and its projection of the taken account equals the venue', async (t) => {
    // Settled: both replicas members, every account owned once, and the same split two renew
    // rounds later (a member joining moves accounts over a round or two).
    let seen: { split: string; atMs: number } | undefined;
    const owners = await waitUntil(
      'every account owned once, settled',
      async () => {
        const details = await Promise.all(replicas.map(async (r) => leaseDetail(await r.process.readyz())));
        if (details.some((d) => d === undefined || d.members.length !== replicas.length)) return undefined;
        const owned = details.flatMap((d) => d!.owns).sort();
        const want = ACCOUNTS.map((a) => `paper|${a}`).sort();
        if (owned.join() !== want.join()) return undefined;
        const split = details.map((d) => d!.owns.join('+')).join(' / ');
        if (seen?.split !== split) seen = { split, atMs: Date.now() };
        return Date.now() - seen.atMs >= 2 * RENEW_MS ? (details as LeaseDetail[]) : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    t.diagnostic(
      `replica 0 owns [${owners[0]!.owns.join(', ')}], replica 1 owns [${owners[1]!.owns.join(', ')}]`,
    );
    const ownerIndex = owners.findIndex((d) => d.owns.includes('paper|main'));
    const owner = replicas[ownerIndex]!;
    const survivor = replicas[1 - ownerIndex]!;

    // Positions on both accounts, projected by their owners.
    await fill('main', Side.SIDE_BUY, '0.02');
    await fill('alt', Side.SIDE_SELL, '0.01');
    const before = await matchesVenue(owner.grpc, 'main', 20_000);
    t.diagnostic(`paper/main before the kill: ${before}`);
    // Through either process (the owner's figures, forwarded from the other one).
    for (const r of replicas) {
      for (const account of ACCOUNTS) await matchesVenue(r.grpc, account, 20_000);
    }

    const killedAt = Date.now();
    await owner.process.kill9();
    // A fill while nobody owns main: the new owner must take it from the log.
    await fill('main', Side.SIDE_BUY, '0.01');
    // Until the survivor owns main, a read for it through the survivor is UNAVAILABLE (its
    // dead owner unreachable, then nobody holding it), never NOT_FOUND.
    const codesMeanwhile = new Set<string>();
    await waitUntil(
      'a read of paper/main through the survivor answers again',
      async () => {
        try {
          return await projected(survivor.grpc, 'main');
        } catch (err) {
          codesMeanwhile.add(status[(err as ServiceError).code] ?? String(err));
          return undefined;
        }
      },
      { timeoutMs: TTL_MS * 4, intervalMs: 100 },
    );
    t.diagnostic(`answers to reads of paper/main during the takeover: ${[...codesMeanwhile].join(', ')}`);
    assert.deepEqual([...codesMeanwhile], ['UNAVAILABLE']);
    await waitUntil(
      'the survivor owns both accounts',
      async () => {
        const d = leaseDetail(await survivor.process.readyz());
        return d && d.owns.length === ACCOUNTS.length ? d : undefined;
      },
      { timeoutMs: TTL_MS * 4, intervalMs: 100 },
    );
    const tookMs = Date.now() - killedAt;
    // The leases lapse TTL after the last renewal; the survivor's next round takes them
    // (+ slack for a loaded machine: the /readyz polling and the processes' own delays).
    t.diagnostic(
      `the survivor owned paper/main ${tookMs} ms after the kill (ttl ${TTL_MS} ms, renew ${RENEW_MS} ms)`,
    );
    assert.ok(tookMs <= TTL_MS + RENEW_MS + 2_000, `took ${tookMs} ms`);

    const after = await matchesVenue(survivor.grpc, 'main', 20_000);
    t.diagnostic(
      `paper/main on the survivor: ${after} (the venue's too); ready ${Date.now() - killedAt} ms after the kill`,
    );
    assert.equal(after, 'long 0.03');
    assert.equal(await projected(survivor.grpc, 'alt'), await venuePosition('alt'));
  });
});
