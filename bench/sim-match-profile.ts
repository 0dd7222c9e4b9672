/**
 * bench/sim.bench.ts's order flow in ticks and lots with no account observed, alone, for a CPU
 * profile of the order path (`--cpu-prof`) and a quick per-CPU-second figure:
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx --conditions=@perpmesh/source bench/sim-match-profile.ts
 *   node bench/profile-summary.mjs /tmp/prof/*.cpuprofile
 * SIM_PROFILE_PAIRS (default 200000). No assertions.
 */
import { loadavg } from 'node:os';
import * as sim from '@perpmesh/sim';
import { matchFixedUnobserved } from './sim-flow.js';

const pairs = Number(process.env.SIM_PROFILE_PAIRS ?? 200_000);
matchFixedUnobserved(sim, 2_000);
const start = process.cpuUsage();
matchFixedUnobserved(sim, pairs);
const used = process.cpuUsage(start);
const ms = (used.user + used.system) / 1000;
console.log(
  `orders matched, no account observed, ticks and lots: ${Math.round(((pairs * 1.5) / ms) * 1000).toLocaleString('en-US')} per CPU-second (load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')})`,
);
