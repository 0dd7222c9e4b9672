/**
 * The trading path with real processes (issue 5): paper-venue, market-data, execution and
 * account as separate processes on NATS and Redis, driven over gRPC as a client would.
 *
 * One stack for the file (started in `before`); the tests run in order and the last one
 * takes the paper venue down and brings it back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import {
  type GetBalancesRequest,
  type GetBalancesResponse,
  type GetFundingRatesRequest,
  type GetFundingRatesResponse,
  type GetOrderBookRequest,
  type GetOrderBookResponse,
  type GetPositionsRequest,
  type GetPositionsResponse,
  OrderStatus,
  PositionSide,
} from '@perpmesh/contracts';
import { dec } from '@perpmesh/core';
import type { PaperVenueClient } from '@perpmesh/venues';
import {
  ACCOUNT,
  type AccountClient,
  BTC,
  call,
  E2eStack,
  type EventRecorder,
  type ExecutionClient,
  fillsOf,
  kindNames,
  marketOrder,
  orderEventsOf,
  orderRequest,
  placeOrder,
  type ReadyzObservation,
  statusOf,
  waitUntil,
} from './harness.js';

const VENUES = ['paper', 'paper-lighter'] as const;

describe('trading path across real processes', () => {
  let stack: E2eStack;
  let exec: ExecutionClient;
  let accounts: AccountClient;
  let execEvents: EventRecorder;
  let acctEvents: EventRecorder;
  let paper: PaperVenueClient;

  const balances = (venue: string) =>
    call<GetBalancesRequest, GetBalancesResponse>(accounts.getBalances.bind(accounts), {
      venue,
      account: ACCOUNT,
    });
  const positions = (venue: string) =>
    call<GetPositionsRequest, GetPositionsResponse>(accounts.getPositions.bind(accounts), {
      venue,
      account: ACCOUNT,
      instrument: BTC,
    });

  before(async () => {
    stack = await E2eStack.create();
    stack.paperVenue.start();
    await stack.paperVenue.waitReady();
    stack.marketData.start();
    stack.execution.start();
    stack.account.start();
    // Polled fast from the first answer, so the readiness test sees the way up.
    await Promise.all([
      stack.marketData.waitReady({ intervalMs: 5 }),
      stack.execution.waitReady(),
      stack.account.waitReady({ intervalMs: 5 }),
    ]);
    exec = stack.executionClient();
    accounts = stack.accountClient();
    execEvents = await stack.events(stack.filter('exec.>'));
    acctEvents = await stack.events(stack.filter('acct.>'));
    paper = await stack.venue('paper');
  });

  after(async () => {
    await stack?.close();
  });

  test('/readyz names each component that is not ready and why, and is ready once books, funding and balances are in', async () => {
    const check = (label: string, history: ReadyzObservation[], required: string[]) => {
      assert.ok(history.length >= 2, `${label}: saw only ${JSON.stringify(history)}`);
      assert.equal(history[0]?.status, 503, `${label} is not ready at first`);
      for (const seen of history.slice(0, -1)) {
        assert.equal(seen.status, 503);
        assert.equal(seen.body.ready, false);
        const notReady = seen.body.components.filter((c) => !c.ready);
        assert.ok(notReady.length > 0, `${label}: a 503 names a component: ${JSON.stringify(seen.body)}`);
        for (const c of notReady) {
          assert.ok(
            typeof c.reason === 'string' && c.reason.length > 10,
            `${label}: ${c.name} says why: ${JSON.stringify(c)}`,
          );
        }
        // Never 200 while one of these is listed as not ready.
        for (const name of required) {
          const c = seen.body.components.find((x) => x.name === name);
          if (c && !c.ready) assert.equal(seen.status, 503);
        }
      }
      const last = history.at(-1) as ReadyzObservation;
      assert.equal(last.status, 200);
      for (const name of required) {
        const c = last.body.components.find((x) => x.name === name);
        assert.ok(c?.ready, `${label}: ${name} is listed and ready: ${JSON.stringify(last.body)}`);
      }
    };
    check(
      'market-data',
      stack.marketData.readyzHistory,
      VENUES.flatMap((v) => [`${v}/order_books`, `${v}/funding`, `${v}/symbols`]),
    );
    check(
      'account',
      stack.account.readyzHistory,
      VENUES.flatMap((v) => [`${v}/${ACCOUNT}/balances`, `${v}/${ACCOUNT}/positions`]),
    );

    // Ready means the data is there: a book with both sides and a funding rate per venue.
    const md = stack.marketDataClient();
    for (const venue of VENUES) {
      const book = await call<GetOrderBookRequest, GetOrderBookResponse>(md.getOrderBook.bind(md), {
        venue,
        instrument: BTC,
        depth: 5,
      });
      assert.equal(book.stale, false);
      assert.ok((book.book?.bids.length ?? 0) > 0 && (book.book?.asks.length ?? 0) > 0, `${venue} book`);
      const funding = await call<GetFundingRatesRequest, GetFundingRatesResponse>(
        md.getFundingRates.bind(md),
        {
          venue,
          instrument: BTC,
        },
      );
      assert.equal(funding.rates.length, 1, `${venue} funding`);
      assert.notEqual(funding.rates[0]?.rate?.rate ?? '', '');
    }
  });

  test('a fill shows up as exec events, as a position and balance over AccountService, and as acct events', async () => {
    const [before] = (await balances('paper')).balances;
    assert.equal(before?.balance?.total, '100000');

    const req = marketOrder({ size: '0.01' });
    const res = await placeOrder(exec, req);
    assert.equal(res.replayed, false);
    assert.equal(res.order?.status, OrderStatus.ORDER_STATUS_FILLED, JSON.stringify(res.order));
    assert.equal(res.order?.filledSize, '0.01');
    const venueOrderId = res.order?.venueOrderId ?? '';
    assert.notEqual(venueOrderId, '');

    // exec events: the write-ahead SUBMITTED, ACCEPTED, FILLED, and one fill; nothing twice.
    await execEvents.waitFor(
      'FILLED',
      (e) =>
        e.payload?.$case === 'orderEvent' &&
        e.payload.value.order?.clientOrderId === req.clientOrderId &&
        e.payload.value.order.status === OrderStatus.ORDER_STATUS_FILLED,
    );
    await execEvents.caughtUp(stack.stream('EXEC'));
    assert.deepEqual(kindNames(orderEventsOf(execEvents, req.clientOrderId)), [
      'SUBMITTED',
      'ACCEPTED',
      'FILLED',
    ]);
    const fills = fillsOf(execEvents, req.clientOrderId);
    const venueFills = (await paper.fetchFills(0)).filter((f) => f.clientOrderId === req.clientOrderId);
    assert.equal(venueFills.length, 1, JSON.stringify(venueFills));
    assert.equal(fills.length, 1, JSON.stringify(fills));
    const fill = fills[0]!;
    const venueFill = venueFills[0]!;
    assert.equal(fill.tradeId, venueFill.tradeId);
    assert.equal(fill.venueOrderId, venueOrderId);
    assert.equal(fill.size, '0.01');
    assert.equal(fill.price, venueFill.price.toFixed());
    assert.equal(fill.fee, venueFill.fee.toFixed());
    assert.equal(res.order?.averageFillPrice, fill.price);

    // AccountService: a long 0.01 at the fill price, and the wallet down by the fee exactly.
    // (Funding settled meanwhile, were a funding time to pass during the test, counts too.)
    const fundingPaid = () =>
      acctEvents
        .where((e) => e.payload?.$case === 'fundingPayment' && e.payload.value.venue === 'paper')
        .reduce(
          (sum, e) => (e.payload?.$case === 'fundingPayment' ? sum.add(dec(e.payload.value.amount)) : sum),
          dec(0),
        );
    const expected = () => dec('100000').sub(dec(fill.fee)).add(fundingPaid());
    const position = await waitUntil('the position over AccountService', async () => {
      const view = (await positions('paper')).positions[0];
      return view?.position?.size === '0.01' ? view : undefined;
    });
    assert.equal(position.position?.side, PositionSide.POSITION_SIDE_LONG);
    assert.equal(position.position?.entryPrice, fill.price);
    assert.equal(position.stale, false);
    const balance = await waitUntil(
      'the balance over AccountService',
      async () => {
        const view = (await balances('paper')).balances[0];
        return view?.balance && dec(view.balance.total).eq(expected()) ? view : undefined;
      },
      { explain: () => `expected total ${expected().toFixed()}` },
    );
    assert.equal(balance.stale, false);
    assert.ok(dec(balance.balance?.available ?? '0').lt(expected()), 'margin is held for the position');

    // acct events: the position and the balance change on the log.
    await acctEvents.waitFor(
      'the position event',
      (e) =>
        e.payload?.$case === 'position' &&
        e.payload.value.venue === 'paper' &&
        e.payload.value.size === '0.01' &&
        e.payload.value.entryPrice === fill.price,
    );
    await acctEvents.waitFor(
      'the balance event',
      (e) =>
        e.payload?.$case === 'balance' &&
        e.payload.value.venue === 'paper' &&
        dec(e.payload.value.total).eq(expected()),
    );
    // The other venue's account is untouched.
    assert.deepEqual(
      (await positions('paper-lighter')).positions.filter((p) => p.position?.size !== '0'),
      [],
    );
  });

  test('the same client_order_id, sent again and concurrently, places one order', async () => {
    const venueOpen = async (cid: string) =>
      (await paper.fetchOpenOrders(BTC)).filter((o) => o.clientOrderId === cid);

    // Sequential.
    const req = orderRequest({ price: '40000' });
    const first = await placeOrder(exec, req);
    assert.equal(first.replayed, false);
    assert.equal(first.order?.status, OrderStatus.ORDER_STATUS_ACCEPTED);
    const again = await placeOrder(exec, req);
    assert.equal(again.replayed, true);
    assert.equal(again.order?.venueOrderId, first.order?.venueOrderId);

    // Concurrent: eight at once.
    const burst = orderRequest({ price: '40001' });
    const answers = await Promise.all(Array.from({ length: 8 }, () => placeOrder(exec, burst)));
    const ids = new Set(answers.map((a) => a.order?.venueOrderId));
    assert.equal(ids.size, 1, `one venue order: ${[...ids].join(', ')}`);
    assert.ok(!ids.has('') && !ids.has(undefined));
    assert.equal(answers.filter((a) => !a.replayed).length, 1, 'exactly one answer placed it');

    for (const r of [req, burst]) {
      assert.equal(
        (await venueOpen(r.clientOrderId)).length,
        1,
        `the venue holds one order ${r.clientOrderId}`,
      );
    }
    await execEvents.caughtUp(stack.stream('EXEC'));
    for (const r of [req, burst]) {
      assert.deepEqual(kindNames(orderEventsOf(execEvents, r.clientOrderId)), ['SUBMITTED', 'ACCEPTED']);
    }
  });

  test('bad requests get INVALID_ARGUMENT naming the field, a bad token UNAUTHENTICATED; the venue receives nothing', async () => {
    const openBefore = (await paper.fetchOpenOrders()).length;
    const fillsBefore = (await paper.fetchFills(0)).length;
    await execEvents.caughtUp(stack.stream('EXEC'));
    const execBefore = execEvents.events.length;

    const cases: Array<[field: string, patch: Parameters<typeof orderRequest>[0]]> = [
      ['instrument', { instrument: 'NOPE-USDC-PERP' }],
      ['size', { size: '-0.01' }],
      ['size', { size: '0' }],
      ['price', { price: '40000.05' }],
      ['client_order_id', { clientOrderId: '' }],
      ['venue', { venue: 'paper-nowhere' }],
      ['account', { account: 'nobody' }],
    ];
    for (const [field, patch] of cases) {
      await assert.rejects(placeOrder(exec, orderRequest(patch)), (err) => {
        const s = statusOf(err);
        assert.equal(s.code, status.INVALID_ARGUMENT, `${field} ${JSON.stringify(patch)}: ${s.details}`);
        assert.equal(s.field, field, s.details);
        assert.match(s.details, new RegExp(`^${field}: `));
        return true;
      });
    }
    const wrongToken = stack.executionClient(0, 'not-the-token');
    await assert.rejects(placeOrder(wrongToken, orderRequest()), (err) => {
      assert.equal(statusOf(err).code, status.UNAUTHENTICATED, statusOf(err).details);
      assert.doesNotMatch(statusOf(err).details, new RegExp(stack.token));
      return true;
    });

    assert.equal((await paper.fetchOpenOrders()).length, openBefore, 'no new order at the venue');
    assert.equal((await paper.fetchFills(0)).length, fillsBefore, 'no new fill at the venue');
    await execEvents.caughtUp(stack.stream('EXEC'));
    assert.equal(execEvents.events.length, execBefore, 'no exec event for a refused request');
  });

  test('with the venue down, balances are stale with a growing age and /readyz says why; then ready again', async () => {
    await stack.paperVenue.stop();

    const stale = await waitUntil(
      'a stale paper balance',
      async () => {
        const view = (await balances('paper')).balances[0];
        return view?.stale ? view : undefined;
      },
      { timeoutMs: 20_000 },
    );
    const later = await waitUntil('the stale balance to age', async () => {
      const view = (await balances('paper')).balances[0];
      return Number(view?.ageMs) > Number(stale.ageMs) ? view : undefined;
    });
    assert.equal(later?.stale, true, 'still stale, never shown as current');
    assert.equal(later?.balance?.asOfMs, stale.balance?.asOfMs, 'the old reading, not a new one');
    assert.ok(Number(later?.ageMs) > Number(stale.ageMs), `age grows: ${stale.ageMs} -> ${later?.ageMs}`);
    assert.ok(Number(stale.ageMs) > 3_000, `older than the 3 s bound: ${stale.ageMs}`);

    const accountReadyz = await waitUntil('account /readyz to name the stale balance', async () => {
      const seen = await stack.account.readyz();
      const c = seen?.body.components.find((x) => x.name === `paper/${ACCOUNT}/balances`);
      return seen && c && !c.ready ? { seen, c } : undefined;
    });
    assert.equal(accountReadyz.seen.status, 503);
    assert.match(accountReadyz.c.reason ?? '', /stale/);
    assert.match(accountReadyz.c.reason ?? '', /\d+ ms old/);
    const mdReadyz = await waitUntil('market-data /readyz to name the books', async () => {
      const seen = await stack.marketData.readyz();
      const c = seen?.body.components.find((x) => x.name === 'paper/order_books');
      return seen && c && !c.ready ? { seen, c } : undefined;
    });
    assert.equal(mdReadyz.seen.status, 503);
    assert.match(mdReadyz.c.reason ?? '', /BTC-USDC-PERP/);

    // The venue comes back: books resync, balances are fetched again, everyone is ready.
    stack.paperVenue.start();
    await stack.paperVenue.waitReady();
    await Promise.all([stack.marketData.waitReady(), stack.account.waitReady(), stack.execution.waitReady()]);
    const fresh = (await balances('paper')).balances[0];
    assert.equal(fresh?.stale, false);
    assert.ok(Number(fresh?.ageMs) < 3_000);
  });

  test('every service stops cleanly on SIGTERM', async () => {
    await stack.account.stop();
    await stack.execution.stop();
    await stack.marketData.stop();
    await stack.paperVenue.stop();
  });
});
