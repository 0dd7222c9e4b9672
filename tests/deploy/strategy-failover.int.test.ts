/**
 * Two strategy replicas for one funding arb on the distributed system (tests/chaos/system.ts,
 * its own nats-server and redis-server): one holds the strategy's lease, the other is a hot
 * standby (not ready, naming the holder). The active one is killed -9 as soon as the arb's
 * first leg has filled at a venue (mid-arb): the standby takes over (the time from the kill
 * to its /readyz 200 is measured and printed), resumes from the log and the store, and at
 * the venues (the truth) no leg is duplicated: each venue holds at most one leg's size.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import {
  type GetArbBookRequest,
  type GetArbBookResponse,
  type SetTradingStateRequest,
  type SetTradingStateResponse,
  StrategyServiceClient,
  TradingState,
} from '@perpmesh/contracts';
import { Decimal } from '@perpmesh/core';
import { bearerAuthInterceptor, Secret } from '@perpmesh/runtime';
import { freePort } from '@perpmesh/testing';
import { CHAOS_TOKEN_ENV, ChaosSystem } from '../chaos/system.js';
import { call, type ServiceName, ServiceProcess, waitUntil } from '../e2e/harness.js';
import { arbFills, arbVenues, HOLDING_ARB } from './arb.js';
import { promtoolAvailable, promtoolProblems } from './tools.js';

/**
 * The lease timing of this system (tests/chaos/system.ts). Both replicas run on this host, so
 * the standby proves the killed holder dead and takes the lease at once (~1.2 s); a standby on
 * another host cannot, and waits for the TTL.
 */
const LEASE_TTL_MS = 3_000;
const LEASE_RENEW_MS = 1_000;

describe('strategy: a hot standby takes over the arb when the active replica is killed', {
  timeout: 150_000,
}, () => {
  let system: ChaosSystem;
  let standby: ServiceProcess;
  let standbyGrpc: number;
  let strategyClient: StrategyServiceClient;

  before(async () => {
    system = await ChaosSystem.create({ seed: 5, arb: HOLDING_ARB });
    const ports = { grpc: await freePort(), http: await freePort() };
    standbyGrpc = ports.grpc;
    standby = new ServiceProcess({
      service: 'strategy' as ServiceName,
      label: 'strategy-standby',
      configPath: join(system.dir, 'perpmesh.yaml'),
      httpPort: ports.http,
      env: {
        [CHAOS_TOKEN_ENV]: system.token,
        NATS_URL: system.natsUrl,
        REDIS_URL: system.redisUrl,
        PERPMESH__STRATEGY__GRPC_PORT: String(ports.grpc),
        PERPMESH__STRATEGY__HTTP__PORT: String(ports.http),
        PERPMESH__STRATEGY__INSTANCE: 'standby',
      },
    });
  });

  after(async () => {
    await standby?.kill9();
    await system?.close();
  });

  test('kill -9 of the active replica mid-arb: the standby takes over, no leg duplicated', async (t) => {
    await system.start();
    const active = system.strategy!;
    standby.start();
    const standbyReason = await waitUntil(
      'the second replica is a standby naming the holder',
      async () => {
        const seen = await standby.readyz();
        const c = seen?.body.components.find((x) => x.name === 'strategy/arb1/started');
        return seen?.status === 503 && c?.reason?.includes('another instance holds the lease')
          ? c.reason
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, explain: () => standby.describe(10) },
    );
    t.diagnostic(standbyReason);

    // Mid-arb: the first leg has filled at a venue.
    const venues = await arbVenues(system);
    const firstLeg = await waitUntil(
      'the arb fills its first leg',
      async () => (await arbFills(venues)).find((l) => l.fills.length > 0),
      { timeoutMs: 40_000, intervalMs: 50, explain: () => active.describe(20) },
    );
    const killedAt = Date.now();
    await active.kill9();
    const legsAtKill = (await arbFills(venues)).filter((l) => l.fills.length > 0).map((l) => l.venue);
    t.diagnostic(
      `killed the active replica after its first leg filled on ${firstLeg.venue} (legs filled: ${legsAtKill.join(', ')})`,
    );

    await standby.waitReady({ timeoutMs: 30_000, intervalMs: 50 });
    strategyClient = new StrategyServiceClient(`127.0.0.1:${standbyGrpc}`, credentials.createInsecure(), {
      interceptors: [bearerAuthInterceptor(new Secret(system.token))],
    });
    system.onClose(() => strategyClient.close());
    const takeoverMs = Date.now() - killedAt;
    t.diagnostic(
      `standby ready (active) ${takeoverMs} ms after the kill (lease ttl ${LEASE_TTL_MS} ms, renew ${LEASE_RENEW_MS} ms)`,
    );
    // Same host: the standby's next retry (every retryInterval, 1 s) finds the holder's pid gone
    // and takes the lease at once. The bound also admits the TTL path (the lease lapses TTL after
    // the last renewal), which a holder that cannot be proven dead still takes.
    assert.ok(takeoverMs <= LEASE_TTL_MS + 2 * LEASE_RENEW_MS + 5_000, `takeover took ${takeoverMs} ms`);

    // The arb completes on the standby: both legs filled...
    const legs = await waitUntil(
      'both legs filled',
      async () => {
        const l = (await arbFills(venues)).filter((x) => x.fills.length > 0);
        return l.length >= 2 ? l : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, explain: () => standby.describe(20) },
    );
    // The standby resumed the arb from the log and the store: one arb, open, both legs
    // holding what the venues filled (it knows the legs, so it does not enter again).
    const book = await waitUntil(
      "the standby's arb book shows the arb open with both legs",
      async () => {
        const r = await call<GetArbBookRequest, GetArbBookResponse>(
          strategyClient.getArbBook.bind(strategyClient),
          {
            strategyId: 'arb1',
          },
        ).catch(() => undefined);
        const arb = r?.active[0];
        return r?.active.length === 1 && arb?.phase === 'open' ? r : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, explain: () => standby.describe(20) },
    );
    const arb = book.active[0]!;
    t.diagnostic(
      `standby's book: arb ${arb.arbId} ${arb.phase}, short ${arb.shortLeg?.venue} ${arb.shortLeg?.size}, long ${arb.longLeg?.venue} ${arb.longLeg?.size}`,
    );
    // ...each venue with the fills of one order (no leg re-sent under a new id) and at most
    // one leg's size: nothing duplicated by the takeover.
    const size = (fills: ReadonlyArray<{ size: Decimal }>) =>
      fills.reduce((s, f) => s.plus(f.size), new Decimal(0));
    const sizes = legs.map((l) => ({
      venue: l.venue,
      orders: new Set(l.fills.map((f) => f.clientOrderId)),
      size: size(l.fills),
    }));
    t.diagnostic(sizes.map((s) => `${s.venue}: ${s.size.toFixed()} in ${s.orders.size} order(s)`).join('; '));
    for (const s of sizes) assert.equal(s.orders.size, 1, `${s.venue}: orders ${[...s.orders].join(', ')}`);
    const [a, b] = sizes as [(typeof sizes)[0], (typeof sizes)[0]];
    assert.equal(a.size.toFixed(), b.size.toFixed(), 'the two legs are the same size');
  });

  test("every service's /metrics passes promtool; the strategy's shows its decisions and the open arb", {
    skip: promtoolAvailable() ? false : 'needs promtool (Debian prometheus; make setup installs it)',
  }, async () => {
    const processes = [system.paperVenue, ...system.services().map((s) => s.process), standby].filter(
      (p) => p.running,
    );
    for (const p of processes) {
      const text = await (await fetch(`${p.httpUrl}/metrics`)).text();
      assert.equal(promtoolProblems(text), '', `${p.label} /metrics`);
    }
    // An operator decision on the (now active) standby: counted by kind and reason.
    await call<SetTradingStateRequest, SetTradingStateResponse>(
      strategyClient.setTradingState.bind(strategyClient),
      {
        strategyId: 'arb1',
        state: TradingState.TRADING_STATE_ACTIVE,
        reason: 'metrics check',
      },
    );
    const strategy = await (await fetch(`${standby.httpUrl}/metrics`)).text();
    const sample = (name: string) =>
      strategy.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes('strategy="arb1"'));
    assert.match(sample('perpmesh_strategy_open_arbs') ?? '', / 1$/);
    assert.ok(Number(sample('perpmesh_strategy_fees_paid')?.split(' ').at(-1)) > 0, 'fees of the open arb');
    assert.ok(sample('perpmesh_strategy_decisions_total'), 'decisions counted');
  });
});
