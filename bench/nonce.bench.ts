/**
 * Nonce allocations/s through RedisStateStore (one INCRBY per allocation without a floor, on a
 * connection with exact integer replies as RedisStateStore.connect makes it) as a ratio
 * to raw Redis INCR on the same connection, in the same run: one at a time, and with a
 * window of requests in flight (ioredis pipelines them on the connection). A third row is the
 * allocate script (what a store on a caller's plain connection runs, and what every
 * allocation ran before), for the before/after in the same run.
 *
 *   node --import tsx --conditions=@perpmesh/source bench/nonce.bench.ts
 *
 * Uses REDIS_URL (default redis://127.0.0.1:6379), its own key prefix, deletes its keys.
 * Prints numbers; asserts nothing about time.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { type NonceKey, RedisStateStore } from '@perpmesh/state';
import { Redis } from 'ioredis';
import { loadAverage } from './proc-stats.js';

const ROUNDS = 3;
const SEQUENTIAL_OPS = 2_000;
const WINDOWED_OPS = 20_000;
const WINDOW = 256;

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const keyPrefix = `pm:bench:${randomBytes(4).toString('hex')}:`;
const nonceKey: NonceKey = { venue: 'bench', account: 'acct', apiKeyId: '0' };
const rawKey = `${keyPrefix}raw-incr`;

/** Runs `op` `total` times with at most `window` in flight; ops/s and this process's CPU µs per op. */
async function measure(
  total: number,
  window: number,
  op: () => Promise<unknown>,
): Promise<{ perS: number; cpuUs: number }> {
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (issued < total) {
      issued++;
      await op();
    }
  };
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(window, total) }, worker));
  const used = process.cpuUsage(cpu);
  return { perS: total / ((performance.now() - start) / 1000), cpuUs: (used.user + used.system) / total };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  // As RedisStateStore.connect makes its connection: integer replies as exact text.
  const client = new Redis(url, { lazyConnect: true, stringNumbers: true });
  await client.connect();
  const store = new RedisStateStore(client, { keyPrefix }); // same connection as the raw INCRs
  // A caller's plain connection (JS-number integer replies): the store uses the allocate script.
  const plainClient = new Redis(url, { lazyConnect: true });
  await plainClient.connect();
  const scriptStore = new RedisStateStore(plainClient, { keyPrefix });
  const paths = [
    { name: 'raw INCR', op: () => client.incr(rawKey) },
    { name: 'allocateNonce', op: () => store.allocateNonce(nonceKey) },
    { name: 'allocateNonce, script', op: () => scriptStore.allocateNonce(nonceKey) },
  ];
  try {
    // Warm up: loads the script (EVALSHA falls back to EVAL once) and the JIT.
    for (const p of paths) await measure(500, 16, p.op);

    const cases = [
      { name: 'sequential (1 in flight)', total: SEQUENTIAL_OPS, window: 1 },
      { name: `windowed (${WINDOW} in flight)`, total: WINDOWED_OPS, window: WINDOW },
    ];
    const rows: string[][] = [];
    for (const c of cases) {
      const perS: number[][] = paths.map(() => []);
      const cpuUs: number[][] = paths.map(() => []);
      // Alternate the paths so drift on a shared machine hits all alike.
      for (let round = 0; round < ROUNDS; round++) {
        for (const [i, p] of paths.entries()) {
          const m = await measure(c.total, c.window, p.op);
          perS[i]?.push(m.perS);
          cpuUs[i]?.push(m.cpuUs);
        }
      }
      const raw = median(perS[0] as number[]);
      for (const [i, p] of paths.entries()) {
        const ops = median(perS[i] as number[]);
        rows.push([
          c.name,
          p.name,
          String(c.total),
          ops.toFixed(0),
          median(cpuUs[i] as number[]).toFixed(1),
          (ops / raw).toFixed(2),
        ]);
      }
    }

    const header = ['case', 'path', 'ops', 'ops/s', 'client CPU µs/op', 'ratio to raw'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
    const line = (cells: string[]): string =>
      cells
        .map((cell, i) => (i < 2 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number)))
        .join('  ');
    console.log(
      `nonce allocation vs raw INCR on the same connection, median of ${ROUNDS} rounds; load average ${loadAverage()}`,
    );
    console.log(line(header));
    for (const row of rows) console.log(line(row));
  } finally {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
    await store.close();
    await scriptStore.close();
    await client.quit();
    await plainClient.quit();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
