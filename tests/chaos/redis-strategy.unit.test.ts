import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  LEASE_RENEW_MS,
  LEASE_TTL_MS,
  redisStrategySchedule,
  STRATEGY_KILL_PHASES,
} from './redis-strategy.js';

test('the redis-then-strategy plan: same seed, same plan; every phase in turn', () => {
  const plan = redisStrategySchedule(16, 24);
  assert.deepEqual(redisStrategySchedule(16, 24), plan);
  assert.notDeepEqual(redisStrategySchedule(17, 24), plan);
  assert.equal(plan.length, 24);
  assert.deepEqual(
    plan.slice(0, 8).map((s) => s.phase),
    [...STRATEGY_KILL_PHASES, ...STRATEGY_KILL_PHASES],
  );
});

test('each phase kills the strategy where its name says, relative to the Redis outage', () => {
  for (const step of redisStrategySchedule(3, 400)) {
    const sinceBack = step.strategyKillAtMs - step.redisBackAtMs;
    assert.ok(step.strategyDownMs >= 200 && step.strategyDownMs <= 1_500, JSON.stringify(step));
    if (step.phase === 'during-outage') {
      assert.ok(step.strategyKillAtMs > 0 && sinceBack < 0, JSON.stringify(step));
    } else if (step.phase === 'redis-back') {
      assert.ok(sinceBack >= 0 && sinceBack <= 300, JSON.stringify(step));
    } else if (step.phase === 'lease-renewal') {
      assert.ok(sinceBack >= LEASE_RENEW_MS - 300 && sinceBack <= LEASE_RENEW_MS + 700, JSON.stringify(step));
      assert.ok(step.redisBackAtMs < LEASE_TTL_MS, `the lease outlives the outage: ${JSON.stringify(step)}`);
    } else {
      assert.ok(step.redisBackAtMs > LEASE_TTL_MS, `the lease lapses in the outage: ${JSON.stringify(step)}`);
      assert.ok(sinceBack > 0, JSON.stringify(step));
    }
  }
});
