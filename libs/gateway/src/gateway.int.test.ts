/**
 * The gateway in process: its HTTP routes on a loopback listener shared with a fallback
 * handler, fake service backends, and its feed tailing a real embedded event log on disk.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type CancelAllOrdersRequest, newEnvelope, publishEnvelope } from '@perpmesh/contracts';
import { createLogger, Secret } from '@perpmesh/runtime';
import { openTestBackend, type TestBackend } from '@perpmesh/testing';
import { sampleArbBook } from './arb-book.test-helper.js';
import type { GatewayBackends } from './backends.js';
import { BackendUnavailableError } from './errors.js';
import type { ExplainSource } from './explain.js';
import { EventFeed } from './feed.js';
import { Gateway, mountGateway } from './gateway.js';

/** A JSON answer as parsed: the tests check its shape field by field. */
type Loose = ReturnType<typeof JSON.parse>;

const logger = createLogger({ service: 'gateway-test', level: 'silent' });
let tsMs = 1_700_000_000_000;

function decision(strategyId: string, n: number, dryRun: boolean) {
  tsMs += 1;
  return newEnvelope({
    source: 'strategy/test',
    tsEventMs: tsMs,
    tsInitMs: tsMs,
    payload: {
      $case: 'strategyDecision',
      value: {
        strategyId,
        kind: 'decision',
        decision: 'enter',
        reasonCode: 'net_carry_above_threshold',
        reason: `decision ${n}`,
        inputs: { arb_id: `BTC-USDC-PERP#${n}` },
        orderIntents: [],
        dryRun,
        decisionId: `${strategyId}:${n}`,
        cancelClientOrderIds: [],
        decidedAtMs: tsMs,
      },
    },
  });
}

class FakeBackends implements GatewayBackends {
  cancelCalls: CancelAllOrdersRequest[] = [];
  accountDown = false;
  venueStatus = async () => ({ venues: [] });
  fundingRates = async () => ({ rates: [] });
  balances = async () => {
    if (this.accountDown)
      throw new BackendUnavailableError('account', '127.0.0.1:1', 'UNAVAILABLE', 'no connection');
    return {
      balances: [
        {
          balance: {
            venue: 'paper',
            account: 'main',
            currency: 'USDC',
            total: '5',
            available: '5',
            equity: '5',
            unrealizedPnl: '0',
            asOfMs: 1,
            source: 2,
          },
          stale: false,
          ageMs: 1,
        },
      ],
    };
  };
  positions = async () => ({ positions: [] });
  accountSummary = async () => ({ accounts: [], totals: [] });
  openOrders = async () => ({ orders: [] });
  cancelAllOrders = async (request: CancelAllOrdersRequest) => {
    this.cancelCalls.push(request);
    return { orders: [] };
  };
  arbBooks = async () => [sampleArbBook()];
  close(): void {}
}

async function listen(gateway: Gateway): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.statusCode = 404;
    res.end('fallback\n');
  });
  mountGateway(server, gateway, logger);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('gateway in process (fake backends, embedded event log)', () => {
  let backend: TestBackend;
  let feed: EventFeed;
  const backends = new FakeBackends();
  const gateway = new Gateway({
    backends,
    actions: { token: () => undefined, allowUnauthenticated: false },
    logger,
  });
  let http: { server: Server; url: string };

  before(async () => {
    backend = await openTestBackend('embedded', { prefix: 'GW' });
    // History before the gateway starts: 5 decisions; the ring keeps the last 3.
    for (let n = 1; n <= 5; n++)
      await publishEnvelope(backend.log, decision('funding-arb-1', n, true), backend.subjects);
    http = await listen(gateway);
  });
  after(async () => {
    gateway.closeStreams();
    await feed?.stop();
    http.server.closeAllConnections();
    await new Promise((r) => http.server.close(r));
    await backend.close();
  });

  test('before its feed starts: 503 for decisions; other paths fall through to the next handler', async () => {
    const res = await fetch(`${http.url}/api/decisions`);
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { error: string }).error, 'FEED_NOT_STARTED');
    const other = await fetch(`${http.url}/metrics`);
    assert.equal(await other.text(), 'fallback\n');
  });

  test('the decisions ring is seeded from the end of STRAT and stays bounded; dry run is reported', async () => {
    feed = new EventFeed({
      log: backend.log,
      subjects: backend.subjects,
      streamPrefix: backend.streamPrefix,
      recentDecisions: 3,
      logger,
    });
    await feed.start();
    gateway.attachFeed(feed);
    const body = (await (await fetch(`${http.url}/api/decisions`)).json()) as Loose;
    assert.deepEqual(
      body.decisions.map((d: Loose) => d.payload.reason),
      ['decision 5', 'decision 4', 'decision 3'],
    );
    assert.equal(body.running, true);
    assert.equal(body.dryRun, true);
    assert.equal(body.strategies[0].strategyId, 'funding-arb-1');
  });

  test('/api/arbs: the funding-arb books as the read model (PnL split, break-even, alarms, breaker, funding history)', async () => {
    const res = await fetch(`${http.url}/api/arbs`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Loose;
    assert.equal(body.arbs[0].arbId, 'BTC-USDC-PERP#2');
    assert.equal(body.arbs[0].attribution.net, '9.3');
    assert.equal(body.arbs[0].breakEvenHours, '1.25');
    assert.equal(body.totals.net, '-1.7');
    assert.equal(body.strategies[0].breaker.reasonCode, 'drawdown_breaker');
    assert.equal(body.alarms[0].name, 'liquidation_distance');
    assert.equal(body.funding.length, 8);
    assert.equal(typeof body.asOfMs, 'number');
    // Without a strategy backend the route says so (as for any backend it cannot reach).
    const bare = new Gateway({
      backends: Object.assign(new FakeBackends(), { arbBooks: undefined }),
      actions: { token: () => undefined, allowUnauthenticated: false },
      logger,
    });
    const other = await listen(bare);
    try {
      const none = await fetch(`${other.url}/api/arbs`);
      assert.equal(none.status, 502);
      assert.match(((await none.json()) as Loose).message, /no strategy service/);
    } finally {
      other.server.closeAllConnections();
      await new Promise((r) => other.server.close(r));
    }
  });

  test('server-sent events carry new strategy decisions live, filtered by kind', async () => {
    const controller = new AbortController();
    const res = await fetch(`${http.url}/api/events?kinds=strategyDecision`, { signal: controller.signal });
    const reader = res.body!.getReader();
    let text = '';
    const read = async (until: RegExp) => {
      while (!until.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString('utf8');
      }
    };
    await read(/event: ready/);
    await publishEnvelope(backend.log, decision('funding-arb-1', 6, false), backend.subjects);
    await read(/decision 6/);
    controller.abort();
    const data = text.split('\n').find((l) => l.includes('decision 6'))!;
    const event = JSON.parse(data.slice('data: '.length));
    assert.equal(event.kind, 'strategyDecision');
    assert.equal(event.payload.dryRun, false);
    assert.equal(event.subject, backend.subjects.strat('funding-arb-1', 'decision'));
    const ring = (await (await fetch(`${http.url}/api/decisions?limit=1`)).json()) as Loose;
    assert.equal(ring.decisions[0].payload.reason, 'decision 6');
  });

  test('actions without a configured token are refused (403) and reach no service', async () => {
    const res = await post(`${http.url}/api/cancel-all`, {}, { authorization: 'Bearer anything' });
    assert.equal(res.status, 403);
    assert.match(((await res.json()) as { message: string }).message, /no token is configured/);
    assert.equal(backends.cancelCalls.length, 0);
  });

  test('a service that does not answer gives 502 naming it', async () => {
    backends.accountDown = true;
    try {
      const res = await fetch(`${http.url}/api/balances`);
      assert.equal(res.status, 502);
      const body = (await res.json()) as { service: string; message: string };
      assert.equal(body.service, 'account');
      assert.match(body.message, /UNAVAILABLE/);
    } finally {
      backends.accountDown = false;
    }
  });
});

describe('gateway actions when allowed without a token, or with one', () => {
  test('allowUnauthenticatedActions: cancel-all goes to every known account; JSON content type required', async () => {
    const backends = new FakeBackends();
    const gateway = new Gateway({
      backends,
      actions: { token: () => undefined, allowUnauthenticated: true },
      logger,
    });
    const http = await listen(gateway);
    try {
      const form = await fetch(`${http.url}/api/cancel-all`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'x=1',
      });
      assert.equal(form.status, 400, 'a cross-site form post is refused');
      const res = await post(`${http.url}/api/cancel-all`, {});
      assert.equal(res.status, 200);
      assert.deepEqual(backends.cancelCalls, [{ venue: 'paper', account: 'main', instrument: '' }]);
      const bad = await post(`${http.url}/api/cancel-all`, { venue: 'pa per' });
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { field: string }).field, 'venue');
    } finally {
      await new Promise((r) => http.server.close(r));
    }
  });

  test('with a token: GETs need none, actions do', async () => {
    const backends = new FakeBackends();
    const token = new Secret('tok-tok-tok-tok-tok', 'test');
    const gateway = new Gateway({
      backends,
      actions: { token: () => token, allowUnauthenticated: false },
      logger,
    });
    const http = await listen(gateway);
    try {
      assert.equal((await fetch(`${http.url}/api/balances`)).status, 200);
      const refused = await post(`${http.url}/api/cancel-all`, { venue: 'paper', account: 'main' });
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="perpmesh"');
      const ok = await post(
        `${http.url}/api/cancel-all`,
        { venue: 'paper', account: 'main' },
        { authorization: 'Bearer tok-tok-tok-tok-tok' },
      );
      assert.equal(ok.status, 200);
      assert.equal(backends.cancelCalls.length, 1);
    } finally {
      await new Promise((r) => http.server.close(r));
    }
  });
});

describe('GET /api/explain/<id> (a fake source here; the real explain behind it: libs/replay explain-gateway.int.test.ts)', () => {
  const explained: string[] = [];
  const source: ExplainSource = async (target) => {
    explained.push(target);
    return target === 'missing'
      ? { target, timeline: [], problems: ['no order, fill or decision with id "missing" in the log'] }
      : {
          target,
          placedBy: { decisionId: 'arb-1:7' },
          timeline: [{ tsMs: 1, at: 'STRAT seq 1', what: 'placed by: enter' }],
          problems: [],
        };
  };

  async function withExplainGateway(
    explain: ExplainSource | undefined,
    fn: (url: string) => Promise<void>,
  ): Promise<void> {
    const http = await listen(
      new Gateway({
        backends: new FakeBackends(),
        actions: { token: () => undefined, allowUnauthenticated: false },
        explain,
        logger,
      }),
    );
    try {
      await fn(http.url);
    } finally {
      http.server.closeAllConnections();
      await new Promise((r) => http.server.close(r));
    }
  }

  test('answers the timeline of an id as JSON; 404 naming what is missing; 400 naming a bad id', async () => {
    await withExplainGateway(source, async (url) => {
      const res = await fetch(`${url}/api/explain/${encodeURIComponent('arb-1:7')}`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as Loose;
      assert.equal(body.target, 'arb-1:7');
      assert.equal(body.placedBy.decisionId, 'arb-1:7');
      assert.equal(body.timeline.length, 1);
      assert.equal(typeof body.asOfMs, 'number');
      assert.deepEqual(explained, ['arb-1:7']);

      const missing = await fetch(`${url}/api/explain/missing`);
      assert.equal(missing.status, 404);
      assert.match(((await missing.json()) as Loose).message, /no order, fill or decision with id "missing"/);

      for (const bad of ['a%20b', '..%2Fetc', '', 'x'.repeat(200)]) {
        const refused = await fetch(`${url}/api/explain/${bad}`);
        assert.equal(refused.status, 400, bad);
        assert.equal(((await refused.json()) as Loose).field, 'id');
      }
      assert.equal(explained.length, 2, 'a bad id never reaches the log');
      assert.equal((await fetch(`${url}/api/explain/x`, { method: 'POST' })).status, 405, 'read-only');
    });
  });

  test('without an explain source: 503 saying to use the CLI', async () => {
    await withExplainGateway(undefined, async (url) => {
      const res = await fetch(`${url}/api/explain/arb-1_rest`);
      assert.equal(res.status, 503);
      assert.match(((await res.json()) as Loose).message, /perpmesh explain/);
    });
  });
});
