/**
 * Soak: `make run`'s process (`perpmesh start` with config/perpmesh.yaml: every service in
 * one process, embedded log and store, three paper venues, the funding arb live) runs for
 * a while as it trades, and its resident size (and V8 heap, from /metrics) is sampled over
 * time. Besides the arb's own decisions, the bench places a small market order on the
 * `paper` venue every 1/SOAK_ORDER_RATE s (ETH, which the arb does not trade; buys and
 * sells alternate so the position stays near zero), so the order, fill, account and log
 * paths run the whole time. Prints every sample (with the order rate reached since the one
 * before: the machine's load can hold it below the rate asked), then a verdict on RSS and on
 * the heap after the warm-up (the first third, at least 60 s; bench/soak-verdict.ts): flat
 * when the growth of their least-squares line over the window is within the samples' noise
 * plus what the per-order histories still filling towards their caps may add
 * (SOAK_ALLOWED_BYTES_PER_ORDER x the orders placed in the window; see docs/performance.md).
 *
 *   node scripts/bench.mjs soak                       # 3 minutes (the `make bench` default)
 *   SOAK_SECONDS=1800 nice node scripts/bench.mjs soak  # the 30-minute run of docs/performance.md
 *   SOAK_SAMPLE_SECONDS=10 SOAK_ORDER_RATE=2 SOAK_ALLOWED_BYTES_PER_ORDER=2500 (defaults)
 *
 * Its own data dir (deleted) and ports (0: free ones); no NATS or Redis (embedded mode).
 * Prints numbers; asserts nothing about time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { cpuMs, loadAverage, quantile, rssBytes } from './proc-stats.js';
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
const WARMUP_SECONDS = Math.max(60, SECONDS / 3);
/**
 * Heap an order may still add after the warm-up: bounded per-order histories that a 30-minute
 * run does not fill (paper fills 10,000 per account, execution's finished orders 10,000, the
 * embedded store's idempotency claims for 7 days); measured from heap snapshots (docs/performance.md).
 */
const ALLOWED_BYTES_PER_ORDER = numberEnv('SOAK_ALLOWED_BYTES_PER_ORDER', 2500, 'zero');
const MB = 1024 * 1024;

/**
 * The V8 heap in use, the heap V8 has reserved (what RSS follows: V8 gives pages back
 * lazily) and the memory of Buffers outside it, from the process's /metrics (prom-client's
 * default metrics).
 */
async function heapBytes(httpPort: number): Promise<{ used?: number; total?: number; external?: number }> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const read = (name: string) => {
      const m = new RegExp(`^perpmesh_nodejs_${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    const used = read('heap_size_used_bytes');
    const total = read('heap_size_total_bytes');
    const external = read('external_memory_bytes');
    return {
      ...(used === undefined ? {} : { used }),
      ...(total === undefined ? {} : { total }),
      ...(external === undefined ? {} : { external }),
    };
  } catch {
    return {};
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
  heap: number | undefined;
  heapTotal: number | undefined;
  external: number | undefined;
  cpuMs: number;
  orders: number;
  failed: number;
}

const dataDir = mkdtempSync(join(tmpdir(), 'perpmesh-soak-'));
const root = new URL('..', import.meta.url).pathname;
const running = await startPerpmeshProcess({
  dataDir,
  env: { PERPMESH_CONFIG: join(root, 'config/perpmesh.yaml') },
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
  `soak: perpmesh start (config/perpmesh.yaml, embedded) pid ${pid}, ${SECONDS} s, a sample every ${SAMPLE_SECONDS} s, ${ORDER_RATE} orders/s from the bench; load average ${loadAverage()}`,
);
console.log(
  `${'t s'.padStart(7)} ${'RSS MB'.padStart(8)} ${'heap MB'.padStart(8)} ${'V8 MB'.padStart(7)} ${'ext MB'.padStart(7)} ${'CPU s'.padStart(7)} ${'orders'.padStart(7)} ${'/s'.padStart(5)} ${'failed'.padStart(6)}  load`,
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
    const sample: Sample = {
      atS,
      rss,
      ...(await heapBytes(running.httpPort).then((h) => ({
        heap: h.used,
        heapTotal: h.total,
        external: h.external,
      }))),
      cpuMs: cpuMs(pid) ?? 0,
      orders,
      failed,
    };
    const rate = rateSince(sample, samples.at(-1));
    samples.push(sample);
    console.log(
      `${atS.toFixed(0).padStart(7)} ${(rss / MB).toFixed(1).padStart(8)} ${mbOrUnknown(sample.heap, 8)} ${mbOrUnknown(sample.heapTotal, 7)} ${mbOrUnknown(sample.external, 7)} ${(sample.cpuMs / 1000).toFixed(1).padStart(7)} ${String(sample.orders).padStart(7)} ${rate.toFixed(1).padStart(5)} ${String(sample.failed).padStart(6)}  ${loadAverage()}`,
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
  const heapPoints = steady.flatMap((s) => (s.heap === undefined ? [] : [{ x: s.atS, y: s.heap }]));
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
  console.log(heap ? describeVerdict('heap', heap) : 'heap: too few samples read from /metrics');
  console.log(
    `verdict: ${rss.flat && heap?.flat ? 'FLAT' : 'NOT FLAT'} (load average at the end ${loadAverage()})`,
  );
} else {
  console.log('too short to have samples after the warm-up: raise SOAK_SECONDS');
}
