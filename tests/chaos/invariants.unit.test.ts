import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VENUE_FAULT_KINDS } from '../e2e/venue-faults.js';
import {
  arbActivity,
  arbTimeline,
  checkAckedEventsKept,
  checkAmountsEqual,
  checkArbTraded,
  checkFillsOnceInLog,
  checkLegImbalance,
  checkNoCanary,
  checkNoncesUnique,
  checkOneVenueOrderPerClientId,
  checkRecoveries,
  faultSchedule,
  MAX_VENUE_CLOCK_SKEW_MS,
  percentile,
  positionsFromLoggedFills,
  venueClockSkews,
  venueFaultSchedule,
  withLoggedPositions,
} from './invariants.js';

const order = (cid: string, vid: string, account = 'main') => ({
  venue: 'paper',
  account,
  clientOrderId: cid,
  venueOrderId: vid,
});
const fill = (tradeId: string) => ({ venue: 'paper', account: 'main', tradeId });

describe('chaos invariants', () => {
  test('one venue order per client order id: a resent order is caught', () => {
    assert.deepEqual(checkOneVenueOrderPerClientId([order('a', '1'), order('a', '1'), order('b', '2')]), []);
    // The same id on another account is another order, not a duplicate.
    assert.deepEqual(checkOneVenueOrderPerClientId([order('a', '1'), order('a', '3', 'other')]), []);
    const found = checkOneVenueOrderPerClientId([order('a', '1'), order('a', '2')]);
    assert.equal(found.length, 1);
    assert.match(found[0]?.detail ?? '', /paper\/main\/a is 2 venue orders/);
  });

  test('every venue fill once in exec.fill: missing, doubled and invented fills are caught', () => {
    assert.deepEqual(checkFillsOnceInLog([fill('t1'), fill('t2')], [fill('t2'), fill('t1')]), []);
    assert.match(checkFillsOnceInLog([fill('t1')], [])[0]?.detail ?? '', /0 times/);
    assert.match(checkFillsOnceInLog([fill('t1')], [fill('t1'), fill('t1')])[0]?.detail ?? '', /2 times/);
    assert.match(checkFillsOnceInLog([], [fill('t9')])[0]?.detail ?? '', /no venue fill/);
  });

  test('acknowledged events kept: a lost event is caught', () => {
    const acked = [
      { stream: 'EXEC', id: 'e1' },
      { stream: 'EXEC', id: 'e2' },
    ];
    assert.deepEqual(checkAckedEventsKept(acked, new Set(['e1', 'e2', 'e3'])), []);
    assert.match(checkAckedEventsKept(acked, new Set(['e1']))[0]?.detail ?? '', /1 acknowledged.*EXEC:e2/);
  });

  test('nonces: a reuse per key is a breach, extra sends are counted resyncs', () => {
    const send = (nonce: string, apiKeyId = '4') => ({ venue: 'paper-lighter', apiKeyId, nonce });
    const ok = checkNoncesUnique([send('1'), send('2'), send('3'), send('1', '5')], 3);
    assert.deepEqual(ok.breaches, []);
    assert.equal(ok.resyncs, 1);
    const reused = checkNoncesUnique([send('1'), send('1')], 2);
    assert.equal(reused.breaches.length, 1);
    assert.match(reused.breaches[0]?.detail ?? '', /paper-lighter\/4\/1 was sent twice/);
  });

  test('account = venue: decimal equality per key, absent = zero', () => {
    const m = (entries: Array<[string, string]>) => new Map(entries);
    assert.deepEqual(
      checkAmountsEqual(
        'account positions = venue',
        m([['paper/main/BTC', '0.010']]),
        m([['paper/main/BTC', '0.01']]),
      ),
      [],
    );
    assert.deepEqual(
      checkAmountsEqual('account positions = venue', m([['x', '0']]), m([])),
      [],
      'a zero on one side equals absent',
    );
    const off = checkAmountsEqual('account balances = venue', m([['x', '1']]), m([['x', '2']]));
    assert.equal(off.length, 1);
    assert.equal(off[0]?.invariant, 'account balances = venue');
  });

  test("a position breach says what the log's fills add up to (each trade once)", () => {
    const fill = (tradeId: string, side: 'buy' | 'sell', size: string) => ({
      venue: 'paper',
      account: 'load',
      instrument: 'BTC-USDC-PERP',
      tradeId,
      side,
      size,
    });
    const logged = positionsFromLoggedFills([
      fill('t1', 'buy', '0.010'),
      fill('t2', 'buy', '0.008'),
      fill('t2', 'buy', '0.008'),
      fill('t3', 'sell', '0.003'),
    ]);
    assert.equal(logged.get('paper/load/BTC-USDC-PERP'), '0.015');
    const breaches = checkAmountsEqual(
      'account positions = venue',
      new Map([['paper/load/BTC-USDC-PERP', '0.012']]),
      new Map([['paper/load/BTC-USDC-PERP', '0.015']]),
    );
    const [explained] = withLoggedPositions(breaches, logged);
    assert.equal(
      explained?.detail,
      "paper/load/BTC-USDC-PERP: account 0.012 vs venue 0.015; the log's fills add up to 0.015",
    );
    const balance = checkAmountsEqual('account balances = venue', new Map([['x', '1']]), new Map());
    assert.deepEqual(withLoggedPositions(balance, logged), balance, 'balances are left as they are');
  });

  test('leg imbalance: spending past the budget is caught; paused time and balanced legs are not', () => {
    const s = (atMs: number, a: string, b: string, paused = false) => ({
      atMs,
      instrument: 'BTC',
      notionals: [a, b],
      paused,
    });
    // 1000 one-legged for 2 s = 2000 quote x s.
    const oneLegged = [s(0, '1000', '0'), s(1000, '1000', '0'), s(2000, '1000', '-1000')];
    assert.deepEqual(checkLegImbalance(oneLegged, '2000').breaches, []);
    assert.equal(checkLegImbalance(oneLegged, '2000').worst.toString(), '2000');
    assert.equal(checkLegImbalance(oneLegged, '1999').breaches.length, 1);
    // Hedged legs spend nothing; a new episode starts from zero.
    const episodes = [s(0, '1000', '0'), s(1000, '1000', '-1000'), s(2000, '0', '1000'), s(3000, '0', '0')];
    assert.deepEqual(checkLegImbalance(episodes, '1000').breaches, []);
    // While a fault is active nobody can hedge: not counted.
    const paused = [s(0, '1000', '0', true), s(5000, '1000', '0'), s(5500, '0', '0')];
    assert.deepEqual(checkLegImbalance(paused, '600').breaches, []);
  });

  test('recovery bound: slow and never-ready recoveries are caught', () => {
    assert.deepEqual(checkRecoveries([{ fault: 'execution', ms: 900 }], 1000), []);
    assert.equal(checkRecoveries([{ fault: 'execution', ms: 1001 }], 1000).length, 1);
    assert.match(checkRecoveries([{ fault: 'nats', ms: undefined }], 1000)[0]?.detail ?? '', /never ready/);
  });

  test('fault schedule: one seed, one schedule; bounded in count and time; one or two targets', () => {
    const a = faultSchedule(7, 12, 60_000);
    assert.deepEqual(a, faultSchedule(7, 12, 60_000));
    assert.notDeepEqual(a, faultSchedule(8, 12, 60_000));
    assert.equal(a.length, 12);
    for (const f of a) {
      assert.ok(f.atMs >= 0 && f.atMs < 60_000);
      assert.ok(f.targets.length === 1 || f.targets.length === 2);
      assert.equal(new Set(f.targets).size, f.targets.length);
    }
    const many = faultSchedule(1, 200, 60_000);
    assert.ok(many.some((f) => f.targets.length === 2) && many.some((f) => f.targets.length === 1));
    assert.ok(many.some((f) => f.kind === 'kill9') && many.some((f) => f.kind === 'restart'));
  });

  test('venue fault schedule: seeded, every kind on every venue, windows inside the run', () => {
    const venues = ['paper', 'paper-lighter'];
    const a = venueFaultSchedule(7, 10, 60_000, venues);
    assert.deepEqual(a, venueFaultSchedule(7, 10, 60_000, venues));
    assert.notDeepEqual(a, venueFaultSchedule(8, 10, 60_000, venues));
    assert.equal(a.length, 10);
    for (const f of a) {
      assert.ok(f.atMs >= 0 && f.atMs < 60_000);
      assert.ok(f.durationMs >= 1_000 && f.durationMs <= 4_000);
      assert.ok(venues.includes(f.fault.venue));
    }
    // Each round of as many windows as kinds holds every kind once.
    const round = venueFaultSchedule(3, VENUE_FAULT_KINDS.length, 60_000, venues);
    assert.deepEqual(new Set(round.map((f) => f.fault.kind)), new Set(VENUE_FAULT_KINDS));
    const many = venueFaultSchedule(1, 200, 600_000, venues);
    assert.deepEqual(new Set(many.map((f) => f.fault.kind)), new Set(VENUE_FAULT_KINDS));
    assert.deepEqual(new Set(many.map((f) => f.fault.venue)), new Set(venues));
    const only = venueFaultSchedule(1, 20, 60_000, venues, ['book_gap']);
    assert.ok(only.every((f) => f.fault.kind === 'book_gap'));
    // Venue faults come from their own stream: the process faults of a seed stay the same.
    assert.deepEqual(faultSchedule(7, 12, 60_000), faultSchedule(7, 12, 60_000));
  });

  test('venue clock skews: seeded, per venue, ahead and behind, within the bound', () => {
    const venues = ['paper', 'paper-lighter', 'paper-extended'];
    assert.deepEqual(venueClockSkews(3, venues), venueClockSkews(3, venues));
    const all = Array.from({ length: 50 }, (_, seed) => Object.values(venueClockSkews(seed, venues))).flat();
    assert.ok(all.some((ms) => ms > 0) && all.some((ms) => ms < 0));
    for (const ms of all)
      assert.ok(Math.abs(ms) >= 100 && Math.abs(ms) <= MAX_VENUE_CLOCK_SKEW_MS, String(ms));
    assert.deepEqual(Object.keys(venueClockSkews(3, venues)), venues);
  });

  test('canary: a secret in any output is caught, wherever it is', () => {
    const canary = 'canary-5f1e2d3c';
    assert.deepEqual(checkNoCanary([{ where: 'execution-0 log', text: 'token=[redacted]' }], canary), []);
    const found = checkNoCanary(
      [
        { where: 'execution-0 log', text: 'fine' },
        { where: 'account stderr', text: `Error: bad token ${canary} refused` },
      ],
      canary,
    );
    assert.deepEqual(
      found.map((b) => b.detail),
      ['the canary secret appears in account stderr'],
    );
    assert.throws(() => checkNoCanary([], 'short'), /at least 8/);
  });

  test('percentile: nearest rank', () => {
    assert.equal(percentile([], 50), 0);
    assert.equal(percentile([5, 1, 3], 50), 3);
    assert.equal(percentile([1, 2, 3, 4, 100], 99), 100);
  });
});

describe('the arb traded', () => {
  const legFill = (venue: string, tradeId: string) => ({ venue, tradeId });

  test('a leg venue without an arb fill is a breach; no fills at all, one per venue', () => {
    const venues = ['paper', 'paper-lighter'];
    assert.deepEqual(checkArbTraded([legFill('paper', 't1'), legFill('paper-lighter', 't2')], venues), []);
    const oneLegged = checkArbTraded([legFill('paper', 't1')], venues);
    assert.equal(oneLegged.length, 1);
    assert.match(oneLegged[0]?.detail ?? '', /no arb leg filled on paper-lighter \(1 arb fill/);
    assert.equal(oneLegged[0]?.invariant, 'the arb traded');
    assert.equal(checkArbTraded([], venues).length, 2, 'a run without arb fills cannot pass');
  });

  test('arbActivity counts distinct arbs entered, open and closed, and skips by reason', () => {
    const d = (kind: string, reasonCode: string, arbId?: string) => ({
      atMs: 0,
      kind,
      reasonCode,
      message: `${kind} ${reasonCode}`,
      inputs: arbId === undefined ? {} : ({ arb_id: arbId } as Record<string, string>),
    });
    const activity = arbActivity([
      d('skip', 'net_carry_below_threshold'),
      d('skip', 'net_carry_below_threshold'),
      d('skip', 'reentry_cooldown'),
      d('enter', 'net_carry_above_threshold', 'BTC#1'),
      // Published again by a restarted instance: still one arb.
      d('enter', 'net_carry_above_threshold', 'BTC#1'),
      d('signal', 'legs_filled', 'BTC#1'),
      d('signal', 'funding_settled', 'BTC#1'),
      d('exit', 'max_holding_time', 'BTC#1'),
      d('closed', 'max_holding_time', 'BTC#1'),
      d('enter', 'net_carry_above_threshold', 'BTC#2'),
      d('signal', 'legs_filled_partially', 'BTC#2'),
      d('enter', 'net_carry_above_threshold', 'BTC#3'),
      // Positions found at a start that no saved arb held: an arb without an entry.
      d('adopt', 'positions_adopted_unbalanced', 'BTC#4'),
      d('adopt', 'open_order_adopted', 'BTC#3'),
      d('closed', 'entry_failed', 'BTC#4'),
    ]);
    assert.deepEqual(
      {
        entered: activity.entered,
        adopted: activity.adopted,
        opened: activity.opened,
        closed: activity.closed,
      },
      { entered: 3, adopted: 1, opened: 2, closed: 2 },
    );
    assert.deepEqual(activity.adoptions, [
      'BTC#4: positions_adopted_unbalanced: adopt positions_adopted_unbalanced',
    ]);
    assert.deepEqual(
      [...activity.skips],
      [
        ['net_carry_below_threshold', 2],
        ['reentry_cooldown', 1],
      ],
    );
  });
});

test('arbTimeline: the non-routine decisions in time order, the last ones', () => {
  const d = (atMs: number, kind: string, reasonCode: string) => ({
    atMs,
    kind,
    reasonCode,
    message: 'm',
    inputs: { arb_id: 'BTC#1' } as Record<string, string>,
  });
  const lines = arbTimeline(
    [
      d(2_000, 'closed', 'max_holding_time'),
      d(1_000, 'enter', 'net_carry_above_threshold'),
      d(1_500, 'signal', 'funding_settled'),
      d(1_600, 'skip', 'reentry_cooldown'),
    ],
    5,
  );
  assert.deepEqual(lines, [
    '00:00:01.000 enter net_carry_above_threshold BTC#1: m',
    '00:00:02.000 closed max_holding_time BTC#1: m',
  ]);
  assert.equal(arbTimeline([d(1, 'enter', 'a'), d(2, 'exit', 'b')], 1).length, 1);
});
