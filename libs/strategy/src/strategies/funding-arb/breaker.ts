/**
 * The entry circuit breaker: after a configured drawdown of the realized net PnL of closed
 * arbs (from its peak), or a number of losing arbs in a row, no new arb is entered until
 * the operator resumes (`resume`). Open arbs keep being managed and exited.
 */
import { type Decimal, maxDec, ZERO } from '@perpmesh/core';
import type { FundingArbState } from './arb-book.js';
import type { ArbStep } from './arb-step.js';
import type { FundingArbConfig } from './config.js';

export type BreakerState = NonNullable<FundingArbState['breaker']>;

export function initialBreaker(): BreakerState {
  return { realizedNet: ZERO, peakNet: ZERO, consecutiveLosses: 0 };
}

/**
 * Folds one closed arb's net PnL into the breaker; returns the trip (reason and numbers)
 * when this close trips it. Pure: returns the next state.
 */
export function breakerAfterClose(
  breaker: BreakerState,
  config: Pick<FundingArbConfig, 'circuitBreaker'>,
  net: Decimal,
  nowMs: number,
): BreakerState {
  const realizedNet = breaker.realizedNet.plus(net);
  const peakNet = maxDec(breaker.peakNet, realizedNet);
  const consecutiveLosses = net.isNeg() ? breaker.consecutiveLosses + 1 : 0;
  const next: BreakerState = { ...breaker, realizedNet, peakNet, consecutiveLosses };
  if (breaker.tripped) return next;
  const drawdown = peakNet.minus(realizedNet);
  const { maxDrawdown, maxConsecutiveLosses } = config.circuitBreaker;
  if (maxDrawdown && drawdown.gte(maxDrawdown)) {
    return {
      ...next,
      tripped: {
        reasonCode: 'drawdown_breaker',
        message: `realized net PnL is ${drawdown.toFixed()} below its peak (limit ${maxDrawdown.toFixed()})`,
        atMs: nowMs,
      },
    };
  }
  if (maxConsecutiveLosses !== undefined && consecutiveLosses >= maxConsecutiveLosses) {
    return {
      ...next,
      tripped: {
        reasonCode: 'losing_streak_breaker',
        message: `${consecutiveLosses} losing arbs in a row (limit ${maxConsecutiveLosses})`,
        atMs: nowMs,
      },
    };
  }
  return next;
}

/** The breaker's numbers as decision inputs. */
export function breakerInputs(breaker: BreakerState): Record<string, string> {
  return {
    'breaker.realized_net': breaker.realizedNet.toFixed(),
    'breaker.peak_net': breaker.peakNet.toFixed(),
    'breaker.drawdown': breaker.peakNet.minus(breaker.realizedNet).toFixed(),
    'breaker.consecutive_losses': String(breaker.consecutiveLosses),
    'breaker.tripped': breaker.tripped?.reasonCode ?? '',
  };
}

/** Books a closed arb's net into the breaker; a trip is its own decision. */
export function recordClosedArb(step: ArbStep, net: Decimal): void {
  const before = step.strategy.breaker ?? initialBreaker();
  const after = breakerAfterClose(before, step.config, net, step.nowMs);
  step.strategy.breaker = after;
  if (after.tripped && !before.tripped) {
    step.decide({
      kind: 'signal',
      reasonCode: 'circuit_breaker_tripped',
      message: `entries paused: ${after.tripped.message}; the operator resumes them (resume)`,
      inputs: { ...breakerInputs(after), breaker_reason: after.tripped.reasonCode },
    });
  }
}

/** The operator's `resume` re-arms a tripped breaker: the drawdown and the losing streak start again from now. */
export function resetBreaker(step: ArbStep): void {
  const breaker = step.strategy.breaker;
  if (!breaker?.tripped) return;
  const reason = breaker.tripped.reasonCode;
  step.strategy.breaker = {
    realizedNet: breaker.realizedNet,
    peakNet: breaker.realizedNet,
    consecutiveLosses: 0,
  };
  step.decide({
    kind: 'signal',
    reasonCode: 'circuit_breaker_reset',
    message: `operator resume: entries allowed again (was ${reason})`,
    inputs: { ...breakerInputs(breaker), breaker_reason: reason },
  });
}
