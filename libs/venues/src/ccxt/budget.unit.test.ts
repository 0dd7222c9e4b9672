import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimitedError } from '../errors.js';
import { RequestBudget } from './budget.js';

test('the request budget spends its burst, then paces, then refuses a wait past maxWaitMs', () => {
  let now = 0;
  const budget = new RequestBudget('v', { capacity: 2, perSecond: 1, maxWaitMs: 1500 }, () => now);
  assert.equal(budget.reserve(), 0);
  assert.equal(budget.reserve(), 0);
  assert.equal(budget.reserve(), 1000);
  assert.throws(
    () => budget.reserve(),
    (err: unknown) => err instanceof RateLimitedError && err.retryAfterMs === 2000,
  );
  now = 3000;
  assert.equal(budget.reserve(), 0);
});

test('a budget without capacity or refill is a config error', () => {
  assert.throws(() => new RequestBudget('v', { capacity: 0, perSecond: 1, maxWaitMs: 1 }), RangeError);
});

test('available() tells what is free now without taking a token', () => {
  let now = 0;
  const budget = new RequestBudget('v', { capacity: 4, perSecond: 2, maxWaitMs: 1500 }, () => now);
  assert.equal(budget.available(), 4);
  budget.reserve();
  budget.reserve();
  budget.reserve();
  assert.equal(budget.available(), 1);
  assert.equal(budget.available(), 1);
  now = 1000;
  assert.equal(budget.available(), 3);
});
