/**
 * Nonce allocations/s through RedisStateStore (one Lua script per allocation) as a ratio
 * to raw Redis INCR on the same connection, in the same run: one at a time, and with a
 * window of requests in flight (ioredis pipelines them on the connection).
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

const ROUNDS = 3;
const SEQUENTIAL_OPS = 2_000;
const WINDOWED_OPS = 20_000;
const WINDOW = 256;

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const keyPrefix = `pm:bench:${randomBytes(4).toString('hex')}:`;
const nonceKey: NonceKey = { venue: 'bench', account: 'acct', apiKeyId: '0' };
const rawKey = `${keyPrefix}raw-incr`;

/** Runs `op` `total` times with at most `window` in flight; returns ops/s. */
async function opsPerSecond(total: number, window: number, op: () => Promise<unknown>): Promise<number> {
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (issued < total) {
      issued++;
      await op();
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(window, total) }, worker));
  return total / ((performance.now() - start) / 1000);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  const store = new RedisStateStore(client, { keyPrefix }); // same connection as the raw INCRs
  try {
    // Warm up: loads the script (EVALSHA falls back to EVAL once) and the JIT.
    await opsPerSecond(500, 16, () => client.incr(rawKey));
    await opsPerSecond(500, 16, () => store.allocateNonce(nonceKey));

    const cases = [
      { name: 'sequential (1 in flight)', total: SEQUENTIAL_OPS, window: 1 },
      { name: `windowed (${WINDOW} in flight)`, total: WINDOWED_OPS, window: WINDOW },
    ];
    const rows: string[][] = [];
    for (const c of cases) {
      const raw: number[] = [];
      const ours: number[] = [];
      // Alternate the two so drift on a shared machine hits both alike.
      for (let round = 0; round < ROUNDS; round++) {
        raw.push(await opsPerSecond(c.total, c.window, () => client.incr(rawKey)));
        ours.push(await opsPerSecond(c.total, c.window, () => store.allocateNonce(nonceKey)));
      }
      const rawOps = median(raw);
      const ourOps = median(ours);
      rows.push([
        c.name,
        String(c.total),
        rawOps.toFixed(0),
        ourOps.toFixed(0),
        (ourOps / rawOps).toFixed(2),
      ]);
    }

    const header = ['case', 'ops', 'raw INCR ops/s', 'allocateNonce ops/s', 'ratio'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
    const line = (cells: string[]): string =>
      cells.map((cell, i) => cell.padStart(widths[i] as number)).join('  ');
    console.log(`nonce allocation vs raw INCR, same connection, median of ${ROUNDS} rounds`);
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
    await client.quit();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
