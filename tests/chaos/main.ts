/**
 * `make chaos`: one long chaos run, printed as a table; exits 1 on a breach, naming the seed.
 *
 *   CHAOS_SEED (default: from the clock)  CHAOS_DURATION (s, default 180)  CHAOS_FAULTS (default 24)
 *   CHAOS_RECOVERY_BOUND (s, default 30)  CHAOS_LOAD_CLIENTS (default 2)
 *   CHAOS_TARGETS (comma list, default all: market-data,execution,account,strategy,nats-server,redis-server)
 *   CHAOS_STRATEGY=0 (no strategy service)
 *   CHAOS_VENUE_FAULTS (default 15, three of each kind; 0 = none): venue faults the proxy injects beside the process
 *     faults, and with any, a skewed clock per venue for the whole run
 *   CHAOS_VENUES=emulated (the Binance + Hyperliquid emulators of libs/emulators instead of the paper
 *     venues: the arb and the load clients on accounts of their own, the emulators' own fault
 *     injection and, with venue faults, their clock skewed; truth from the emulators)
 *   CHAOS_VENUE_FAULT_KINDS (comma list, default all: rate_limit,unavailable,accepted_timeout,
 *     stream_drop,book_gap)
 *   CHAOS_BREAK=resend (TEST SWITCH: execution replicas run tests/chaos/execution-resend-main.ts,
 *     which resends every load order on the no-nonce venue: the run must report a breach)
 */

import { VENUE_FAULT_KINDS, type VenueFaultKind } from '../e2e/venue-faults.js';
import { breakSwitch } from './break-switch.js';
import { formatReport, runChaos } from './chaos.js';
import { intEnv } from './env.js';
import { FAULT_TARGETS, type FaultTarget } from './invariants.js';
import { CHAOS_VENUE_KINDS, type ChaosVenueKind } from './system.js';

/** A comma list of names from `known` (all of them when unset). */
function listEnv<T extends string>(name: string, known: readonly T[]): T[] {
  const raw = process.env[name];
  if (!raw) return [...known];
  const list = raw.split(',').map((s) => s.trim());
  for (const t of list) {
    if (!(known as readonly string[]).includes(t)) {
      throw new Error(`${name}: unknown name ${JSON.stringify(t)} (one of ${known.join(', ')})`);
    }
  }
  return list as T[];
}

function venuesEnv(): ChaosVenueKind {
  const raw = process.env.CHAOS_VENUES ?? 'paper';
  if (!(CHAOS_VENUE_KINDS as readonly string[]).includes(raw))
    throw new Error(`CHAOS_VENUES: ${JSON.stringify(raw)} is none of ${CHAOS_VENUE_KINDS.join(', ')}`);
  return raw as ChaosVenueKind;
}

const seed = intEnv('CHAOS_SEED', Date.now() % 1_000_000);
const report = await runChaos({
  seed,
  durationMs: intEnv('CHAOS_DURATION', 180) * 1000,
  faults: intEnv('CHAOS_FAULTS', 24),
  recoveryBoundMs: intEnv('CHAOS_RECOVERY_BOUND', 30) * 1000,
  loadClients: intEnv('CHAOS_LOAD_CLIENTS', 2),
  targets: listEnv<FaultTarget>('CHAOS_TARGETS', FAULT_TARGETS),
  venueFaults: intEnv('CHAOS_VENUE_FAULTS', 15),
  venues: venuesEnv(),
  venueFaultKinds: listEnv<VenueFaultKind>('CHAOS_VENUE_FAULT_KINDS', VENUE_FAULT_KINDS),
  strategy: process.env.CHAOS_STRATEGY !== '0',
  ...breakSwitch(process.env.CHAOS_BREAK),
  log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
});
process.stdout.write(`${formatReport(report)}\n`);
if (report.breaches.length > 0) {
  process.stdout.write(
    `chaos: ${report.breaches.length} breach(es); reproduce with CHAOS_SEED=${seed} make chaos\n`,
  );
  process.exit(1);
}
process.stdout.write(`chaos: every invariant held (seed ${seed})\n`);
process.exit(0);
