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
import { canonicalJson, defaultWorldConfig, type SimExchange, SimWorld } from '@perpmesh/sim';
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

function worldFingerprint(seed: number): { events: number; sha256: string } {
  const startMs = Date.UTC(2026, 0, 1, 7, 50);
  const world = new SimWorld(defaultWorldConfig({ seed, startMs }));
  const hash = createHash('sha256');
  let events = 0;
  for (let i = 0; i <= STEPS; i++) {
    userCommands(world, i);
    for (const e of world.step(startMs + i * 1000)) {
      hash.update(`${canonicalJson(e)}\n`);
      events++;
    }
  }
  return { events, sha256: hash.digest('hex') };
}

for (const seed of [1, 42]) {
  const { events, sha256 } = worldFingerprint(seed);
  console.log(`world seed ${seed}, ${STEPS} steps: ${events} events sha256 ${sha256}`);
}

const result = await runBacktest(shippedArbBacktest(TAPE, 'SIM_FINGERPRINT_TAPE').options);
const summary = JSON.stringify(summaryJson(result));
console.log(`backtest ${TAPE}: ${summary}`);
console.log(
  `backtest equity sha256 ${createHash('sha256').update(canonicalJson(result.equity)).digest('hex')}`,
);
