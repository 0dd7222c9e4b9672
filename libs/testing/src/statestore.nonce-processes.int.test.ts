/**
 * Two OS processes x 5,000 nonce allocations on one key against Redis: 10,000 distinct
 * values, no gap; then a resync to a lower value is ignored and to a higher one honoured.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type NonceKey, RedisStateStore } from '@perpmesh/state';
import { Redis } from 'ioredis';
import { redisUrlForTests, uniqueTestName } from './servers.js';
import { deleteRedisKeys } from './statestore.redis-cleanup.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const childScript = fileURLToPath(new URL('./statestore.nonce-child.ts', import.meta.url));
const PER_PROCESS = 5_000;
const NONCE_KEY: NonceKey = { venue: 'lighter', account: '281474976710654', apiKeyId: '3' };

interface Child {
  ready: Promise<void>;
  go(): void;
  values: Promise<bigint[]>;
}

function startChild(url: string, keyPrefix: string, window: number): Child {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@perpmesh/source',
      childScript,
      url,
      keyPrefix,
      JSON.stringify(NONCE_KEY),
      String(PER_PROCESS),
      String(window),
    ],
    { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (stdout.startsWith('ready\n')) markReady();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const values = new Promise<bigint[]>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`nonce child exited ${code}: ${stderr}`));
      const line = stdout.split('\n')[1] ?? '';
      resolve((JSON.parse(line) as string[]).map((v) => BigInt(v)));
    });
  });
  // A child that dies before "ready" must not leave the test waiting.
  values.catch(() => markReady());
  return { ready, go: () => child.stdin.end('go\n'), values };
}

describe('RedisStateStore nonces across OS processes', () => {
  let url: string;
  let keyPrefix: string;
  let admin: Redis;

  before(async () => {
    url = await redisUrlForTests();
    keyPrefix = `pm:test:${uniqueTestName('NONCEPROC')}:`;
    admin = new Redis(url);
  });
  after(async () => {
    await deleteRedisKeys(admin, `${keyPrefix}*`);
    admin.disconnect();
  });

  test('2 processes x 5,000 allocations: 10,000 distinct values, no gap; resync lower ignored, higher honoured', async () => {
    // One child one-at-a-time, one with 64 in flight: both interleave on the same counter.
    const children = [startChild(url, keyPrefix, 1), startChild(url, keyPrefix, 64)];
    await Promise.all(children.map((c) => c.ready));
    for (const c of children) c.go();
    const [a, b] = (await Promise.all(children.map((c) => c.values))) as [bigint[], bigint[]];

    assert.equal(a.length, PER_PROCESS);
    assert.equal(b.length, PER_PROCESS);
    for (const own of [a, b]) {
      own.forEach((value, i) => {
        if (i > 0)
          assert.ok(value > (own[i - 1] as bigint), `each process sees strictly increasing values (#${i})`);
      });
    }
    const all = [...a, ...b].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    assert.equal(new Set(all).size, 2 * PER_PROCESS, 'no value handed out twice');
    all.forEach((value, i) => {
      assert.equal(value, BigInt(i), `no gap at #${i}`);
    });
    // Both processes really ran concurrently: each got values from the other's range.
    assert.ok(a.some((v) => v > b[0]!) && b.some((v) => v > a[0]!), 'the processes interleaved');

    const store = await RedisStateStore.connect(url, { keyPrefix });
    try {
      const next = BigInt(2 * PER_PROCESS);
      assert.equal(await store.peekNonce(NONCE_KEY), next);
      assert.equal(await store.resyncNonce(NONCE_KEY, 17n), next, 'lower resync ignored');
      assert.equal(await store.allocateNonce(NONCE_KEY), next);
      assert.equal(await store.resyncNonce(NONCE_KEY, 1_000_000n), 1_000_000n, 'higher resync honoured');
      assert.equal(await store.allocateNonce(NONCE_KEY), 1_000_000n);
    } finally {
      await store.close();
    }
  });
});
