/**
 * The simulator's output fingerprint, for changes that must not change it (speed work):
 * the SHA-256 of every event (`canonicalJson`, one per line) of SimWorld steps, a user's
 * orders of every kind among them, and the funding arb's backtest summary over synthetic
 * tape (exact decimals). Run it on the tree before and after a change; the lines must be
 * identical.
 *   node --import tsx --conditions=@perpmesh/source bench/sim-fingerprint.ts
 * SIM_FINGERPRINT_STEPS (default 1200) and SIM_FINGERPRINT_TAPE (default synthetic:7:65m).
 */
import { createHash } from 'node:crypto';
import {
  canonicalJson,
  defaultWorldConfig,
  isUserEvent,
  observeOnly,
  type SimEvent,
  type SimExchange,
  SimWorld,
} from '@perpmesh/sim';
import { summaryJson } from '../libs/cli/src/backtest/command.js';
import { runBacktest } from '../libs/cli/src/backtest/engine.js';
import { shippedArbBacktest } from './shipped-arb-backtest.js';

const STEPS = Number(process.env.SIM_FINGERPRINT_STEPS ?? 1200);
const TAPE = process.env.SIM_FINGERPRINT_TAPE ?? 'synthetic:7:65m';
const BTC = 'BTC-USDC-PERP';
const ETH = 'ETH-USDC-PERP';

/** A limit buy at the venue's mark x `factor`, rounded to `decimals` (once there is a mark). */
function limitNearMark(
  venue: SimExchange,
  instrumentId: string,
  factor: string,
  decimals: number,
  fields: { size: string; timeInForce?: 'gtc' | 'ioc'; clientOrderId?: string },
): void {
  const mark = venue.markPrice(instrumentId);
  if (mark === undefined) return;
  const price = mark.mul(factor).toDecimalPlaces(decimals).toFixed();
  venue.placeOrder({ accountId: 'user', instrumentId, side: 'buy', type: 'limit', price, ...fields });
}

/** A user's commands at fixed steps: market, limit (resting and crossing), reduce-only, cancels, leverage, withdraw. */
function userCommands(world: SimWorld, step: number): void {
  const paper = world.exchange('paper');
  const lighter = world.exchange('paper-lighter');
  if (step === 0) {
    paper.deposit('user', '100000');
    lighter.deposit('user', '50000');
  }
  if (step === 10)
    paper.placeOrder({ accountId: 'user', instrumentId: BTC, side: 'buy', type: 'market', size: '0.05' });
  if (step === 20)
    paper.placeOrder({ accountId: 'user', instrumentId: ETH, side: 'sell', type: 'market', size: '1' });
  if (step === 30) limitNearMark(paper, BTC, '0.999', 1, { size: '0.02', clientOrderId: 'rest-1' });
  if (step === 40) paper.setLeverage({ accountId: 'user', instrumentId: BTC, leverage: 5 });
  if (step === 50)
    paper.placeOrder({
      accountId: 'user',
      instrumentId: BTC,
      side: 'sell',
      type: 'market',
      size: '0.03',
      reduceOnly: true,
    });
  if (step === 60) paper.cancelOrder({ accountId: 'user', clientOrderId: 'rest-1' });
  if (step === 70) paper.withdraw('user', '1000');
  if (step === 80)
    lighter.placeOrder({
      accountId: 'user',
      instrumentId: ETH,
      side: 'buy',
      type: 'market',
      size: '2',
      apiKey: 'u',
      nonce: 1,
    });
  if (step === 90) limitNearMark(paper, ETH, '1.001', 2, { size: '0.5', timeInForce: 'ioc' });
  if (step === 100)
    paper.placeOrder({
      accountId: 'user',
      instrumentId: BTC,
      side: 'buy',
      type: 'market',
      timeInForce: 'fok',
      size: '3',
    });
  if (step === 110) paper.cancelAllOrders({ accountId: 'user' });
}

interface Fingerprint {
  readonly events: number;
  readonly sha256: string;
}

/**
 * The tape's fingerprint, and that of its part an observer of the user's account sees
 * (market events and the user's own): `observeUser` runs the world with only the user
 * observed (`observeOnly`), so its whole tape must be that part.
 */
function worldFingerprint(seed: number, observeUser: boolean): { all: Fingerprint; user: Fingerprint } {
  const startMs = Date.UTC(2026, 0, 1, 7, 50);
  const world = new SimWorld({
    ...defaultWorldConfig({ seed, startMs }),
    ...(observeUser ? { observeAccount: observeOnly(['user']) } : {}),
  });
  const all = createHash('sha256');
  const user = createHash('sha256');
  let events = 0;
  let userEvents = 0;
  const seen = (e: SimEvent) => !isUserEvent(e) || e.accountId === 'user';
  for (let i = 0; i <= STEPS; i++) {
    userCommands(world, i);
    for (const e of world.step(startMs + i * 1000)) {
      const line = `${canonicalJson(e)}\n`;
      all.update(line);
      events++;
      if (seen(e)) {
        user.update(line);
        userEvents++;
      }
    }
  }
  return {
    all: { events, sha256: all.digest('hex') },
    user: { events: userEvents, sha256: user.digest('hex') },
  };
}

for (const seed of [1, 42]) {
  const { all, user } = worldFingerprint(seed, false);
  console.log(`world seed ${seed}, ${STEPS} steps: ${all.events} events sha256 ${all.sha256}`);
  const observed = worldFingerprint(seed, true);
  const same = observed.all.sha256 === user.sha256 && observed.user.sha256 === user.sha256;
  console.log(
    `  the user's view: ${user.events} events sha256 ${user.sha256}; ` +
      `observing only the user: ${observed.all.events} events ${same ? 'identical' : `DIFFERENT sha256 ${observed.all.sha256}`}`,
  );
  if (!same) process.exitCode = 1;
}

const result = await runBacktest(shippedArbBacktest(TAPE, 'SIM_FINGERPRINT_TAPE').options);
const summary = JSON.stringify(summaryJson(result));
console.log(`backtest ${TAPE}: ${summary}`);
console.log(
  `backtest equity sha256 ${createHash('sha256').update(canonicalJson(result.equity)).digest('hex')}`,
);
