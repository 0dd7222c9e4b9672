#!/usr/bin/env node
import { jetstreamManager } from '@nats-io/jetstream';
// Waits (up to 30 s) until NATS answers with JetStream enabled and Redis answers PING.
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';

const [natsUrl, redisUrl] = process.argv.slice(2);
const deadline = Date.now() + 30_000;

async function until(name, probe) {
  let lastError;
  while (Date.now() < deadline) {
    try {
      await probe();
      console.log(`setup: ${name} ready`);
      return;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  console.error(`setup: ${name} did not become ready: ${lastError?.message ?? lastError}`);
  process.exit(1);
}

await until(`NATS JetStream at ${natsUrl}`, async () => {
  const nc = await connect({ servers: natsUrl, timeout: 1000, reconnect: false });
  try {
    await (await jetstreamManager(nc)).getAccountInfo();
  } finally {
    await nc.close();
  }
});
await until(`Redis at ${redisUrl}`, async () => {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    if ((await redis.ping()) !== 'PONG') throw new Error('no PONG');
  } finally {
    redis.disconnect();
  }
});
