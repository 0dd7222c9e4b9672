/**
 * The never-ready scenario in a loop: the chaos system on the paper venues (the arb trading),
 * and per iteration a kill -9 of redis-server then of the strategy at a planned point of the
 * strategy's life around the outage (redis-strategy.ts), then every service must answer
 * /readyz 200 within the bound. A service that does not is captured (its /readyz detail and
 * its log lines since its last start) and waited for up to the never-ready bound; one still
 * not ready then is "never ready": captured, restarted, and the loop goes on.
 *
 *   node --import tsx --conditions=@perpmesh/source tests/chaos/redis-strategy-main.ts
 *   REDIS_STRATEGY_SEED (default 15)  REDIS_STRATEGY_ITERATIONS (default 20)
 *   REDIS_STRATEGY_BOUND (s, default 30)  REDIS_STRATEGY_NEVER (s, default 120)
 *   REDIS_STRATEGY_OUT (file the captures are appended to; default stderr only)
 *
 * Exits 1 when any iteration was over the bound, naming the seed and the iteration.
 */
import { appendFileSync } from 'node:fs';
import { errorText, sleep } from '@perpmesh/core';
import type { ServiceProcess } from '../e2e/harness.js';
import { intEnv } from './env.js';
import { seededRandom } from './invariants.js';
import { type RedisStrategyStep, redisStrategySchedule } from './redis-strategy.js';
import { ChaosSystem } from './system.js';
import { inChaosTurn } from './turns.js';

const seed = intEnv('REDIS_STRATEGY_SEED', 15);
const iterations = intEnv('REDIS_STRATEGY_ITERATIONS', 20);
const boundMs = intEnv('REDIS_STRATEGY_BOUND', 30) * 1000;
const neverMs = intEnv('REDIS_STRATEGY_NEVER', 120) * 1000;
const out = process.env.REDIS_STRATEGY_OUT;

function log(line: string): void {
  const text = `${new Date().toISOString()} ${line}\n`;
  process.stderr.write(text);
  if (out) appendFileSync(out, text);
}

interface Outcome {
  step: RedisStrategyStep;
  /** From the last restart of the iteration to every service ready; undefined = never. */
  recoveryMs: number | undefined;
  /** Processes that exited on their own and were restarted meanwhile. */
  selfExits: string[];
}

/** Log lines of `p` since `from` (its start), one per line. */
function linesSince(p: ServiceProcess, from: number): string {
  return p.logs
    .slice(from)
    .map(
      (l) =>
        `  ${String(l.time ?? '')} ${String(l.level)} ${String(l.component ?? '')} ${String(l.msg)}${l.err ? ` err=${JSON.stringify(l.err)}` : ''}${l.reason ? ` reason=${JSON.stringify(l.reason)}` : ''}`,
    )
    .join('\n');
}

async function runIteration(
  system: ChaosSystem,
  index: number,
  step: RedisStrategyStep,
  logStart: Map<string, number>,
): Promise<Outcome> {
  const strategy = system.strategy as ServiceProcess;
  const t0 = Date.now();
  const at = async (offsetMs: number) => {
    const wait = t0 + offsetMs - Date.now();
    if (wait > 0) await sleep(wait);
  };
  log(
    `iteration ${index + 1} (${step.phase}): kill -9 redis-server; back at +${step.redisBackAtMs} ms; strategy killed at +${step.strategyKillAtMs} ms, down ${step.strategyDownMs} ms`,
  );
  await system.redis.kill9();
  let redisDown = true;
  const redisSeq = (async () => {
    await at(step.redisBackAtMs);
    await system.redis.start();
    redisDown = false;
  })();
  const strategySeq = (async () => {
    await at(step.strategyKillAtMs);
    await strategy.kill9();
    await at(step.strategyKillAtMs + step.strategyDownMs);
    logStart.set(strategy.label, strategy.logs.length);
    strategy.start();
    log(`  strategy started again at +${Date.now() - t0} ms (redis ${redisDown ? 'still down' : 'up'})`);
  })();
  await Promise.all([redisSeq, strategySeq]);
  const restartedAt = Date.now();
  const selfExits: string[] = [];
  const services = system.services().map((s) => s.process);
  let captured = false;
  for (;;) {
    const states = await Promise.all(
      services.map(async (p) => {
        if (!p.running) {
          // A supervisor restarts what exited on its own (e.g. a start while Redis was down).
          selfExits.push(p.label);
          logStart.set(p.label, p.logs.length);
          p.start();
          return { p, ready: false, body: undefined };
        }
        const r = await p.readyz();
        return { p, ready: r?.status === 200, body: r?.body };
      }),
    );
    const elapsed = Date.now() - restartedAt;
    if (states.every((s) => s.ready)) {
      if (captured) log(`  iteration ${index + 1}: ready after ${elapsed} ms (over the bound)`);
      return { step, recoveryMs: elapsed, selfExits };
    }
    if (elapsed > boundMs && !captured) {
      captured = true;
      for (const s of states.filter((x) => !x.ready)) {
        log(
          `  iteration ${index + 1}: ${s.p.label} not ready ${elapsed} ms after the restart; /readyz ${JSON.stringify(s.body)}\n  log lines since its start:\n${linesSince(s.p, logStart.get(s.p.label) ?? 0)}\n  stderr: ${s.p.stderr().slice(-2000)}`,
        );
      }
    }
    if (elapsed > neverMs) {
      for (const s of states.filter((x) => !x.ready)) {
        log(
          `  iteration ${index + 1}: NEVER READY ${s.p.label} (${neverMs} ms); /readyz ${JSON.stringify(s.body)}\n  log lines since its start:\n${linesSince(s.p, logStart.get(s.p.label) ?? 0)}`,
        );
        await s.p.kill9();
        logStart.set(s.p.label, s.p.logs.length);
        s.p.start();
      }
      await system.waitRecovered(neverMs).catch((err: unknown) => log(`  not recovered: ${errorText(err)}`));
      return { step, recoveryMs: undefined, selfExits };
    }
    await sleep(200);
  }
}

const outcomes: Outcome[] = [];
await inChaosTurn(async () => {
  const system = await ChaosSystem.create({ seed, compressedFunding: true });
  try {
    const started = Date.now();
    log(
      `seed ${seed}: starting the system under ${system.dir} (services ${system.compiled ? 'compiled' : 'from the sources'})`,
    );
    await system.start();
    log(`system ready in ${Date.now() - started} ms; ${iterations} iterations, bound ${boundMs} ms`);
    const logStart = new Map<string, number>();
    const pause = seededRandom(seed ^ 0xbeef);
    for (const [i, step] of redisStrategySchedule(seed, iterations).entries()) {
      // A seeded pause between iterations: the kills land at different points of the arb's cycle.
      await sleep(1_000 + Math.round(pause() * 4_000));
      const outcome = await runIteration(system, i, step, logStart);
      outcomes.push(outcome);
      log(
        `  iteration ${i + 1}: ${outcome.recoveryMs === undefined ? 'NEVER READY' : `ready in ${outcome.recoveryMs} ms`}${outcome.selfExits.length > 0 ? `; restarted after exiting on their own: ${outcome.selfExits.join(', ')}` : ''}`,
      );
    }
  } finally {
    await system.close();
  }
});

const over = outcomes.filter((o) => o.recoveryMs === undefined || o.recoveryMs > boundMs);
const times = outcomes
  .flatMap((o) => (o.recoveryMs === undefined ? [] : [o.recoveryMs]))
  .sort((a, b) => a - b);
const byPhase = new Map<string, number[]>();
for (const o of outcomes)
  byPhase.set(o.step.phase, [...(byPhase.get(o.step.phase) ?? []), o.recoveryMs ?? -1]);
log(
  `seed ${seed}: ${outcomes.length} iterations, recovery p50 ${times[Math.floor(times.length / 2)] ?? '-'} ms, max ${times.at(-1) ?? '-'} ms, over the bound ${over.length}, never ready ${outcomes.filter((o) => o.recoveryMs === undefined).length}`,
);
for (const [phase, ms] of byPhase) log(`  ${phase}: ${ms.join(', ')} ms`);
if (over.length > 0) {
  log(
    `over the bound: iterations ${over.map((o) => outcomes.indexOf(o) + 1).join(', ')}; reproduce with REDIS_STRATEGY_SEED=${seed} REDIS_STRATEGY_ITERATIONS=${iterations}`,
  );
  process.exit(1);
}
process.exit(0);
