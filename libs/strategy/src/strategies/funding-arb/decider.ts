/**
 * Cross-venue funding-rate arbitrage, as a pure decider.
 *
 * For each configured instrument, across the configured venues:
 * - each venue's rate is divided by THAT venue's interval (from its own funding input,
 *   never an assumed 8 h) to compare per hour;
 * - the pair is: short where the per-hour rate is highest, long where it is lowest;
 * - expected carry over `holdingHorizonMs` = (rate_short/h x mark_short - rate_long/h x
 *   mark_long) x hours x size, minus entry AND exit fees of both legs, minus slippage of
 *   both legs walked on the live books for the intended size, entry and exit (carry.ts);
 * - entry when the net carry clears `entryThresholdBps` of the notional continuously for
 *   `persistenceMs`; both legs the same base size, a multiple of both venues' lots, sized
 *   to `targetNotionalPerLeg`, the available balances and the risk limits, placed in one
 *   decision (risk checks both before either is sent) (entry.ts);
 * - hedging or unwinding a lagging leg, and the exits (management.ts);
 * - at start, open orders and venue positions are adopted into the arb book (adoption.ts).
 *
 * The arb book (arb-book.ts) is part of the serialized state; restoring it and continuing
 * gives the same decisions.
 */
import { buildDecider, type StrategyState } from '../../engine.js';
import type { StrategyDecider, StrategyInput } from '../../model.js';
import type { FactResult } from '../../world.js';
import { adoptAtStart } from './adoption.js';
import { updateAlarms } from './alarms.js';
import {
  activeArbs,
  type FundingArbState,
  fundingArbStateCodec,
  initialFundingArbState,
  recordFunding,
  recordLegOrder,
} from './arb-book.js';
import type { ArbStep } from './arb-step.js';
import { resetBreaker } from './breaker.js';
import type { FundingArbConfig } from './config.js';
import { considerNewArbs } from './entry.js';
import { manageArb, startExit } from './management.js';

export function fundingArbDecider(config: FundingArbConfig): StrategyDecider<StrategyState<FundingArbState>> {
  return buildDecider(config, {
    kind: 'funding_arb',
    strategyCodec: fundingArbStateCodec,
    initialStrategyState: initialFundingArbState,
    react,
    closeAll: (step) => {
      for (const arb of activeArbs(step.strategy)) {
        if (arb.phase === 'exiting' || arb.phase === 'closed') continue;
        startExit(step, arb, 'operator_close_all', {});
      }
    },
  });
}

function react(step: ArbStep, input: StrategyInput, fact: FactResult): void {
  if (fact.order?.group !== undefined) recordLegOrder(step.strategy, fact.order, fact.newFill);
  if (input.kind === 'funding_payment' && fact.newFundingPayment) recordFunding(step.strategy, input);
  if (input.kind === 'start') adoptAtStart(step, input);
  if (input.kind === 'operator' && input.action === 'resume') resetBreaker(step);
  for (const arb of activeArbs(step.strategy)) manageArb(step, arb);
  updateAlarms(step);
  considerNewArbs(step);
}
