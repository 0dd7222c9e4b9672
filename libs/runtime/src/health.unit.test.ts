import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import { HealthRegistry, type ReadinessReport } from './health.js';

function registryAt(startMs: number): { health: HealthRegistry; advance: (ms: number) => void } {
  let now = startMs;
  const advance = (ms: number) => {
    now += ms;
  };
  return { health: new HealthRegistry({ nowMs: () => now }), advance };
}

describe('HealthRegistry', () => {
  test('ready only when every registered component is ready; the report says who and why', () => {
    const { health, advance } = registryAt(1_000);
    health.register('symbols');
    health.notReady('book BTC-USDC-PERP@paper', 'order book BTC-USDC-PERP@paper: no snapshot yet', {
      seq: 0,
    });
    assert.equal(health.isReady(), false);
    assert.deepEqual(health.readiness(), {
      ready: false,
      components: [
        {
          name: 'book BTC-USDC-PERP@paper',
          ready: false,
          reason: 'order book BTC-USDC-PERP@paper: no snapshot yet',
          since: 1_000,
          detail: { seq: 0 },
        },
        { name: 'symbols', ready: false, reason: 'symbols: starting', since: 1_000, detail: undefined },
      ],
    });
    advance(500);
    health.ready('symbols', { count: 42 });
    health.ready('book BTC-USDC-PERP@paper');
    assert.equal(health.isReady(), true);
    assert.deepEqual(health.component('symbols'), {
      name: 'symbols',
      ready: true,
      reason: undefined,
      since: 1_500,
      detail: { count: 42 },
    });
  });

  test('since marks the last transition, not the last report', () => {
    const { health, advance } = registryAt(0);
    health.ready('funding');
    advance(100);
    health.ready('funding', { rates: 3 });
    assert.equal(health.component('funding')?.since, 0);
    advance(100);
    health.notReady('funding', 'funding BTC-USDC-PERP@okx: no rate for 3 intervals');
    assert.equal(health.component('funding')?.since, 200);
  });

  test('a reason is required, and names are required', () => {
    const { health } = registryAt(0);
    assert.throws(
      () => health.notReady('x', ''),
      (err: unknown) => err instanceof ValidationError && err.field === 'reason',
    );
    assert.throws(() => health.notReady('x', '   '), ValidationError);
    assert.throws(
      () => health.ready(''),
      (err: unknown) => err instanceof ValidationError && err.field === 'name',
    );
  });

  test('register keeps the state of a known component; unregister drops it', () => {
    const { health } = registryAt(0);
    health.ready('balances');
    health.register('balances');
    assert.equal(health.component('balances')?.ready, true);
    health.notReady('user stream', 'user stream paper/main: not connected');
    health.unregister('user stream');
    assert.equal(health.isReady(), true);
  });

  test('listeners hear each flip of overall readiness once', () => {
    const { health } = registryAt(0);
    const flips: boolean[] = [];
    const off = health.onReadinessChange((report: ReadinessReport) => flips.push(report.ready));
    health.register('a');
    health.register('b');
    health.ready('a');
    health.ready('b');
    health.ready('b');
    health.notReady('a', 'a: reconnecting');
    off();
    health.ready('a');
    assert.deepEqual(flips, [false, true, false]);
  });

  test('liveness checks report what is stuck; a throwing check counts as a failure', () => {
    const { health } = registryAt(0);
    assert.deepEqual(health.liveness(), { alive: true, failures: [] });
    let stuck = false;
    health.addLivenessCheck('matcher', () => (stuck ? 'matcher: no progress for 30 s' : undefined));
    const remove = health.addLivenessCheck('broken', () => {
      throw new Error('boom');
    });
    stuck = true;
    assert.deepEqual(health.liveness(), {
      alive: false,
      failures: [
        { name: 'matcher', reason: 'matcher: no progress for 30 s' },
        { name: 'broken', reason: 'liveness check threw: boom' },
      ],
    });
    remove();
    stuck = false;
    assert.equal(health.liveness().alive, true);
  });
  test('report: an informational component is listed with its reason but never flips readiness', () => {
    const { health } = registryAt(0);
    health.report('venue lighter/main: auth token', { ready: true, reason: 'expires in 3m, renewing' });
    health.report('venue lighter/main: request budget', {
      ready: false,
      reason: 'low: 4 of 60 requests left this minute',
      informational: true,
    });
    assert.equal(health.isReady(), true);
    const report = health.readiness();
    assert.equal(report.ready, true);
    assert.deepEqual(
      report.components.map((c) => [c.name, c.ready, c.reason, c.informational]),
      [
        ['venue lighter/main: auth token', true, 'expires in 3m, renewing', undefined],
        ['venue lighter/main: request budget', false, 'low: 4 of 60 requests left this minute', true],
      ],
    );
    // A component that decides readiness and is not ready flips it, reason required.
    health.report('venue lighter/main: auth token', { ready: false, reason: 'renewal failed: 401' });
    assert.equal(health.readiness().ready, false);
    assert.throws(() => health.report('x', { ready: false }), ValidationError);
  });
});
