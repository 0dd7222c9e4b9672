/**
 * Orders/s to ONE strict-nonce key (Lighter: our adapter against the Lighter emulator, which
 * verifies every signature and nonce), through execution's NonceSender with nonces from Redis,
 * with 64 orders in flight: the venue's batch endpoint (sendTxBatch) against one transaction
 * per request, in the same run, rounds alternating. The floor beside them: raw HTTP round trips
 * to the same emulator (GET nextNonce, 64 in flight), the transport an order cannot avoid.
 *
 *   node --import tsx --conditions=@perpmesh/source bench/nonce-batch.bench.ts
 *   NONCE_BATCH_BENCH_ORDERS=400 NONCE_BATCH_BENCH_ROUNDS=3 (defaults)
 *
 * The emulator runs in this process, so CPU per order counts the venue's work (signature
 * checks, matching) too: both modes carry it alike. Uses REDIS_URL, its own key prefix.
 * Prints numbers; asserts nothing about time.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { dec } from '@perpmesh/core';
import { bareMarket, LighterEmulator, lighterSimConfig } from '@perpmesh/emulators';
import { NonceSender, type SendingPort } from '@perpmesh/execution';
import { LighterPrivateKey, signLighterTx, verifyLighterTxInfo } from '@perpmesh/signing';
import { RedisStateStore } from '@perpmesh/state';
import { type LighterVenuePort, openLighterVenuePort } from '@perpmesh/venues';
import { Redis } from 'ioredis';

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1)
    throw new Error(`${name} must be a whole number >= 1, got ${raw}`);
  return Number(raw);
}

const ORDERS = intEnv('NONCE_BATCH_BENCH_ORDERS', 400);
const ROUNDS = intEnv('NONCE_BATCH_BENCH_ROUNDS', 3);
const IN_FLIGHT = 64;
const BTC = 'BTC-USDC-PERP';
const ACCOUNT_INDEX = 31;
const API_KEY_INDEX = 6;
const KEY = LighterPrivateKey.fromSeed(new TextEncoder().encode('perpmesh nonce batch bench'));

interface Sample {
  readonly perSecond: number;
  readonly cpuMsPerOp: number;
  readonly venueCalls: number;
}

/** Runs `op` `total` times with at most `window` in flight: ops/s and CPU ms per op of this process. */
async function measure(total: number, window: number, op: (n: number) => Promise<unknown>) {
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (issued < total) await op(issued++);
  };
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(window, total) }, worker));
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { perSecond: total / seconds, cpuMsPerOp: (used.user + used.system) / 1000 / total };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** The same port without its batch call: one transaction per request. */
function oneByOne(port: LighterVenuePort): SendingPort {
  const { maxBatchOrders: _none, ...capabilities } = port.capabilities;
  return {
    venue: port.venue,
    account: port.account,
    apiKeyId: port.apiKeyId,
    capabilities,
    createOrder: (request) => port.createOrder(request),
    fetchNextNonce: () => port.fetchNextNonce(),
  };
}

async function main(): Promise<void> {
  const market = bareMarket(lighterSimConfig('lighter'), Date.now());
  market.exchange.setPrices(BTC, { markPrice: '60000', indexPrice: '60000' });
  const emulator = new LighterEmulator({
    market,
    accounts: [
      {
        accountIndex: ACCOUNT_INDEX,
        accountId: 'main',
        deposit: '1000000000',
        apiKeys: [{ apiKeyIndex: API_KEY_INDEX, publicKeyHex: KEY.publicKeyHex }],
      },
    ],
    stepIntervalMs: 50,
  });
  const baseUrl = await emulator.start();
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true });
  await redis.connect();
  const keyPrefix = `pm:bench:${randomBytes(4).toString('hex')}:`;
  const state = new RedisStateStore(redis, { keyPrefix });
  const port = await openLighterVenuePort({
    venue: 'lighter',
    account: 'main',
    instruments: [BTC],
    baseUrl,
    wsUrl: emulator.wsUrl,
    chainId: emulator.chainId,
    callTimeoutMs: 30_000,
    credentials: { accountIndex: ACCOUNT_INDEX, apiKeyIndex: API_KEY_INDEX, privateKey: KEY },
    requestsPerMinute: 100_000_000,
    accountTier: 'bench',
  });
  const sender = new NonceSender({ state, nowMs: () => Date.now(), staleNonceRetries: 5 });
  const key = { venue: port.venue, account: port.account, apiKeyId: port.apiKeyId };
  await state.resyncNonce(key, await port.fetchNextNonce());
  const txCalls = () =>
    (emulator.server.requestCounts.get('POST /api/v1/sendTx') ?? 0) +
    (emulator.server.requestCounts.get('POST /api/v1/sendTxBatch') ?? 0);
  let seq = 0;
  const placeAll = async (target: SendingPort): Promise<Sample> => {
    const calls = txCalls();
    const run = `${process.pid}-${++seq}`;
    const m = await measure(ORDERS, IN_FLIGHT, (n) =>
      sender.send(target, {
        clientOrderId: `nb-${run}-${n}`,
        instrument: BTC,
        side: 'buy',
        type: 'limit',
        timeInForce: 'gtc',
        price: dec('50000'),
        size: dec('0.001'),
        reduceOnly: false,
      }),
    );
    const venueCalls = txCalls() - calls;
    // A clean book for the next round (the venue's active-orders reads grow with it).
    await sender.sign(port, (nonce) =>
      port.cancelAllOrders(BTC, { ...(nonce === undefined ? {} : { nonce }) }),
    );
    return { ...m, venueCalls };
  };
  const rawRoundTrip = () =>
    fetch(`${baseUrl}/api/v1/nextNonce?account_index=${ACCOUNT_INDEX}&api_key_index=${API_KEY_INDEX}`).then(
      (r) => r.text(),
    );
  try {
    // Warm up both paths and the JIT.
    await placeAll(port);
    await placeAll(oneByOne(port));
    const batched: Sample[] = [];
    const single: Sample[] = [];
    const raw: { perSecond: number; cpuMsPerOp: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      raw.push(await measure(ORDERS, IN_FLIGHT, rawRoundTrip));
      single.push(await placeAll(oneByOne(port)));
      batched.push(await placeAll(port));
    }
    const row = (name: string, xs: { perSecond: number; cpuMsPerOp: number; venueCalls?: number }[]) => {
      const perSecond = median(xs.map((x) => x.perSecond));
      const calls = xs[0]?.venueCalls;
      return [
        name,
        perSecond.toFixed(0),
        median(xs.map((x) => x.cpuMsPerOp)).toFixed(2),
        calls === undefined ? '-' : (ORDERS / calls).toFixed(1),
        (perSecond / median(raw.map((x) => x.perSecond))).toFixed(2),
      ];
    };
    // The CPU an order cannot avoid here: our signature and the venue's check of it.
    const crypto = await measure(50, 1, async (n) => {
      const signed = signLighterTx(
        {
          txType: 14,
          accountIndex: ACCOUNT_INDEX,
          apiKeyIndex: API_KEY_INDEX,
          nonce: BigInt(n + 1),
          expiredAt: Date.now() + 60_000,
          marketIndex: 1,
          clientOrderIndex: BigInt(n + 1),
          baseAmount: 100n,
          price: 500000n,
          isAsk: 0,
          orderType: 0,
          timeInForce: 1,
          reduceOnly: 0,
          triggerPrice: 0,
          orderExpiry: Date.now() + 3_600_000,
        },
        { chainId: emulator.chainId, key: KEY },
      );
      if (!verifyLighterTxInfo(14, signed.txInfo, emulator.chainId, KEY.publicKeyBytes))
        throw new Error('bench: a signature did not verify');
    });
    const rows = [
      row(`raw HTTP round trip (GET nextNonce), ${IN_FLIGHT} in flight`, raw),
      row('one transaction per request (sendTx)', single),
      row('batched (sendTxBatch)', batched),
    ];
    console.log(
      `orders to one strict-nonce Lighter key, ${IN_FLIGHT} in flight, ${ORDERS} orders x ${ROUNDS} rounds (median); load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    console.log(
      ['case', 'per second', 'CPU ms each', 'orders per venue call', '/ raw round trips'].join(' | '),
    );
    for (const r of rows) console.log(r.join(' | '));
    console.log(
      `sign + verify one order transaction (CPU floor per order here): ${crypto.cpuMsPerOp.toFixed(2)} ms CPU`,
    );
    console.log(
      `batched / one per request: ${(median(batched.map((x) => x.perSecond)) / median(single.map((x) => x.perSecond))).toFixed(2)}x orders/s, ` +
        `${(median(batched.map((x) => x.cpuMsPerOp)) / median(single.map((x) => x.cpuMsPerOp))).toFixed(2)}x CPU per order`,
    );
  } finally {
    await port.close();
    await emulator.close();
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
