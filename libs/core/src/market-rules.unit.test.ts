import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dec as D } from './decimal.js';
import { type MarketRules, marketRuleViolation } from './market-rules.js';

const rules: MarketRules = {
  tickSize: D('0.1'),
  lotSize: D('0.001'),
  minSize: D('0.002'),
  minNotional: D('10'),
};

describe('marketRuleViolation', () => {
  it('accepts an order that keeps every rule', () => {
    assert.equal(marketRuleViolation({ size: D('0.01'), price: D('50000.1') }, rules), undefined);
  });

  it('names the lot, with the size as the field', () => {
    const v = marketRuleViolation({ size: D('0.0025'), price: D('50000') }, rules);
    assert.deepEqual([v?.rule, v?.field], ['lot', 'size']);
    assert.match(v?.message ?? '', /0\.0025 is not a multiple of the lot size 0\.001/);
  });

  it('names the minimum size before the tick', () => {
    const v = marketRuleViolation({ size: D('0.001'), price: D('50000.05') }, rules);
    assert.equal(v?.rule, 'min_size');
  });

  it('names the tick, with the price as the field', () => {
    const v = marketRuleViolation({ size: D('0.01'), price: D('50000.05') }, rules);
    assert.deepEqual([v?.rule, v?.field], ['tick', 'price']);
  });

  it('values a market order at its reference price, and skips the notional without one', () => {
    assert.equal(
      marketRuleViolation({ size: D('0.002'), referencePrice: D('4000') }, rules)?.rule,
      'min_notional',
    );
    assert.equal(marketRuleViolation({ size: D('0.002') }, rules), undefined);
  });

  it('the limit price wins over the reference price for the notional', () => {
    assert.equal(
      marketRuleViolation({ size: D('0.002'), price: D('6000'), referencePrice: D('4000') }, rules),
      undefined,
    );
  });

  it('skipMinimums keeps lot and tick but not the minimums (reduce-only closes)', () => {
    assert.equal(
      marketRuleViolation({ size: D('0.001'), price: D('100') }, rules, { skipMinimums: true }),
      undefined,
    );
    assert.equal(
      marketRuleViolation({ size: D('0.0015'), price: D('100') }, rules, { skipMinimums: true })?.rule,
      'lot',
    );
  });

  it('a zero step or minimum is no rule', () => {
    const none: MarketRules = { tickSize: D(0), lotSize: D(0), minSize: D(0), minNotional: D(0) };
    assert.equal(marketRuleViolation({ size: D('0.000001'), price: D('1.23456') }, none), undefined);
  });
});
