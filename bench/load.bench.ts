/**
 * Load against two execution replicas (real processes, started like the e2e tests): N
 * concurrent clients, each alternating replicas, place a resting limit order and cancel it,
 * for a bounded time. Throughput, p50/p99 and the error share are printed as ratios to raw
 * gRPC measured in the same run by the same clients against the same processes: one
 * grpc.health.v1.Health/Check per call (the transport floor). Rounds alternate raw and
 * perpmesh so drift on a shared machine hits both alike.
 *
 *   node --import tsx --conditions=@perpmesh/source bench/load.bench.ts
 *   LOAD_BENCH_CLIENTS=8 LOAD_BENCH_SECONDS=12 LOAD_BENCH_ROUNDS=3 (defaults)
 *
 * Uses NATS_URL / REDIS_URL (else the local defaults), its own namespace, cleans up.
 * Prints numbers; asserts nothing about time.
 */
import { performance } from 'node:perf_hooks';
import { Client, credentials } from '@grpc/grpc-js';
import type { CancelOrderRequest, CancelOrderResponse } from '@perpmesh/contracts';
import {
  ACCOUNT,
  BTC,
  call,
  E2eStack,
  type ExecutionClient,
  orderRequest,
  placeOrder,
} from '../tests/e2e/harness.js';
import { healthCheck } from './grpc-health.js';

process.env.NATS_URL ??= 'nats://127.0.0.1:4222';
process.env.REDIS_URL ??= 'redis://127.0.0.1:6379';

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1)
    throw new Error(`${name} must be a whole number >= 1, got ${raw}`);
  return Number(raw);
}

const CLIENTS = intEnv('LOAD_BENCH_CLIENTS', 8);
const SECONDS = intEnv('LOAD_BENCH_SECONDS', 12);
const ROUNDS = intEnv('LOAD_BENCH_ROUNDS', 3);

interface Tally {
  latenciesMs: number[];
  ops: number;
  errors: number;
  elapsedMs: number;
}

/** `CLIENTS` loops running `op(client index, op index)` until `ms` passed. */
async function drive(
  ms: number,
  op: (client: number, i: number) => Promise<void>,
  into: Tally,
): Promise<void> {
  const end = performance.now() + ms;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; performance.now() < end; i++) {
        const t0 = performance.now();
        try {
          await op(c, i);
          into.latenciesMs.push(performance.now() - t0);
          into.ops += 1;
        } catch {
          into.errors += 1;
        }
      }
    }),
  );
  into.elapsedMs += performance.now() - started;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

const stack = await E2eStack.create({ executionReplicas: 2 });
try {
  stack.paperVenue.start();
  await stack.paperVenue.waitReady();
  for (const replica of stack.executions) replica.start();
  await Promise.all(stack.executions.map((r) => r.waitReady()));
  const execs: ExecutionClient[] = [stack.executionClient(0), stack.executionClient(1)];
  const raws = stack.ports.execution.map(
    (p) => new Client(`127.0.0.1:${p.grpc}`, credentials.createInsecure()),
  );
  stack.onClose(() => {
    for (const r of raws) r.close();
  });

  const raw: Tally = { latenciesMs: [], ops: 0, errors: 0, elapsedMs: 0 };
  const orders: Tally = { latenciesMs: [], ops: 0, errors: 0, elapsedMs: 0 };
  let n = 0;
  // One op = two calls either way: Health/Check twice, or PlaceOrder + CancelOrder.
  const rawOp = async (c: number, i: number) => {
    const client = raws[(c + i) % raws.length] as Client;
    await healthCheck(client);
    await healthCheck(client);
  };
  const orderOp = async (c: number, i: number) => {
    const place = execs[(c + i) % execs.length] as ExecutionClient;
    const cancel = execs[(c + i + 1) % execs.length] as ExecutionClient;
    n += 1;
    const req = orderRequest({ price: String(30000 + (n % 1000)) });
    await placeOrder(place, req);
    await call<CancelOrderRequest, CancelOrderResponse>(cancel.cancelOrder.bind(cancel), {
      venue: 'paper',
      account: ACCOUNT,
      instrument: BTC,
      orderId: { $case: 'clientOrderId', value: req.clientOrderId },
    });
  };
  // Warm up both paths.
  await drive(1_000, rawOp, { latenciesMs: [], ops: 0, errors: 0, elapsedMs: 0 });
  await drive(2_000, orderOp, { latenciesMs: [], ops: 0, errors: 0, elapsedMs: 0 });
  const slice = (SECONDS * 1000) / ROUNDS;
  for (let r = 0; r < ROUNDS; r++) {
    await drive(slice, rawOp, raw);
    await drive(slice, orderOp, orders);
  }

  const row = (t: Tally) => ({
    perSecond: (t.ops / t.elapsedMs) * 1000,
    p50: percentile(t.latenciesMs, 0.5),
    p99: percentile(t.latenciesMs, 0.99),
    errorShare: t.errors / Math.max(1, t.ops + t.errors),
  });
  const a = row(raw);
  const b = row(orders);
  const fmt = (x: number, d = 2) => x.toFixed(d);
  console.log(`load: ${CLIENTS} clients, 2 execution replicas, ${SECONDS} s per path in ${ROUNDS} rounds`);
  console.log('| path | ops/s | p50 ms | p99 ms | errors |');
  console.log('|---|---|---|---|---|');
  console.log(
    `| raw gRPC (2x Health/Check) | ${fmt(a.perSecond, 0)} | ${fmt(a.p50)} | ${fmt(a.p99)} | ${fmt(a.errorShare * 100)}% |`,
  );
  console.log(
    `| PlaceOrder + CancelOrder | ${fmt(b.perSecond, 0)} | ${fmt(b.p50)} | ${fmt(b.p99)} | ${fmt(b.errorShare * 100)}% |`,
  );
  console.log(
    `| ratio perpmesh / raw | ${fmt(b.perSecond / a.perSecond, 3)} | ${fmt(b.p50 / a.p50, 1)}x | ${fmt(b.p99 / a.p99, 1)}x | ${orders.errors} vs ${raw.errors} |`,
  );
  for (const replica of stack.executions) await replica.stop();
  await stack.paperVenue.stop();
} finally {
  await stack.close();
}
