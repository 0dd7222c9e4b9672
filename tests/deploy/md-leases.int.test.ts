/**
 * Two market-data processes divide the instruments through leases (marketData.leases) on the
 * real NATS and Redis: together they serve the 10 instruments of the paper venue (BTC, ETH
 * and the sim's catalog: SOL, XRP, DOGE, ...), each its share, and either answers a query for
 * any of them (the other's pairs forwarded to it, routing.ts); kill -9 one: within the lease
 * TTL (plus one renew round) the other serves every pair, its own pairs answering every call
 * meanwhile, and its /readyz names what moved and from whom. Then a third replica joins and
 * stops cleanly: the pairs are handed over (handover.ts), and every pair answers every call
 * on the first throughout.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import {
  type GetFundingRatesRequest,
  type GetFundingRatesResponse,
  type GetOrderBookRequest,
  type GetOrderBookResponse,
  MarketDataServiceClient,
} from '@perpmesh/contracts';
import { bearerAuthInterceptor, Secret } from '@perpmesh/runtime';
import { CATALOG_INSTRUMENTS } from '@perpmesh/sim';
import { freePort, natsUrlForTests, redisUrlForTests, uniqueTestName } from '@perpmesh/testing';
import {
  call,
  cleanupNamespace,
  type ReadyzObservation,
  ServiceProcess,
  TOKEN_ENV,
  waitUntil,
} from '../e2e/harness.js';

const VENUES = ['paper'] as const;
const INSTRUMENTS = [
  'BTC-USDC-PERP',
  'ETH-USDC-PERP',
  ...CATALOG_INSTRUMENTS.map((c) => c.spec.instrumentId),
] as const;
const ALL_PAIRS = VENUES.flatMap((v) => INSTRUMENTS.map((i) => `${v}/${i}`)).sort();
const TTL_MS = 3_000;
const RENEW_MS = 500;

interface LeaseDetail {
  holder: string;
  members: string[];
  serving: string[];
  movedIn: Array<{ instrument: string; from: string; atMs: number }>;
}

function leaseDetail(seen: ReadyzObservation | undefined): LeaseDetail | undefined {
  const c = seen?.body.components.find((x) => x.name === 'md/leases');
  return c?.ready ? (c.detail as LeaseDetail) : undefined;
}

describe('market data divided by leases between replicas', { timeout: 120_000 }, () => {
  const name = uniqueTestName('MDL');
  const token = `mdl-${name}`;
  const dir = mkdtempSync(join(tmpdir(), 'perpmesh-md-leases-'));
  let natsUrl: string;
  let redisUrl: string;
  let paperVenue: ServiceProcess;
  type Replica = { process: ServiceProcess; grpc: number };
  let replicas: Replica[];
  const clients: MarketDataServiceClient[] = [];

  before(async () => {
    natsUrl = await natsUrlForTests();
    redisUrl = await redisUrlForTests();
    const pair = async () => ({ grpc: await freePort(), http: await freePort() });
    const paper = await pair();
    const md = [await pair(), await pair(), await pair()];
    const local = (p: { grpc: number; http: number }) => ({
      grpcHost: '127.0.0.1',
      grpcPort: p.grpc,
      http: { host: '127.0.0.1', port: p.http },
    });
    const venue = () => ({
      kind: 'paper',
      instruments: [...INSTRUMENTS],
      accounts: { main: { paperDeposit: '100000' } },
    });
    const configPath = join(dir, 'perpmesh.yaml');
    writeFileSync(
      configPath,
      JSON.stringify({
        mode: 'distributed',
        namespace: name,
        auth: { token: { env: TOKEN_ENV } },
        paper: { seed: 3, stepInterval: '200ms', address: `127.0.0.1:${paper.grpc}` },
        venues: { paper: venue() },
        paperVenue: local(paper),
        marketData: {
          ...local(md[0]!),
          leases: { enabled: true, ttl: `${TTL_MS}ms`, renewInterval: `${RENEW_MS}ms` },
        },
      }),
    );
    const env = { [TOKEN_ENV]: token, NATS_URL: natsUrl, REDIS_URL: redisUrl };
    paperVenue = new ServiceProcess({ service: 'paper-venue', configPath, httpPort: paper.http, env });
    replicas = md.map((p, i) => ({
      grpc: p.grpc,
      process: new ServiceProcess({
        service: 'market-data',
        label: `market-data-${i}`,
        configPath,
        httpPort: p.http,
        env: {
          ...env,
          PERPMESH__MARKET_DATA__GRPC_PORT: String(p.grpc),
          PERPMESH__MARKET_DATA__HTTP__PORT: String(p.http),
          PERPMESH__MARKET_DATA__INSTANCE: `md-${i}`,
        },
      }),
    }));
    paperVenue.start();
    await paperVenue.waitReady({ timeoutMs: 60_000 });
    // The third joins later (the handover test).
    const [a, b] = replicas as [Replica, Replica];
    for (const r of [a, b]) r.process.start();
    await Promise.all([a, b].map((r) => r.process.waitReady({ timeoutMs: 60_000 })));
  });

  after(async () => {
    for (const c of clients) c.close();
    await Promise.all([paperVenue, ...replicas.map((r) => r.process)].map((p) => p?.kill9()));
    await cleanupNamespace(name, natsUrl, redisUrl).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const client = (grpc: number) => {
    const c = new MarketDataServiceClient(`127.0.0.1:${grpc}`, credentials.createInsecure(), {
      interceptors: [bearerAuthInterceptor(new Secret(token))],
    });
    clients.push(c);
    return c;
  };
  /** Every pair in `pairs` answers a synced book over gRPC on the replica at `grpc`. */
  const servesBooks = async (grpc: number, pairs: readonly string[]) => {
    const c = client(grpc);
    for (const pair of pairs) {
      const [venue, instrument] = pair.split('/') as [string, string];
      await waitUntil(
        `${pair} served on :${grpc}`,
        () =>
          call<GetOrderBookRequest, GetOrderBookResponse>(c.getOrderBook.bind(c), {
            venue,
            instrument,
            depth: 5,
          })
            .then((r) => (r.book && r.book.bids.length > 0 ? true : undefined))
            .catch(() => undefined),
        { timeoutMs: 20_000, intervalMs: 200 },
      );
    }
  };

  /** Both replicas serving, every pair exactly once (their shares as /readyz reports them). */
  const divided = async (x: Replica, y: Replica) => {
    const [da, db] = [leaseDetail(await x.process.readyz()), leaseDetail(await y.process.readyz())];
    if (!da || !db || da.serving.length === 0 || db.serving.length === 0) return undefined;
    return [...da.serving, ...db.serving].sort().join() === ALL_PAIRS.join() ? { da, db } : undefined;
  };
  /**
   * The division between x and y once it has held for two renew rounds. Replicas that start
   * together first take whichever pairs are free, then hand pairs over to their preferred
   * owner in the next rounds.
   */
  const settled = (x: Replica, y: Replica, what: string) => {
    let held: { key: string; sinceMs: number } | undefined;
    return waitUntil(
      what,
      async () => {
        const now = await divided(x, y);
        if (!now) {
          held = undefined;
          return undefined;
        }
        const key = `${now.da.serving.join()}|${now.db.serving.join()}`;
        if (held?.key !== key) held = { key, sinceMs: Date.now() };
        return Date.now() - held.sinceMs >= 2 * RENEW_MS ? now : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  };
  /**
   * Asks the replica at `grpc` for each of `pairs` back to back (a gap of a few milliseconds
   * is caught) until `stop`: how many calls, and the first that failed.
   */
  const keepAsking = (grpc: number, pairs: readonly string[]) => {
    const c = client(grpc);
    let stopped = false;
    const asking = (async () => {
      let calls = 0;
      while (!stopped) {
        for (const pair of pairs) {
          const [venue, instrument] = pair.split('/') as [string, string];
          const failed = await call<GetOrderBookRequest, GetOrderBookResponse>(c.getOrderBook.bind(c), {
            venue,
            instrument,
            depth: 1,
          }).then(
            (r) => ((r.book?.bids.length ?? 0) > 0 ? undefined : 'an empty book'),
            (err: Error) => err.message,
          );
          if (failed) return { calls, failed: `${pair} on :${grpc}: ${failed}` };
          calls += 1;
        }
      }
      return { calls, failed: undefined };
    })();
    return {
      stop: async () => {
        stopped = true;
        return asking;
      },
    };
  };

  test('each replica serves its share; after kill -9 of one, the other serves all within the TTL and names what moved', async (t) => {
    const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    const shares = await settled(a, b, 'both replicas serving, every pair once, for two renew rounds');
    t.diagnostic(`a serves ${shares.da.serving.join(', ')}; b serves ${shares.db.serving.join(', ')}`);
    await servesBooks(a.grpc, shares.da.serving);
    await servesBooks(b.grpc, shares.db.serving);

    // Queries reach the serving replica: each replica answers for every pair, its own from
    // its feed, the other's forwarded (a single call each: no retry hides a NOT_FOUND).
    for (const r of [a, b]) {
      const c = client(r.grpc);
      // Funding is polled: wait for every pair's first rate, then one call per pair.
      await waitUntil(
        `every funding rate on :${r.grpc}`,
        async () => {
          const all = await call<GetFundingRatesRequest, GetFundingRatesResponse>(c.getFundingRates.bind(c), {
            venue: '',
            instrument: '',
          });
          const seen = all.rates.map((f) => `${f.rate?.venue}/${f.rate?.instrument}`).sort();
          return seen.join() === ALL_PAIRS.join() ? true : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      for (const pair of ALL_PAIRS) {
        const [venue, instrument] = pair.split('/') as [string, string];
        const book = await call<GetOrderBookRequest, GetOrderBookResponse>(c.getOrderBook.bind(c), {
          venue,
          instrument,
          depth: 5,
        });
        assert.equal(book.book?.instrument, instrument, `${pair} on :${r.grpc}`);
        assert.ok((book.book?.bids.length ?? 0) > 0 && (book.book?.asks.length ?? 0) > 0, pair);
        const one = await call<GetFundingRatesRequest, GetFundingRatesResponse>(c.getFundingRates.bind(c), {
          venue,
          instrument,
        });
        assert.deepEqual(
          one.rates.map((f) => `${f.rate?.venue}/${f.rate?.instrument}`),
          [pair],
          `funding of ${pair} on :${r.grpc}`,
        );
      }
    }

    // What b serves when it dies (read again: the queries above took time).
    const atKill = await settled(a, b, 'the division unchanged for two renew rounds');
    const killedAt = Date.now();
    await b.process.kill9();
    // While a takes b's pairs over, a's own pairs answer every call: its feed follows the new
    // assignment without a gap for the books it keeps. Asked back to back: a gap of a few
    // milliseconds (a feed rebuilt over the new assignment) is caught.
    const kept = keepAsking(a.grpc, atKill.da.serving);
    try {
      const taken = await waitUntil(
        'a serves every pair',
        async () => {
          const d = leaseDetail(await a.process.readyz());
          return d && [...d.serving].sort().join() === ALL_PAIRS.join() ? d : undefined;
        },
        { timeoutMs: TTL_MS * 4, intervalMs: 100 },
      );
      const tookMs = Date.now() - killedAt;
      t.diagnostic(
        `a took over b's ${atKill.db.serving.length} pairs ${tookMs} ms after the kill (ttl ${TTL_MS} ms, renew ${RENEW_MS} ms)`,
      );
      // The leases lapse TTL after b's last renewal; a's next round takes them (+ slack for a
      // loaded machine: the readyz polling and the process's own delays).
      assert.ok(tookMs <= TTL_MS + RENEW_MS + 2_000, `took ${tookMs} ms`);
      const movedAfterKill = taken.movedIn.filter((m) => m.atMs >= killedAt);
      assert.deepEqual(
        movedAfterKill.map((m) => m.instrument).sort(),
        [...atKill.db.serving].sort(),
        'readyz names what moved',
      );
      assert.ok(
        movedAfterKill.every((m) => m.from === atKill.db.holder),
        JSON.stringify(taken.movedIn),
      );
      assert.deepEqual(taken.members, [atKill.da.holder]);
      // Until every moved pair's book is served, a's feed is following: a's own pairs are asked throughout.
      await servesBooks(a.grpc, atKill.db.serving);
    } finally {
      const asked = await kept.stop();
      assert.equal(asked.failed, undefined);
      assert.ok(asked.calls > 0, 'a was asked during the takeover');
      t.diagnostic(`a's own pairs answered ${asked.calls} calls during the takeover, none failed`);
    }
    await servesBooks(a.grpc, ALL_PAIRS);
  });

  test('a replica joining, then stopping cleanly: the pairs are handed over, each answers every call throughout', async (t) => {
    const [a, , c] = replicas as [Replica, Replica, Replica];
    // a serves every pair (the test above); every pair is asked of a through c's whole life.
    const joining = keepAsking(a.grpc, ALL_PAIRS);
    try {
      c.process.start();
      await c.process.waitReady({ timeoutMs: 60_000 });
      const shares = await settled(a, c, 'a and c serving, every pair once, for two renew rounds');
      t.diagnostic(`c took ${shares.db.serving.join(', ')} from a`);
      // Handed over, not taken: a released each pair once c's book was synced.
      assert.deepEqual(shares.db.movedIn, [], 'nothing taken from a: handed over');
      await servesBooks(c.grpc, shares.db.serving);
    } finally {
      const asked = await joining.stop();
      assert.equal(asked.failed, undefined);
      t.diagnostic(`every pair answered ${asked.calls} calls on a while c joined, none failed`);
    }

    const cPairs = leaseDetail(await c.process.readyz())!.serving;
    const movedBefore = leaseDetail(await a.process.readyz())!.movedIn.length;
    const stopping = keepAsking(a.grpc, ALL_PAIRS);
    try {
      // A clean stop: c leaves, keeps its pairs until a is ready for them, then exits 0.
      await c.process.stop();
      const after = await waitUntil(
        'a serves every pair again',
        async () => {
          const d = leaseDetail(await a.process.readyz());
          return d && [...d.serving].sort().join() === ALL_PAIRS.join() ? d : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      assert.equal(after.movedIn.length, movedBefore, 'nothing taken from c: handed over');
      await servesBooks(a.grpc, cPairs);
    } finally {
      const asked = await stopping.stop();
      assert.equal(asked.failed, undefined);
      t.diagnostic(`every pair answered ${asked.calls} calls on a while c stopped, none failed`);
    }
  });
});
