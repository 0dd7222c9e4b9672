/**
 * The never-ready finding of session 4, as a focused scenario: kill -9 of redis-server, then
 * kill -9 of the strategy, at chosen points of the strategy's life around the outage. Pure:
 * the plan of one iteration per (phase, seeded jitter); the runner is redis-strategy-main.ts.
 */
import { seededRandom } from './invariants.js';

/** Where in the strategy's life around the Redis outage its kill -9 lands. */
export const STRATEGY_KILL_PHASES = [
  /** Redis still down: the strategy's store commands wait in ioredis' offline queue. */
  'during-outage',
  /** Just after redis-server listens again: the strategy's connection is reconnecting. */
  'redis-back',
  /** About one renew interval after Redis is back: its lease pass (renewal) is in flight. */
  'lease-renewal',
  /**
   * Redis down for longer than the lease TTL: the strategy stood down (work stopped); killed
   * while it takes the lease again and reopens its tails (becomeActive).
   */
  'reactivating',
] as const;
export type StrategyKillPhase = (typeof STRATEGY_KILL_PHASES)[number];

/** One iteration: offsets from the kill -9 of redis-server, ms. */
export interface RedisStrategyStep {
  phase: StrategyKillPhase;
  /** When redis-server starts again. */
  redisBackAtMs: number;
  /** When the strategy is killed -9 (before or after `redisBackAtMs`). */
  strategyKillAtMs: number;
  /** How long the strategy stays down before it starts again. */
  strategyDownMs: number;
}

/** The chaos config's strategy lease: 3 s TTL, renewed every 1 s (tests/chaos/system.ts). */
export const LEASE_TTL_MS = 3_000;
export const LEASE_RENEW_MS = 1_000;

/**
 * `iterations` steps cycling through the phases, each gap jittered from `seed` (same seed,
 * same plan), so a loop covers each phase at several timings.
 */
export function redisStrategySchedule(seed: number, iterations: number): RedisStrategyStep[] {
  const random = seededRandom(seed);
  const between = (lo: number, hi: number) => Math.round(lo + random() * (hi - lo));
  const steps: RedisStrategyStep[] = [];
  for (let i = 0; i < iterations; i++) {
    const phase = STRATEGY_KILL_PHASES[i % STRATEGY_KILL_PHASES.length] as StrategyKillPhase;
    const strategyDownMs = between(200, 1_500);
    if (phase === 'during-outage') {
      const redisBackAtMs = between(1_000, 2_500);
      steps.push({
        phase,
        redisBackAtMs,
        strategyKillAtMs: between(100, redisBackAtMs - 200),
        strategyDownMs,
      });
    } else if (phase === 'redis-back') {
      const redisBackAtMs = between(200, 1_500);
      steps.push({ phase, redisBackAtMs, strategyKillAtMs: redisBackAtMs + between(0, 300), strategyDownMs });
    } else if (phase === 'lease-renewal') {
      const redisBackAtMs = between(200, 1_500);
      const strategyKillAtMs = redisBackAtMs + between(LEASE_RENEW_MS - 300, LEASE_RENEW_MS + 700);
      steps.push({ phase, redisBackAtMs, strategyKillAtMs, strategyDownMs });
    } else {
      const redisBackAtMs = between(LEASE_TTL_MS + 500, LEASE_TTL_MS + 2_000);
      const strategyKillAtMs = redisBackAtMs + between(300, 2_500);
      steps.push({ phase, redisBackAtMs, strategyKillAtMs, strategyDownMs });
    }
  }
  return steps;
}
