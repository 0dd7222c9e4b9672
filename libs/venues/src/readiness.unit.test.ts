import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HealthRegistry } from '@perpmesh/runtime';
import { requestBudgetComponent } from './ccxt/port.js';
import { type ReadinessComponent, VENUE_COMPONENT } from './port.js';
import {
  PortReadinessMirror,
  portComponentHealthName,
  portComponentStates,
  VENUE_COMPONENT_DECIDES_READINESS,
} from './readiness.js';

const port = (account: string, readiness: () => ReadinessComponent[]) => ({
  venue: 'lighter',
  account,
  readiness,
});

describe('venue port readiness components', () => {
  test('every component name has a rule; only balance and request budget are informational', () => {
    assert.deepEqual(
      Object.keys(VENUE_COMPONENT_DECIDES_READINESS).sort(),
      Object.values(VENUE_COMPONENT).sort(),
    );
    assert.deepEqual(
      Object.entries(VENUE_COMPONENT_DECIDES_READINESS)
        .filter(([, decides]) => !decides)
        .map(([name]) => name),
      [VENUE_COMPONENT.balance, VENUE_COMPONENT.requestBudget],
    );
  });

  test('states: one per component in VENUE_COMPONENT order, duplicates merged, the rule applied', () => {
    const states = portComponentStates(
      port('main', () => [
        { component: 'request budget', ready: true, reason: '52 of 60 requests left' },
        { component: 'market stream', ready: true, reason: 'BTC-USDC-PERP streaming' },
        { component: 'market stream', ready: false, reason: 'ETH-USDC-PERP: reconnecting' },
        { component: 'auth token', ready: true, reason: 'expires in 3m, renewing' },
        { component: 'markets', ready: true, reason: 'loaded' },
        { component: 'balance', ready: false, reason: '' },
      ]),
    );
    assert.deepEqual(
      states.map((s) => [s.component, s.ready, s.reason, s.informational]),
      [
        ['markets', true, 'loaded', false],
        ['market stream', false, 'ETH-USDC-PERP: reconnecting', false],
        ['balance', false, 'balance: not ready (the venue port gave no reason)', true],
        ['auth token', true, 'expires in 3m, renewing', false],
        ['request budget', true, '52 of 60 requests left', true],
      ],
    );
    assert.ok(states.every((s) => s.venue === 'lighter' && s.account === 'main'));
  });

  test('a port whose readiness throws reads as its link down, with the error', () => {
    const [state] = portComponentStates(
      port('main', () => {
        throw new Error('gateway gone');
      }),
    );
    assert.deepEqual(
      [state?.component, state?.ready, state?.reason, state?.informational],
      ['link', false, 'readiness of the venue port failed: gateway gone', false],
    );
  });

  test('health names: per venue and account, or per venue for a public port', () => {
    assert.equal(portComponentHealthName('lighter', 'main', 'auth token'), 'venue lighter/main: auth token');
    assert.equal(portComponentHealthName('lighter', '', 'markets'), 'venue lighter: markets');
  });

  test('the mirror: blocking components decide readiness, informational ones are only shown', () => {
    let now = 1_000;
    let components: ReadinessComponent[] = [
      { component: 'auth token', ready: true, reason: 'expires in 3m, renewing' },
      { component: 'request budget', ready: false, reason: 'spent; next slot in 800 ms' },
    ];
    const health = new HealthRegistry({ nowMs: () => now });
    const mirror = new PortReadinessMirror({
      health,
      ports: () => [port('main', () => components)],
      nowMs: () => now,
    });
    mirror.refresh();
    assert.equal(health.readiness().ready, true, 'a spent request budget does not flip readiness');
    assert.deepEqual(
      health.readiness().components.map((c) => [c.name, c.ready, c.reason, c.informational]),
      [
        ['venue lighter/main: auth token', true, 'expires in 3m, renewing', undefined],
        ['venue lighter/main: request budget', false, 'spent; next slot in 800 ms', true],
      ],
    );
    now = 2_000;
    components = [{ component: 'auth token', ready: false, reason: 'renewal refused: 401' }];
    const views = mirror.refresh();
    assert.equal(health.readiness().ready, false);
    assert.equal(health.component('venue lighter/main: auth token')?.reason, 'renewal refused: 401');
    assert.equal(
      health.component('venue lighter/main: request budget'),
      undefined,
      'a vanished component is removed',
    );
    assert.deepEqual(
      views.map((v) => [v.component, v.ready, v.sinceMs]),
      [['auth token', false, 2_000]],
    );
    // A port list that cannot be read yet (directory not open) keeps the last views.
    const early = new PortReadinessMirror({
      health,
      ports: () => {
        throw new Error('venues not open yet');
      },
    });
    assert.deepEqual(early.refresh(), []);
  });

  test('ccxt request budget: ready with what is left (low below a quarter), spent is not ready', () => {
    assert.deepEqual(requestBudgetComponent('binanceusdm/main', { left: 15, capacity: 20, perSecond: 10 }), {
      component: 'request budget',
      ready: true,
      reason: 'binanceusdm/main: 15 of 20 requests left, refills 10/s',
    });
    assert.match(
      requestBudgetComponent('x', { left: 4, capacity: 20, perSecond: 10 }).reason,
      /4 of 20 .*\(low\)/,
    );
    const spent = requestBudgetComponent('x', { left: 0, capacity: 20, perSecond: 10 });
    assert.equal(spent.ready, false);
    assert.match(spent.reason, /spent/);
  });
});
