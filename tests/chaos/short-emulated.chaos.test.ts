/**
 * The short chaos run on the venue emulators inside `make test`, beside the paper one
 * (short.chaos.test.ts): the whole distributed system trading through the real venue
 * adapters (ccxt) against the Binance and Hyperliquid emulators, whose clock is skewed
 * (`EMULATED_SHORT_SEED`'s skew is behind ours by more than Binance's 1 s allowance: a
 * signed request stamped with our clock is refused unless the adapter syncs its clock), two
 * load clients placing and canceling on both venues through both execution replicas, the
 * arb on its own account, and a few seeded faults; every invariant must hold. Bounded: the
 * emulated start alone takes most of a minute on a busy machine, so the faults are few.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReport, runChaos } from './chaos.js';
import { inChaosTurn } from './turns.js';

/** Its process faults: kill -9 of strategy and an execution replica at once, then of account; its skew: -1443 ms. */
export const EMULATED_SHORT_SEED = 22;
/** A lost answer of an accepted order and a websocket drop (the emulators' own fault injection). */
export const EMULATED_SHORT_VENUE_FAULT_KINDS = ['accepted_timeout', 'stream_drop'] as const;
const FAULTS = 2;
const DURATION_MS = 20_000;
/**
 * A service on the emulators restarts through the real venue adapters (ccxt loads in each):
 * 19-54 s at load average 28-36 on the shared 2-core machine (docs/reliability.md).
 */
const RECOVERY_BOUND_MS = 90_000;

test(`short chaos run on the emulators (seed ${EMULATED_SHORT_SEED}): every invariant holds`, async (t) => {
  // One chaos run of the tier at a time (turns.ts).
  const report = await inChaosTurn(() =>
    runChaos({
      seed: EMULATED_SHORT_SEED,
      venues: 'emulated',
      durationMs: DURATION_MS,
      faults: FAULTS,
      recoveryBoundMs: RECOVERY_BOUND_MS,
      loadClients: 2,
      venueFaults: EMULATED_SHORT_VENUE_FAULT_KINDS.length,
      venueFaultKinds: EMULATED_SHORT_VENUE_FAULT_KINDS,
    }),
  );
  const table = formatReport(report);
  t.diagnostic(table);
  assert.ok(report.stats.loadAcked > 0, `no load order was acknowledged\n${table}`);
  assert.ok(
    Object.values(report.venueClockSkewMs).every((ms) => ms < -1000),
    `the emulators' clock is not behind by more than 1 s\n${table}`,
  );
  assert.equal(report.recoveries.filter((r) => !r.fault.startsWith('venue ')).length, FAULTS, table);
  for (const [venue, fills] of report.stats.arbLegFills)
    assert.ok(fills > 0, `no arb leg filled on ${venue}\n${table}`);
  assert.deepEqual(
    report.breaches.map((b) => `${b.invariant}: ${b.detail}`),
    [],
    `breaches; reproduce with CHAOS_VENUES=emulated CHAOS_SEED=${EMULATED_SHORT_SEED} CHAOS_DURATION=${DURATION_MS / 1000} CHAOS_FAULTS=${FAULTS} CHAOS_VENUE_FAULTS=${EMULATED_SHORT_VENUE_FAULT_KINDS.length} CHAOS_VENUE_FAULT_KINDS=${EMULATED_SHORT_VENUE_FAULT_KINDS.join(',')} CHAOS_RECOVERY_BOUND=${RECOVERY_BOUND_MS / 1000} make chaos\n${table}`,
  );
});
