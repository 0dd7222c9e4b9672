/** AccountVenueState: newest reading wins, polls list what is held, readiness names what is missing and why. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec } from '@perpmesh/core';
import type { VenueBalance, VenuePort, VenuePosition } from '@perpmesh/venues';
import { AccountVenueState } from './venue-state.js';

const T0 = Date.UTC(2026, 0, 1);
const port = { venue: 'paper', account: 'main' } as VenuePort;

const balance = (asset: string, total: string, tsEventMs: number): VenueBalance => ({
  asset,
  total: dec(total),
  available: dec(total),
  equity: dec(total),
  unrealizedPnl: dec(0),
  tsEventMs,
});

const position = (instrument: string, size: string, tsEventMs: number): VenuePosition => ({
  instrument,
  size: dec(size),
  entryPrice: dec(100),
  markPrice: dec(100),
  unrealizedPnl: dec(0),
  realizedPnl: dec(0),
  leverage: dec(1),
  tsEventMs,
});

describe('AccountVenueState', () => {
  test('names and keys', () => {
    const s = new AccountVenueState(port);
    assert.equal(s.name, 'paper/main');
    assert.equal(s.key, 'paper|main');
  });

  test('balances: never read is unavailable (not zero); an older reading never overwrites a newer one', () => {
    const s = new AccountVenueState(port);
    assert.equal(s.balancesUnavailable(), 'not fetched yet');
    s.balancesError = 'connection refused';
    assert.equal(s.balancesUnavailable(), 'last fetch failed: connection refused');
    assert.deepEqual(s.balancesReadiness(T0, 15_000), {
      ready: false,
      reason: 'paper/main balances: not fetched yet: last fetch failed: connection refused',
    });
    s.balancesError = undefined;
    assert.equal(s.acceptBalance(balance('USDC', '100', T0 + 10), T0 + 10), true);
    assert.equal(s.acceptBalance(balance('USDC', '90', T0 + 5), T0 + 5), false, 'a late poll answer');
    assert.equal(s.balances?.get('USDC')?.total.toFixed(), '100');
    assert.equal(s.balancesUnavailable(), undefined);
    assert.deepEqual(s.balancesReadiness(T0 + 10 + 15_000, 15_000), { ready: true });
  });

  test('balances stale past the bound: not ready, with the age and the last error', () => {
    const s = new AccountVenueState(port);
    s.acceptBalance(balance('USDC', '100', T0), T0);
    s.balancesError = 'timeout';
    assert.deepEqual(s.balancesReadiness(T0 + 15_001, 15_000), {
      ready: false,
      reason:
        'paper/main balances: stale: last reading is 15001 ms old (bound 15000 ms); last fetch failed: timeout',
    });
  });

  test('a positions poll: what the venue no longer lists is flat; as of the newest report or balance, else its request', () => {
    const s = new AccountVenueState(port);
    assert.deepEqual(s.positionsReadiness(T0, 15_000), {
      ready: false,
      reason: 'paper/main positions: not fetched yet',
    });
    s.acceptPosition(position('ETH-USDC-PERP', '2', T0), T0);
    s.positionsError = 'earlier failure';
    const taken = s.acceptPolledPositions(
      [position('BTC-USDC-PERP', '1', T0 + 100)],
      [balance('USDC', '1', T0 + 300)],
      T0 + 999,
    );
    assert.deepEqual(
      taken.map((p) => p.instrument),
      ['BTC-USDC-PERP'],
    );
    assert.deepEqual([...s.positions.keys()], ['BTC-USDC-PERP']);
    assert.equal(s.positionsAsOfMs, T0 + 300);
    assert.equal(s.positionsFetched, true);
    assert.equal(s.positionsError, undefined);
    // Its age runs on our clock from when the poll was requested, not from the venue's times.
    assert.equal(s.positionsObservedAtMs, T0 + 999);
    assert.deepEqual(s.positionsReadiness(T0 + 999 + 15_000, 15_000), { ready: true });
    assert.deepEqual(s.positionsReadiness(T0 + 999 + 15_001, 15_000), {
      ready: false,
      reason: 'paper/main positions: venue reading is 15001 ms old (bound 15000 ms)',
    });
    // Nothing held and no times at all: as of when the poll was requested (its answer may arrive
    // after fills it does not hold).
    const empty = new AccountVenueState(port);
    empty.acceptPolledPositions([], [], T0 + 7);
    assert.equal(empty.positionsAsOfMs, T0 + 7);
  });

  test('an older position report is ignored', () => {
    const s = new AccountVenueState(port);
    assert.equal(s.acceptPosition(position('BTC-USDC-PERP', '1', T0 + 10), T0 + 10), true);
    assert.equal(s.acceptPosition(position('BTC-USDC-PERP', '2', T0 + 5), T0 + 5), false);
    assert.equal(s.positions.get('BTC-USDC-PERP')?.size.toFixed(), '1');
  });

  test('settle currency: the market’s, else any market’s, else the only balance asset, else empty', () => {
    const s = new AccountVenueState(port);
    assert.equal(s.settleCurrency('BTC-USDC-PERP'), '');
    s.acceptBalance(balance('USDT', '1', T0), T0);
    assert.equal(s.settleCurrency(), 'USDT');
    s.acceptBalance(balance('USDC', '1', T0), T0);
    assert.equal(s.settleCurrency(), '', 'two assets: ambiguous');
    s.settle.set('ETH-USDC-PERP', 'USDC');
    assert.equal(s.settleCurrency('BTC-USDT-PERP'), 'USDC');
    s.settle.set('BTC-USDT-PERP', 'USDT');
    assert.equal(s.settleCurrency('BTC-USDT-PERP'), 'USDT');
  });

  test('reset forgets every reading but keeps the markets', () => {
    const s = new AccountVenueState(port);
    s.settle.set('BTC-USDC-PERP', 'USDC');
    s.acceptBalance(balance('USDC', '1', T0), T0);
    s.acceptPolledPositions([position('BTC-USDC-PERP', '1', T0)], [], T0);
    s.openOrders = 3;
    s.userStreamReady = true;
    s.reset();
    assert.equal(s.balances, undefined);
    assert.equal(s.positions.size, 0);
    assert.equal(s.positionsFetched, false);
    assert.equal(s.positionsAsOfMs, 0);
    assert.equal(s.positionsObservedAtMs, 0);
    assert.equal(s.openOrders, undefined);
    assert.equal(s.userStreamReady, false);
    assert.equal(s.settle.get('BTC-USDC-PERP'), 'USDC');
  });

  for (const skewMs of [-1_400, 5_000]) {
    test(`venue clock ${skewMs > 0 ? 'ahead' : 'behind'} by ${Math.abs(skewMs)} ms: balances and positions age on our clock (3 s bound)`, () => {
      const s = new AccountVenueState(port);
      // Polled every 500 ms (our clock) until 10 s; each answer dated by the skewed venue clock.
      for (let requestedAtMs = T0; requestedAtMs <= T0 + 10_000; requestedAtMs += 500) {
        const venueTime = requestedAtMs + 50 + skewMs;
        s.acceptBalance(balance('USDC', '100', venueTime), requestedAtMs);
        s.acceptPolledPositions([position('BTC-USDC-PERP', '1', venueTime)], [], requestedAtMs);
        const answeredAtMs = requestedAtMs + 100;
        assert.deepEqual(
          s.balancesReadiness(answeredAtMs, 3_000),
          { ready: true },
          `balances at ${answeredAtMs}`,
        );
        assert.deepEqual(
          s.positionsReadiness(answeredAtMs, 3_000),
          { ready: true },
          `positions at ${answeredAtMs}`,
        );
      }
      // The readings stop: ready up to 3 s after the last request, not a millisecond more.
      assert.deepEqual(s.balancesReadiness(T0 + 13_000, 3_000), { ready: true });
      assert.deepEqual(s.positionsReadiness(T0 + 13_000, 3_000), { ready: true });
      assert.equal(s.balancesReadiness(T0 + 13_001, 3_000).ready, false);
      assert.equal(s.positionsReadiness(T0 + 13_001, 3_000).ready, false);
    });
  }

  test('the same venue reading seen again keeps the newest time we knew it true', () => {
    const s = new AccountVenueState(port);
    s.acceptBalance(balance('USDC', '100', T0), T0 + 500); // pushed, arrived at T0 + 500
    s.acceptBalance(balance('USDC', '100', T0), T0 + 200); // a poll sent at T0 + 200 answers the same
    assert.equal(s.balances?.get('USDC')?.observedAtMs, T0 + 500);
    s.acceptPosition(position('BTC-USDC-PERP', '1', T0), T0 + 500);
    s.acceptPosition(position('BTC-USDC-PERP', '1', T0), T0 + 200);
    assert.equal(s.positions.get('BTC-USDC-PERP')?.observedAtMs, T0 + 500);
    s.acceptBalance(balance('USDC', '101', T0 + 1), T0 + 300); // a newer venue reading: its own time
    assert.equal(s.balances?.get('USDC')?.observedAtMs, T0 + 300);
  });

  test('a balance the venue dates by its last change stays fresh while polls keep answering', () => {
    const s = new AccountVenueState(port);
    for (let requestedAtMs = T0; requestedAtMs <= T0 + 60_000; requestedAtMs += 1_000)
      assert.equal(s.acceptBalance(balance('USDC', '100', T0 - 3_600_000), requestedAtMs), true);
    assert.equal(s.balances?.get('USDC')?.observedAtMs, T0 + 60_000);
    assert.deepEqual(s.balancesReadiness(T0 + 60_500, 3_000), { ready: true });
  });
});
