/**
 * libs/sim before and after a change, in ONE process, interleaved round by round: on a
 * shared machine two runs one after the other measure the neighbours as much as the code.
 * The "before" tree is libs/sim at SIM_BEFORE (a commit), unpacked under node_modules so
 * it resolves the same @perpmesh/core; both run the same world and the same order flow as
 * bench/sim.bench.ts (the order flow with every account observed and with none, and that in
 * ticks and lots: bench/sim-flow.ts). CPU time
 * of this process (process.cpuUsage); no assertions.
 *   SIM_BEFORE=<commit> node --import tsx --conditions=@perpmesh/source bench/sim-ab.ts
 * SIM_AB_ROUNDS (default 3), SIM_AB_STEPS (world steps per round, default 600, after 600
 * steps of warm-up so the closed-order history is full), SIM_AB_PAIRS (default 4000).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as after from '@perpmesh/sim';
import { matchFixedUnobserved } from './sim-flow.js';

type Sim = typeof after;

const commit = process.env.SIM_BEFORE;
if (commit === undefined || !/^[0-9a-f]{7,40}$/.test(commit)) {
  throw new Error('SIM_BEFORE: the commit to compare with (7-40 hex digits)');
}
const rounds = Number(process.env.SIM_AB_ROUNDS ?? 3);
const steps = Number(process.env.SIM_AB_STEPS ?? 600);
const pairs = Number(process.env.SIM_AB_PAIRS ?? 4000);

const root = new URL('..', import.meta.url).pathname;
const dir = `${root}node_modules/.sim-before/${commit}`;
if (!existsSync(`${dir}/libs/sim/src/index.ts`)) {
  mkdirSync(dir, { recursive: true });
  const archive = execFileSync('git', ['-C', root, 'archive', commit, 'libs/sim/src'], {
    maxBuffer: 64 * 1024 * 1024,
  });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  writeFileSync(`${dir}/libs/sim/package.json`, '{ "type": "module" }\n');
}
const before = (await import(`${dir}/libs/sim/src/index.ts`)) as Sim;

function cpuMs(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/** `quiet`: no account observed (a tree before session 5 has no such option: it builds every event). */
function worldSteps(sim: Sim, quiet = false): number {
  const startMs = Date.UTC(2026, 0, 1);
  const world = new sim.SimWorld({
    ...sim.defaultWorldConfig({ seed: 1, startMs }),
    ...(quiet ? { observeAccount: () => false } : {}),
  });
  for (let i = 0; i <= 600; i++) world.step(startMs + i * 1000);
  return cpuMs(() => {
    for (let i = 601; i <= 600 + steps; i++) world.step(startMs + i * 1000);
  });
}

/**
 * bench/sim.bench.ts's order flow: a resting sell taken by a market buy, and every other pair
 * the other way; `quiet`: no account observed (the hub's and a backtest's accounts).
 */
function matchOrders(sim: Sim, n: number, quiet = false): number {
  const ex = new sim.SimExchange(sim.venuePreset('paper'), quiet ? { observeAccount: () => false } : {});
  const instrumentId = 'BTC-USDC-PERP';
  ex.setPrices(instrumentId, { markPrice: '50000', indexPrice: '50000' });
  ex.deposit('maker', '1000000000');
  ex.deposit('taker', '1000000000');
  return cpuMs(() => {
    for (let i = 0; i < n; i++) {
      ex.placeOrder({
        accountId: 'maker',
        instrumentId,
        side: 'sell',
        type: 'limit',
        price: '50000',
        size: '0.01',
      });
      ex.placeOrder({ accountId: 'taker', instrumentId, side: 'buy', type: 'market', size: '0.01' });
      if (i % 2 === 1) {
        ex.placeOrder({
          accountId: 'taker',
          instrumentId,
          side: 'sell',
          type: 'limit',
          price: '50000',
          size: '0.02',
        });
        ex.placeOrder({ accountId: 'maker', instrumentId, side: 'buy', type: 'market', size: '0.02' });
      }
      if (i % 256 === 0) ex.drainEvents();
    }
  });
}

matchOrders(before, 500);
matchOrders(after, 500);
matchFixedUnobserved(before, 500);
matchFixedUnobserved(after, 500);
const ms = {
  worldBefore: [] as number[],
  worldAfter: [] as number[],
  worldAfterQuiet: [] as number[],
  worldBeforeQuiet: [] as number[],
  matchBefore: [] as number[],
  matchAfter: [] as number[],
  matchBeforeQuiet: [] as number[],
  matchAfterQuiet: [] as number[],
  fixedBefore: [] as number[],
  fixedAfter: [] as number[],
};
// Which tree runs first alternates by round: the first of a pair measured slower or faster
// by itself on this machine (the order moved a comparison of identical trees by ~10 %).
for (let r = 0; r < rounds; r++) {
  const pair = [
    () => {
      ms.worldBefore.push(worldSteps(before));
      ms.worldBeforeQuiet.push(worldSteps(before, true));
      ms.matchBefore.push(matchOrders(before, pairs));
      ms.matchBeforeQuiet.push(matchOrders(before, pairs, true));
      ms.fixedBefore.push(cpuMs(() => matchFixedUnobserved(before, pairs)));
    },
    () => {
      ms.worldAfter.push(worldSteps(after));
      ms.worldAfterQuiet.push(worldSteps(after, true));
      ms.matchAfter.push(matchOrders(after, pairs));
      ms.matchAfterQuiet.push(matchOrders(after, pairs, true));
      ms.fixedAfter.push(cpuMs(() => matchFixedUnobserved(after, pairs)));
    },
  ];
  if (r % 2 === 1) pair.reverse();
  for (const run of pair) run();
}
const rates = (count: number, list: number[]) => {
  const each = list.map((m) => Math.round((count / m) * 1000));
  const median = [...each].sort((a, b) => a - b)[Math.floor(each.length / 2)] as number;
  return `${each.map((n) => n.toLocaleString('en-US')).join(' / ')} (median ${median.toLocaleString('en-US')})`;
};
console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}; before = ${commit}`,
);
console.log(
  `world steps per CPU-second     before ${rates(steps, ms.worldBefore)}   after ${rates(steps, ms.worldAfter)}`,
);
console.log(
  `  no account observed          before ${rates(steps, ms.worldBeforeQuiet)}   after ${rates(steps, ms.worldAfterQuiet)}`,
);
console.log(
  `orders matched per CPU-second  before ${rates(pairs * 1.5, ms.matchBefore)}   after ${rates(pairs * 1.5, ms.matchAfter)}`,
);
console.log(
  `  no account observed          before ${rates(pairs * 1.5, ms.matchBeforeQuiet)}   after ${rates(pairs * 1.5, ms.matchAfterQuiet)}`,
);
console.log(
  `  and in ticks and lots         before ${rates(pairs * 1.5, ms.fixedBefore)}   after ${rates(pairs * 1.5, ms.fixedAfter)}`,
);
