/**
 * Child process for statestore.nonce-processes.int.test.ts: connects a RedisStateStore,
 * says "ready", waits for "go" on stdin (so sibling processes start together), allocates
 * `count` nonces on one key with `window` requests in flight, and prints them as one JSON
 * line (decimal strings, in the order the requests were issued).
 *
 * Usage: node --import tsx --conditions=@perpmesh/source statestore.nonce-child.ts \
 *          <redisUrl> <keyPrefix> <nonceKeyJson> <count> <window>
 */
import { createInterface } from 'node:readline';
import { type NonceKey, RedisStateStore } from '@perpmesh/state';

async function main(): Promise<void> {
  const [url, keyPrefix, keyJson, countText, windowText] = process.argv.slice(2);
  if (!url || !keyPrefix || !keyJson || !countText || !windowText) {
    throw new Error('usage: <redisUrl> <keyPrefix> <nonceKeyJson> <count> <window>');
  }
  const nonceKey = JSON.parse(keyJson) as NonceKey;
  const count = Number(countText);
  const window = Number(windowText);
  const store = await RedisStateStore.connect(url, { keyPrefix });
  const lines = createInterface({ input: process.stdin });
  const go = new Promise<void>((resolve) => lines.on('line', (line) => line.trim() === 'go' && resolve()));
  process.stdout.write('ready\n');
  await go;
  lines.close();

  const values: bigint[] = new Array(count);
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (issued < count) {
      const index = issued++;
      values[index] = await store.allocateNonce(nonceKey);
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  await store.close();
  process.stdout.write(`${JSON.stringify(values.map(String))}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
