/**
 * A venue's order rules for one instrument (tick, lot, minimum size, minimum notional),
 * checked by ONE function that execution (before the venue call), the simulated exchange
 * (as the venue) and pre-trade risk (before a decision) all call, so the three can never
 * disagree on what a valid order is. Each caller maps a violation to its own error form.
 */
import { type Decimal, isMultipleOf } from './decimal.js';

export interface MarketRules {
  readonly tickSize: Decimal;
  readonly lotSize: Decimal;
  readonly minSize: Decimal;
  readonly minNotional: Decimal;
}

export type MarketRule = 'tick' | 'lot' | 'min_size' | 'min_notional';

export interface MarketRuleViolation {
  readonly rule: MarketRule;
  /** The order field at fault. */
  readonly field: 'price' | 'size';
  /** Names the value and the rule, e.g. `0.0005 is not a multiple of the lot size 0.001`. */
  readonly message: string;
}

export interface OrderForRules {
  readonly size: Decimal;
  /** The limit price; undefined for market orders. */
  readonly price?: Decimal | undefined;
  /**
   * The price to value a market order at (mark, book); the limit price wins when set.
   * Without either, the minimum notional is not checked (the venue, knowing its mark, does).
   */
  readonly referencePrice?: Decimal | undefined;
}

export interface MarketRuleOptions {
  /**
   * Skip the minimum size and notional (venues let a reduce-only order close a position
   * smaller than the minimum). Default false.
   */
  readonly skipMinimums?: boolean;
}

/**
 * The first rule `order` breaks, in the order lot, minimum size, tick, minimum notional;
 * undefined when it keeps them all. A zero (or negative) step or minimum is "no rule".
 */
export function marketRuleViolation(
  order: OrderForRules,
  rules: MarketRules,
  options: MarketRuleOptions = {},
): MarketRuleViolation | undefined {
  const { size, price } = order;
  if (rules.lotSize.gt(0) && !isMultipleOf(size, rules.lotSize)) {
    return {
      rule: 'lot',
      field: 'size',
      message: `${size.toFixed()} is not a multiple of the lot size ${rules.lotSize.toFixed()}`,
    };
  }
  if (!options.skipMinimums && rules.minSize.gt(0) && size.lt(rules.minSize)) {
    return {
      rule: 'min_size',
      field: 'size',
      message: `${size.toFixed()} is below the minimum size ${rules.minSize.toFixed()}`,
    };
  }
  if (price !== undefined && rules.tickSize.gt(0) && !isMultipleOf(price, rules.tickSize)) {
    return {
      rule: 'tick',
      field: 'price',
      message: `${price.toFixed()} is not a multiple of the tick size ${rules.tickSize.toFixed()}`,
    };
  }
  const valueAt = price ?? order.referencePrice;
  if (!options.skipMinimums && valueAt !== undefined && rules.minNotional.gt(0)) {
    const notional = size.mul(valueAt);
    if (notional.lt(rules.minNotional)) {
      return {
        rule: 'min_notional',
        field: 'size',
        message: `notional ${notional.toFixed()} (size ${size.toFixed()} x price ${valueAt.toFixed()}) is below the minimum ${rules.minNotional.toFixed()}`,
      };
    }
  }
  return undefined;
}
