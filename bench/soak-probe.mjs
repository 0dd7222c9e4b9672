// Preloaded into the soak's `perpmesh start` (NODE_OPTIONS=--import=<this file>): the memory
// the process can only read about itself (V8's spaces, its malloced memory, Buffers), written
// as one JSON object to SOAK_PROBE_FILE every SOAK_PROBE_MS (1,000 by default) for the bench
// to read beside /proc. Bench-only: nothing of the product loads it. The timer is unref'd and
// the file replaced by a rename, so a reader never sees half an object.
//
// Heap spikes (SOAK_SPIKE_DIR set): V8's sampling heap profiler runs with the objects the GC
// collected kept in its samples (a transient spike is garbage by the time one looks), restarted
// every SPIKE_PROFILE_WINDOW_MS so it covers only the recent past; when the heap in use rises
// SOAK_SPIKE_MB (100 by default) over its lowest of the last 30 s, the samples are written to
// SOAK_SPIKE_DIR/spike-<t>.heapprofile (DevTools format; bench/heap-profile-summary.mjs reads
// it): which functions allocated the spike. One file per spike, at most SPIKE_PROFILES_MAX.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import v8 from 'node:v8';

// V8 flags NODE_OPTIONS does not take (e.g. --optimize-for-size), set before the process's
// own code runs: SOAK_V8_FLAGS (an A/B of a V8 setting; flags that size the heap at start do
// not change by this).
if (process.env.SOAK_V8_FLAGS) v8.setFlagsFromString(process.env.SOAK_V8_FLAGS);

const file = process.env.SOAK_PROBE_FILE;
const everyMs = Number(process.env.SOAK_PROBE_MS || 1000);
/**
 * The heap in use at a random moment is mostly the GC's sawtooth; its minimum over the last
 * readings (30 s at the default rate) is near the live heap after a GC: what a leak or a
 * history filling moves, and what V8 sizes its old space by.
 */
const LOW_WINDOW = 30;
const recentHeapUsed = [];
const recentOldUsed = [];
const pushLow = (ring, value) => {
  ring.push(value);
  if (ring.length > LOW_WINDOW) ring.shift();
  return Math.min(...ring);
};

function probe() {
  const usage = process.memoryUsage();
  const heap = v8.getHeapStatistics();
  const spaces = {};
  for (const s of v8.getHeapSpaceStatistics()) {
    // Committed (physical) size: what the space holds in RSS; space_size is its reservation.
    spaces[s.space_name] = { committed: s.physical_space_size, size: s.space_size, used: s.space_used_size };
  }
  return {
    atMs: Date.now(),
    heapUsedLow: pushLow(recentHeapUsed, usage.heapUsed),
    oldSpaceUsedLow: pushLow(recentOldUsed, spaces.old_space?.used ?? 0),
    heapUsed: usage.heapUsed,
    heapTotal: usage.heapTotal,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    heapCommitted: heap.total_physical_size,
    mallocedMemory: heap.malloced_memory,
    peakMallocedMemory: heap.peak_malloced_memory,
    externalMemory: heap.external_memory,
    spaces,
  };
}

const spikeDir = process.env.SOAK_SPIKE_DIR;
const spikeBytes = Number(process.env.SOAK_SPIKE_MB || 100) * 1024 * 1024;
const SPIKE_PROFILE_WINDOW_MS = 120_000;
const SPIKE_PROFILES_MAX = 3;
const SPIKE_QUIET_START_MS = 90_000;
/** Sampling heap profiler of this process, restartable; undefined when spikes are not watched. */
const spikeProfiler = spikeDir ? startSpikeProfiler(spikeDir) : undefined;

function startSpikeProfiler(dir) {
  mkdirSync(dir, { recursive: true });
  const session = new Session();
  session.connect();
  const post = (method, params) =>
    new Promise((resolve, reject) =>
      session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
    );
  const start = () =>
    post('HeapProfiler.startSampling', {
      samplingInterval: 256 * 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  let written = 0;
  let busy = false;
  /**
   * Off after a spike was written, on again once the heap is back near its low (one file per
   * spike); off for the first SPIKE_QUIET_START_MS (the start's own rise from an empty heap).
   */
  let armed = false;
  const armAtMs = Date.now() + SPIKE_QUIET_START_MS;
  let startedMs = Date.now();
  void start();
  /** Called every probe: restarts the window, or writes the samples when the heap spikes. */
  return async (heapUsed, heapUsedLow) => {
    if (busy || written >= SPIKE_PROFILES_MAX) return;
    if (!armed && Date.now() >= armAtMs && heapUsed - heapUsedLow < spikeBytes / 2) armed = true;
    const spiking = armed && heapUsed - heapUsedLow >= spikeBytes;
    if (!spiking && Date.now() - startedMs < SPIKE_PROFILE_WINDOW_MS) return;
    busy = true;
    try {
      const { profile } = await post('HeapProfiler.stopSampling');
      if (spiking) {
        written += 1;
        armed = false;
        const name = `spike-${new Date().toISOString().replace(/[:.]/g, '-')}.heapprofile`;
        writeFileSync(
          join(dir, name),
          JSON.stringify({ ...profile, heapUsed, heapUsedLow, windowStartedMs: startedMs }),
        );
      }
      startedMs = Date.now();
      await start();
    } finally {
      busy = false;
    }
  };
}

if (file) {
  const tmp = `${file}.tmp`;
  setInterval(() => {
    try {
      const reading = probe();
      writeFileSync(tmp, JSON.stringify(reading));
      renameSync(tmp, file);
      spikeProfiler?.(reading.heapUsed, reading.heapUsedLow).catch(() => {});
    } catch {
      // The bench removes the data dir at its end; a write after that has no reader.
    }
  }, everyMs).unref();
}
