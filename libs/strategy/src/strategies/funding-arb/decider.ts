/**
 * Cross-venue funding-rate arbitrage, as a pure decider.
 *
 * For each configured instrument, across the configured venues:
 * - each venue's rate is divided by THAT venue's interval (from its own funding input,
 *   never an assumed 8 h) to compare per hour;
 * - every ordered venue pair is costed and the best net one is chosen (entry.ts): carry =
 *   the settlements of each leg's venue that fall inside the holding window (from its next
 *   funding time and interval; the window is `holdingHorizonMs`, never longer than
 *   `maxHoldingMs`), minus entry AND exit taker fees of both legs (every arb order is IOC
 *   or market), minus slippage walked on the live books (carry.ts); break-even hours too;
 * - sizing: one base size, a multiple of both lots, within the target, the risk limit,
 *   what both books can fill, the per-venue and total caps, and the available balances
 *   (valued at the price risk will use; a balance that binds skips unless
 *   `sizeDownToBalance`); instruments are ranked by net carry, the best get capital first;
 * - entry when the net carry clears `entryThresholdBps` continuously for `persistenceMs`,
 *   on fresh data (venue timestamps) whose mark agrees with mid and index; both legs in one
 *   decision; a risk denial backs the instrument off (entry.ts);
 * - hedging or unwinding a lagging leg, and the exits (management.ts);
 * - at start, open orders and venue positions are reconciled with the arb book (adoption.ts);
 * - PnL attribution per arb (arb-book.ts), alarms one per incident (alarms.ts), and an
 *   entry circuit breaker the operator's `resume` re-arms (breaker.ts).
 *
 * The arb book (arb-book.ts) is part of the serialized state; restoring it and continuing
 * gives the same decisions.
 */
import { buildDecider, type StrategyState } from '../../engine.js';
import type { StrategyDecider, StrategyInput } from '../../model.js';
import { type FactResult, marketKey } from '../../world.js';
import { adoptAtStart } from './adoption.js';
import { updateAlarms } from './alarms.js';
import {
  activeArbs,
  type FundingArbState,
  fundingArbStateCodec,
  initialFundingArbState,
  legSize,
  recordFunding,
  recordLegOrder,
} from './arb-book.js';
import { reportSettlement } from './arb-report.js';
import type { ArbStep } from './arb-step.js';
import { resetBreaker } from './breaker.js';
import { settlementPayment } from './carry.js';
import type { FundingArbConfig } from './config.js';
import { considerNewArbs } from './entry.js';
import { arbExposures } from './exposures.js';
import { recordReading } from './funding-history.js';
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
  if (input.kind === 'funding' && step.config.venues.some((v) => v.venue === input.venue)) {
    const reading = step.world.funding[marketKey(input.venue, input.instrument)];
    const traded = arbExposures(step.config).some((e) => e.legs[input.venue] === input.instrument);
    if (reading && traded) {
      recordReading(step.strategy, input.venue, input.instrument, reading);
    }
  }
  if (input.kind === 'funding_payment' && fact.newFundingPayment) {
    // Predicted from the last reading before the payment: its rate and mark on the leg's size.
    const reading = step.world.funding[marketKey(input.venue, input.instrument)];
    const booked = recordFunding(step.strategy, input, (leg) =>
      reading?.markPrice
        ? {
            amount: settlementPayment(legSize(leg), reading.markPrice, reading.rate),
            rate: reading.rate,
            mark: reading.markPrice,
          }
        : undefined,
    );
    if (booked) reportSettlement(step, booked.arb, booked.leg);
  }
  if (input.kind === 'start') adoptAtStart(step, input);
  if (input.kind === 'operator' && input.action === 'resume') resetBreaker(step);
  for (const arb of activeArbs(step.strategy)) manageArb(step, arb);
  updateAlarms(step);
  considerNewArbs(step);
}
