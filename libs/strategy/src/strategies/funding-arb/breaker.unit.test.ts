import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec } from '@perpmesh/core';
import { spec } from '../../decider-spec.js';
import { BTC, book, fullyFilled, funding, HOUR_MS, placed, T0, tick } from '../../fixtures.test-helper.js';
import { A, arbConfig, B, market2 } from './arb-fixtures.test-helper.js';
import { breakerAfterClose, initialBreaker } from './breaker.js';
import { fundingArbDecider } from './index.js';

describe('circuit breaker (pure)', () => {
  const config = { circuitBreaker: { maxDrawdown: dec('10'), maxConsecutiveLosses: 3 } };

  test('drawdown is measured from the peak of the realized net', () => {
    let b = breakerAfterClose(initialBreaker(), config, dec('8'), 1);
    b = breakerAfterClose(b, config, dec('-6'), 2);
    assert.equal(b.tripped, undefined);
    assert.equal(b.peakNet.toFixed(), '8');
    b = breakerAfterClose(b, config, dec('-4'), 3);
    assert.equal(b.tripped?.reasonCode, 'drawdown_breaker');
    assert.equal(b.tripped?.atMs, 3);
  });

  test('a losing streak trips it; a win resets the streak', () => {
    let b = initialBreaker();
    for (const net of ['-1', '-1', '2', '-1', '-1']) b = breakerAfterClose(b, config, dec(net), 1);
    assert.equal(b.tripped, undefined);
    assert.equal(b.consecutiveLosses, 2);
    b = breakerAfterClose(b, config, dec('-1'), 9);
    assert.equal(b.tripped?.reasonCode, 'losing_streak_breaker');
  });

  test('nothing configured: never trips', () => {
    let b = initialBreaker();
    for (let i = 0; i < 20; i++) b = breakerAfterClose(b, { circuitBreaker: {} }, dec('-100'), i);
    assert.equal(b.tripped, undefined);
  });
});

describe('funding arb: circuit breaker', () => {
  test('a drawdown trips the breaker: entries stop until the operator resumes', () => {
    const decider = fundingArbDecider(
      arbConfig({ circuitBreaker: { maxDrawdown: '5' }, reentryCooldownMs: 0, persistenceMs: 0 }),
    );
    const entered = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const t = T0 + 31_000;
    const legs = Object.values(entered.state.world.orders);
    const opened = spec(decider).given(
      legs.flatMap((o) => fullyFilled(o, t, o.side === 'sell' ? '49999.5' : '50000.5', '5')),
      entered.state,
    );
    // Funding turns: exit, then the exits fill at a loss of fees and spread (-20.4).
    const exiting = spec(decider)
      .given([], opened.state)
      .when([funding(A, t + 1_000, '0.0001', 3), funding(B, t + 1_000, '0.0001', 1), tick(t + 2_000)]);
    const exits = placed(exiting.result.commands);
    assert.equal(exits.length, 2);
    const closed = spec(decider)
      .given([], exiting.result.state)
      .when(exits.flatMap((o) => fullyFilled(o, t + 3_000, o.side === 'buy' ? '50000.5' : '49999.5', '5')))
      .thenDecided({ kind: 'closed' })
      .thenDecided({ kind: 'signal', reasonCode: 'circuit_breaker_tripped' });
    assert.equal(closed.result.state.strategy.breaker?.tripped?.reasonCode, 'drawdown_breaker');

    // The gap is back: no entry while tripped, the skip says why.
    const gapBack = [funding(A, t + 4_000, '0.001', 8), funding(B, t + 4_000, '-0.0001', 1)];
    const paused = spec(decider)
      .given([], closed.result.state)
      .when([...gapBack, tick(t + HOUR_MS)])
      .thenNoCommands()
      .thenDecided({ kind: 'skip', reasonCode: 'circuit_breaker_tripped' });
    // The operator resumes: the breaker re-arms and the entry goes ahead.
    spec(decider)
      .given([], paused.result.state)
      .when([
        { kind: 'operator', nowMs: t + HOUR_MS + 1_000, action: 'resume' },
        book(A, t + HOUR_MS + 1_500, '50000'),
        book(B, t + HOUR_MS + 1_500, '50000'),
        tick(t + HOUR_MS + 2_000),
      ])
      .thenDecided({ kind: 'signal', reasonCode: 'circuit_breaker_reset' })
      .thenDecided({ kind: 'enter' });
    assert.equal(paused.result.state.strategy.arbs[BTC], undefined);
  });
});
