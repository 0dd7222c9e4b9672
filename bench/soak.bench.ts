/**
 * Soak: `make run`'s process (`perpmesh start` with config/perpmesh.yaml: every service in
 * one process, embedded log and store, three paper venues, the funding arb live) runs for
 * a while as it trades, and its resident size (and where it goes: below) is sampled over
 * time. Besides the arb's own decisions, the bench places a small market order on the
 * `paper` venue every 1/SOAK_ORDER_RATE s (ETH, which the arb does not trade; buys and
 * sells alternate so the position stays near zero), so the order, fill, account and log
 * paths run the whole time. Prints every sample (with the order rate reached since the one
 * before: the machine's load can hold it below the rate asked), then a verdict on RSS and on
 * the heap (its lowest point in use per 30 s, the live heap without the GC's sawtooth) after
 * the warm-up (SOAK_WARMUP_SECONDS, below; bench/soak-verdict.ts): flat
 * when the growth of their least-squares line over the window is within the samples' noise
 * plus what the per-order histories still filling towards their caps may add
 * (SOAK_ALLOWED_BYTES_PER_ORDER x the orders placed in the window; see docs/performance.md).
 *
 *   node scripts/bench.mjs soak                       # 3 minutes (the `make bench` default)
 *   SOAK_SECONDS=1800 nice node scripts/bench.mjs soak  # the 30-minute run of docs/performance.md
 *   SOAK_SECONDS=2700 SOAK_WARMUP_SECONDS=900 nice node scripts/bench.mjs soak   # 30 minutes judged after the bounds are full
 *   SOAK_SAMPLE_SECONDS=10 SOAK_ORDER_RATE=2 SOAK_ALLOWED_BYTES_PER_ORDER=400 (defaults)
 *   SOAK_SPIKE_DIR=/tmp/spikes   # heap profiles of transient heap spikes (bench/soak-probe.mjs)
 *
 * Where RSS goes: each sample also reads /proc/<pid>/smaps_rollup (anonymous and private
 * dirty pages), the thread count and any child processes' RSS, and, through
 * bench/soak-probe.mjs preloaded into the process (NODE_OPTIONS=--import), what only the
 * process can read: `process.memoryUsage()` (heapTotal, external, arrayBuffers), V8's
 * committed size per heap space and its malloced memory. The end prints the slope of each of
 * those series after the warm-up, and of the anonymous memory outside V8's heap (native:
 * malloc arenas, Buffers' backing stores, thread stacks).
 *
 * A/B of a runtime setting: the process inherits the bench's environment (MALLOC_ARENA_MAX
 * defaults to 2, as `make run` sets it), so e.g.
 *   MALLOC_ARENA_MAX=8 nice node scripts/bench.mjs soak
 *   SOAK_NODE_OPTIONS=--max-semi-space-size=8 nice node scripts/bench.mjs soak   (the process's node only)
 *   SOAK_V8_FLAGS=--optimize-for-size ...   (V8 flags NODE_OPTIONS refuses, set by the probe at preload)
 *   SOAK_SETTINGS='execution.terminalOrderRetention=2m execution.idempotencyTtl=5m' ...   (more --set overrides)
 *
 * Its own data dir (deleted) and ports (0: free ones); no NATS or Redis (embedded mode).
 * Prints numbers; asserts nothing about time.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import {
  ExecutionServiceClient,
  OrderType,
  type PlaceOrderRequest,
  type PlaceOrderResponse,
  Side,
  TimeInForce,
} from '@perpmesh/contracts';
import { sleep } from '@perpmesh/core';
import { startPerpmeshProcess } from '@perpmesh/testing';
import { childPids, cpuMs, loadAverage, quantile, rssBytes, smapsRollup, threadCount } from './proc-stats.js';
import { describeVerdict, soakSeriesVerdict } from './soak-verdict.js';

function numberEnv(name: string, fallback: number, min: 'positive' | 'zero' = 'positive'): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (min === 'positive' && n === 0))
    throw new Error(`${name} must be a number ${min === 'positive' ? '> 0' : '>= 0'}, got ${raw}`);
  return n;
}

const SECONDS = numberEnv('SOAK_SECONDS', 180);
const SAMPLE_SECONDS = numberEnv('SOAK_SAMPLE_SECONDS', 10);
const ORDER_RATE = numberEnv('SOAK_ORDER_RATE', 2);
/**
 * Samples before this are not judged: the bounded histories of make run's config are still
 * filling. At its ~2 orders/s the slowest to reach their bounds are the log's 10-minute
 * duplicate windows and its in-memory windows (1 MiB or 4,096 events per stream, ~10 min),
 * execution's 1,000 finished orders (~8 min), the paper venues' 1,000 closed client orders (~8 min;
 * the market maker's are not kept, so only the bench's orders fill it)
 * and their 1,000 fills per account (~8 min): SOAK_WARMUP_SECONDS=900 for the 30-minute run
 * of docs/performance.md. Default a third of the run, at least 60 s.
 */
const WARMUP_SECONDS = numberEnv('SOAK_WARMUP_SECONDS', Math.max(60, SECONDS / 3), 'zero');
/**
 * Heap an order may still add after the warm-up: the per-order histories that do not fill
 * within it. With make run's bounds that is the embedded store's idempotency claims alone
 * (~210-340 bytes an order, kept a day), measured from heap snapshots (docs/performance.md).
 */
const ALLOWED_BYTES_PER_ORDER = numberEnv('SOAK_ALLOWED_BYTES_PER_ORDER', 400, 'zero');
const MB = 1024 * 1024;

/** What bench/soak-probe.mjs writes from inside the process (bytes). */
interface Probe {
  readonly atMs: number;
  readonly heapUsed: number;
  /** The lowest heap in use over the probe's last 30 s: near the live heap (absent in older probes). */
  readonly heapUsedLow?: number;
  readonly oldSpaceUsedLow?: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly heapCommitted: number;
  readonly mallocedMemory: number;
  readonly peakMallocedMemory: number;
  readonly spaces: Readonly<Record<string, { committed: number; size: number; used: number }>>;
}

/** The probe's latest reading, undefined before its first one (or if it cannot be read). */
function readProbe(file: string): Probe | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Probe;
  } catch {
    return undefined;
  }
}

function placeOrder(client: ExecutionServiceClient, req: PlaceOrderRequest): Promise<PlaceOrderResponse> {
  return new Promise((resolve, reject) =>
    client.placeOrder(req, (err: ServiceError | null, res: PlaceOrderResponse) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

interface Sample {
  atS: number;
  rss: number;
  /** RSS of the process's child processes, if any (summed). */
  childRss: number;
  anonymous: number | undefined;
  privateDirty: number | undefined;
  threads: number | undefined;
  probe: Probe | undefined;
  cpuMs: number;
  orders: number;
  failed: number;
}

const dataDir = mkdtempSync(join(tmpdir(), 'perpmesh-soak-'));
const root = new URL('..', import.meta.url).pathname;
const probeFile = join(dataDir, 'soak-probe.json');
const childNodeOptions = [
  process.env.NODE_OPTIONS,
  process.env.SOAK_NODE_OPTIONS,
  `--import=${pathToFileURL(join(root, 'bench/soak-probe.mjs')).href}`,
]
  .filter((o) => o !== undefined && o !== '')
  .join(' ');
/** More `--set key=value` overrides for the process, space-separated (e.g. shorter histories for an A/B). */
const extraSettings = (process.env.SOAK_SETTINGS ?? '').split(/\s+/).filter((kv) => kv !== '');
const running = await startPerpmeshProcess({
  dataDir,
  settings: extraSettings,
  env: {
    // As `make run` starts it (the Makefile's run target), unless the environment says otherwise.
    MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
    PERPMESH_CONFIG: join(root, 'config/perpmesh.yaml'),
    NODE_OPTIONS: childNodeOptions,
    SOAK_PROBE_FILE: probeFile,
  },
});
const pid = running.child.pid;
const exec = new ExecutionServiceClient(running.execution, credentials.createInsecure());
let orders = 0;
let failed = 0;
let lastError = '';
let stopping = false;

// The order flow: one market IOC at a time, alternating sides, at ORDER_RATE per second.
const trader = (async () => {
  const intervalMs = 1000 / ORDER_RATE;
  for (let i = 0; !stopping; i++) {
    const started = Date.now();
    try {
      await placeOrder(exec, {
        clientOrderId: `soak-${process.pid}-${i}`,
        venue: 'paper',
        account: 'main',
        instrument: 'ETH-USDC-PERP',
        side: i % 2 === 0 ? Side.SIDE_BUY : Side.SIDE_SELL,
        type: OrderType.ORDER_TYPE_MARKET,
        timeInForce: TimeInForce.TIME_IN_FORCE_IOC,
        price: '',
        size: '0.01',
        reduceOnly: false,
        correlationId: '',
      });
      orders++;
    } catch (err) {
      failed++;
      lastError = (err as ServiceError).details ?? String(err);
    }
    await sleep(Math.max(0, intervalMs - (Date.now() - started)));
  }
})();

const samples: Sample[] = [];
const startedMs = Date.now();
console.log(
  `soak: perpmesh start (config/perpmesh.yaml, embedded) pid ${pid}, ${SECONDS} s (judged after a ${WARMUP_SECONDS} s warm-up), a sample every ${SAMPLE_SECONDS} s, ${ORDER_RATE} orders/s from the bench; ` +
    `MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? '2'}, NODE_OPTIONS ${childNodeOptions}` +
    `${extraSettings.length ? `, --set ${extraSettings.join(' ')}` : ''}; load average ${loadAverage()}`,
);
/** The columns of a sample line: header, width, value (MB unless said). */
const COLUMNS: ReadonlyArray<[string, number, (s: Sample) => number | undefined]> = [
  ['RSS', 6, (s) => s.rss],
  ['anon', 6, (s) => s.anonymous],
  ['pdirty', 6, (s) => s.privateDirty],
  ['heap', 6, (s) => s.probe?.heapUsed],
  ['live', 6, (s) => s.probe?.heapUsedLow],
  ['V8tot', 6, (s) => s.probe?.heapTotal],
  ['V8com', 6, (s) => s.probe?.heapCommitted],
  ['native', 6, (s) => outsideHeap(s)],
  ['ext', 5, (s) => s.probe?.external],
  ['AB', 5, (s) => s.probe?.arrayBuffers],
  ['mallc', 5, (s) => s.probe?.mallocedMemory],
  ['kids', 5, (s) => s.childRss],
];
/** Anonymous memory outside V8's committed heap: malloc arenas (Buffers' stores among them), stacks. */
function outsideHeap(s: Sample): number | undefined {
  return s.anonymous === undefined || s.probe === undefined ? undefined : s.anonymous - s.probe.heapCommitted;
}
console.log(
  `${'t s'.padStart(6)} ${COLUMNS.map(([h, w]) => h.padStart(w)).join(' ')} ${'thr'.padStart(3)} ${'CPU s'.padStart(7)} ${'orders'.padStart(6)} ${'/s'.padStart(4)} ${'fail'.padStart(4)}  load   (MB)`,
);
const mbOrUnknown = (bytes: number | undefined, width: number) =>
  (bytes === undefined ? '?' : (bytes / MB).toFixed(1)).padStart(width);
/** Orders per second placed between a sample and the one before it. */
const rateSince = (s: Sample, before: Sample | undefined) =>
  before === undefined || s.atS <= before.atS ? 0 : (s.orders - before.orders) / (s.atS - before.atS);
try {
  for (;;) {
    const atS = (Date.now() - startedMs) / 1000;
    const rss = rssBytes(pid);
    if (rss === undefined) throw new Error(`perpmesh start (pid ${pid}) is gone:\n${running.stderr()}`);
    const smaps = smapsRollup(pid);
    const sample: Sample = {
      atS,
      rss,
      childRss: childPids(pid).reduce((sum, child) => sum + (rssBytes(child) ?? 0), 0),
      anonymous: smaps?.anonymous,
      privateDirty: smaps?.privateDirty,
      threads: threadCount(pid),
      probe: readProbe(probeFile),
      cpuMs: cpuMs(pid) ?? 0,
      orders,
      failed,
    };
    const rate = rateSince(sample, samples.at(-1));
    samples.push(sample);
    console.log(
      `${atS.toFixed(0).padStart(6)} ${COLUMNS.map(([, w, read]) => mbOrUnknown(read(sample), w)).join(' ')} ${String(sample.threads ?? '?').padStart(3)} ${(sample.cpuMs / 1000).toFixed(1).padStart(7)} ${String(sample.orders).padStart(6)} ${rate.toFixed(1).padStart(4)} ${String(sample.failed).padStart(4)}  ${loadAverage()}`,
    );
    if (atS >= SECONDS) break;
    await sleep(Math.min(SAMPLE_SECONDS * 1000, (SECONDS - atS) * 1000 + 1));
  }
} finally {
  stopping = true;
  await trader;
  exec.close();
  const code = await running.stop();
  rmSync(dataDir, { recursive: true, force: true });
  if (code !== 0)
    console.log(`perpmesh start exited with ${code}; stderr:\n${running.stderr().slice(-4000)}`);
}

const steady = samples.filter((s) => s.atS >= WARMUP_SECONDS);
const first = steady[0];
const last = steady.at(-1);
if (first && last && steady.length >= 3) {
  const window = last.atS - first.atS;
  const ordersInWindow = last.orders - first.orders;
  const allowed = ordersInWindow * ALLOWED_BYTES_PER_ORDER;
  const rss = soakSeriesVerdict(
    steady.map((s) => ({ x: s.atS, y: s.rss })),
    allowed,
  );
  // The heap is judged on its lowest point per 30 s (the live heap plus the least garbage):
  // a sample of the heap in use lands anywhere on the GC's sawtooth, which a 30-minute line
  // through ~60 samples reads as growth or shrinkage (session 7's runs: 13-14 MB/h "growing"
  // while the lowest heap moved 3 MB). Decided before session 8's runs, not after them.
  const heapPoints = steady.flatMap((s) =>
    s.probe?.heapUsedLow === undefined ? [] : [{ x: s.atS, y: s.probe.heapUsedLow }],
  );
  const heap = heapPoints.length >= 3 ? soakSeriesVerdict(heapPoints, allowed) : undefined;
  const rates = steady.slice(1).map((s, i) => rateSince(s, steady[i]));
  console.log(
    `after the ${WARMUP_SECONDS.toFixed(0)} s warm-up (${steady.length} samples over ${window.toFixed(0)} s): ` +
      `RSS ${(first.rss / MB).toFixed(1)} -> ${(last.rss / MB).toFixed(1)} MB; ` +
      `${((last.cpuMs - first.cpuMs) / 1000 / window).toFixed(2)} CPU-s per s; ` +
      `${ordersInWindow} orders placed (${(ordersInWindow / window).toFixed(2)}/s; per interval min ${quantile(rates, 0).toFixed(1)}, ` +
      `median ${quantile(rates, 0.5).toFixed(1)}, max ${quantile(rates, 1).toFixed(1)}), ${last.orders} in all ` +
      `(${last.failed} failed${lastError ? `, last: ${lastError}` : ''}); ` +
      `allowed for the capped histories: ${ordersInWindow} orders x ${ALLOWED_BYTES_PER_ORDER} bytes`,
  );
  console.log(describeVerdict('RSS', rss));
  console.log(
    heap
      ? describeVerdict('heap (lowest in use per 30 s)', heap)
      : 'heap: too few samples of its lowest point read from the probe',
  );
  // Where RSS went: every series' slope over the same window (no verdict; the parts add up to RSS).
  const spaceNames = Object.keys(last.probe?.spaces ?? {});
  const series: ReadonlyArray<[string, (s: Sample) => number | undefined]> = [
    ...COLUMNS.map(([h, , read]): [string, (s: Sample) => number | undefined] => [h, read]),
    ...spaceNames.map((name): [string, (s: Sample) => number | undefined] => [
      `${name} committed`,
      (s) => s.probe?.spaces[name]?.committed,
    ]),
    ['old_space used, lowest in 30 s', (s) => s.probe?.oldSpaceUsedLow],
  ];
  console.log(`where RSS went, after the warm-up (first -> last sample, least-squares slope; MB):`);
  for (const [name, read] of series) {
    const points = steady.flatMap((s) => {
      const y = read(s);
      return y === undefined ? [] : [{ x: s.atS, y }];
    });
    if (points.length < 3 || points.every((p) => p.y === 0)) continue;
    const v = soakSeriesVerdict(points, 0);
    console.log(
      `  ${name.padEnd(30)} ${mbOrUnknown(points[0]?.y, 7)} -> ${mbOrUnknown(points.at(-1)?.y, 7)}  slope ${(v.slopePerHour / MB).toFixed(1).padStart(6)} MB/h (noise ${(v.noise / MB).toFixed(1)} MB over the window)`,
    );
  }
  console.log(
    `verdict: ${rss.flat && heap?.flat ? 'FLAT' : 'NOT FLAT'} (load average at the end ${loadAverage()})`,
  );
} else {
  console.log('too short to have samples after the warm-up: raise SOAK_SECONDS');
}
