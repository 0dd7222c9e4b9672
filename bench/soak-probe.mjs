// Preloaded into the soak's `perpmesh start` (NODE_OPTIONS=--import=<this file>): the memory
// the process can only read about itself (V8's spaces, its malloced memory, Buffers), written
// as one JSON object to SOAK_PROBE_FILE every SOAK_PROBE_MS (1,000 by default) for the bench
// to read beside /proc. Bench-only: nothing of the product loads it. The timer is unref'd and
// the file replaced by a rename, so a reader never sees half an object.
import { renameSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';

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

if (file) {
  const tmp = `${file}.tmp`;
  setInterval(() => {
    try {
      writeFileSync(tmp, JSON.stringify(probe()));
      renameSync(tmp, file);
    } catch {
      // The bench removes the data dir at its end; a write after that has no reader.
    }
  }, everyMs).unref();
}
