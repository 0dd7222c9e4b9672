import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HealthRegistry } from '@perpmesh/runtime';
import { eventually } from '@perpmesh/testing';
import { STATE_STORE_COMPONENT, watchStateStore } from './store-readiness.js';

describe('watchStateStore', () => {
  test('not ready naming Redis while pings fail, ready again on the first answer', async () => {
    const health = new HealthRegistry();
    let answering = true;
    const store = {
      ping: async () => {
        if (!answering) throw new Error('redis ping failed: no answer within 500 ms (outcome unknown)');
      },
    };
    const stop = watchStateStore(store, health, 10);
    const status = () => health.component(STATE_STORE_COMPONENT);
    try {
      await eventually('ready after a ping', () => status()?.ready === true);
      answering = false;
      const down = await eventually('not ready while pings fail', () =>
        status()?.ready === false ? status() : undefined,
      );
      assert.match(String(down?.reason), /^Redis not answering: redis ping failed: no answer within 500 ms/);
      answering = true;
      await eventually('ready again', () => status()?.ready === true);
    } finally {
      await stop();
    }
  });
});
