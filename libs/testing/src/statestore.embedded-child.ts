/**
 * Child process for statestore.embedded-restart.int.test.ts. Opens an EmbeddedStateStore
 * in <dataDir> and:
 *   write  allocates nonces, claims idempotency keys, saves a projection, prints what it
 *          did as one JSON line, and exits WITHOUT close() (as a crash would);
 *   read   prints what a fresh process finds there as one JSON line, then closes;
 *   spin   allocates nonces forever, printing each value once allocateNonce returned it
 *          (the test SIGKILLs it mid-flight).
 *
 * Usage: node --import tsx --conditions=@perpmesh/source statestore.embedded-child.ts <write|read|spin> <dataDir>
 */
import { EmbeddedStateStore, type NonceKey } from '@perpmesh/state';

const KEY: NonceKey = { venue: 'paper-lighter', account: 'acct-1', apiKeyId: '2' };
const SCOPE = 'orders:paper-lighter:acct-1';
const PROJECTION = 'account:paper-lighter:acct-1';

async function main(): Promise<void> {
  const [mode, dataDir] = process.argv.slice(2);
  if (!mode || !dataDir) throw new Error('usage: <write|read|spin> <dataDir>');
  const store = await EmbeddedStateStore.open({ dataDir });
  const print = (value: unknown): void => {
    process.stdout.write(`${JSON.stringify(value)}\n`);
  };
  if (mode === 'write') {
    const single = await store.allocateNonce(KEY);
    const block = await store.allocateNonces(KEY, 10);
    const concurrent = await Promise.all(Array.from({ length: 100 }, () => store.allocateNonce(KEY)));
    await store.claimIdempotencyKey(SCOPE, 'cid-live', 'order-1', 3_600_000);
    await store.claimIdempotencyKey(SCOPE, 'cid-short', 'order-2', 1);
    await store.claimIdempotencyKey(SCOPE, 'cid-updated', 'pending', 3_600_000);
    await store.updateIdempotencyValue(SCOPE, 'cid-updated', 'pending', 'order-3');
    await store.claimIdempotencyKey(SCOPE, 'cid-released', 'order-4', 3_600_000);
    await store.releaseIdempotencyKey(SCOPE, 'cid-released', 'order-4');
    await store.saveProjection(PROJECTION, { balance: '100.5' }, { ACCT: 1 }, undefined);
    await store.saveProjection(PROJECTION, { balance: '99.25' }, { ACCT: 2, EXEC: 7 }, { ACCT: 1 });
    // bigint: Math.max does not apply
    const max = [single, block.last, ...concurrent].sort((x, y) => (x < y ? -1 : 1)).at(-1);
    print({ maxNonce: String(max) });
    process.exit(0); // no close(): the lock file and the journal stay as a crash leaves them
  } else if (mode === 'read') {
    print({
      nextNonce: String(await store.peekNonce(KEY)),
      idem: {
        live: (await store.getIdempotencyKey(SCOPE, 'cid-live')) ?? null,
        short: (await store.getIdempotencyKey(SCOPE, 'cid-short')) ?? null,
        updated: (await store.getIdempotencyKey(SCOPE, 'cid-updated')) ?? null,
        released: (await store.getIdempotencyKey(SCOPE, 'cid-released')) ?? null,
      },
      projection: (await store.loadProjection(PROJECTION)) ?? null,
    });
    await store.close();
  } else if (mode === 'spin') {
    for (;;) process.stdout.write(`${await store.allocateNonce(KEY)}\n`);
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
