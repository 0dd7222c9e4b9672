/**
 * Tick-to-event latency of the market-data feed: a venue book change (a delta from the
 * venue port) → the md.book envelope seen by a NATS subscriber (EventLog.tail), one change
 * at a time, p50 / p99, as a ratio to the raw path measured side by side in the same run:
 * the same subscriber receiving an event published straight onto the same stream with
 * EventLog.publish. The difference is what the feed adds (book apply, top-N, envelope,
 * protobuf encode, queue). Conflation is off (bookPublishIntervalMs 0) so each change is
 * published; with the default 100 ms conflation a burst waits at most one interval.
 *
 *   node --import tsx --conditions=@perpmesh/source bench/marketdata.bench.ts
 *
 * Uses NATS_URL (default nats://127.0.0.1:4222); creates and deletes its own streams.
 * Prints numbers; asserts nothing about time.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { NatsEventLog } from '@perpmesh/bus';
import { decodeEnvelope, namespaceFor, Subjects, streamSpecs } from '@perpmesh/contracts';
import { dec } from '@perpmesh/core';
import { MarketDataFeed } from '@perpmesh/market-data';
import { createLogger } from '@perpmesh/runtime';
import type { MarketEvent, VenuePort } from '@perpmesh/venues';

const SAMPLES = 400;
const WARMUP = 50;
const INSTRUMENT = 'BTC-USDC-PERP';
const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const ns = namespaceFor(`BENCH_MD_${randomBytes(3).toString('hex').toUpperCase()}`);
const specs = streamSpecs({ prefix: ns.prefix, subjectRoot: ns.subjectRoot });
const subjects = new Subjects({ root: ns.subjectRoot });

const log = await NatsEventLog.connect({ servers: url, name: 'bench-md' });
await log.ensureStreams(specs);

// A venue port that emits one book delta per call of `tick()`.
let emit: (event: MarketEvent) => void = () => {};
let seq = 1;
const t0 = Date.now();
const port = {
  venue: 'paper',
  account: 'bench',
  apiKeyId: 'default',
  loadMarkets: async () => [{ instrument: INSTRUMENT }],
  fetchFunding: async () => [],
  fetchOrderBook: async () => {
    throw new Error('no resync in the bench');
  },
  watchMarket: async (_instruments: string[], onEvent: (event: MarketEvent) => void) => {
    emit = onEvent;
    const bids = Array.from({ length: 50 }, (_, i) => ({ price: dec(50_000 - i), size: dec('1.5') }));
    const asks = Array.from({ length: 50 }, (_, i) => ({ price: dec(50_001 + i), size: dec('1.5') }));
    onEvent({ kind: 'snapshot', instrument: INSTRUMENT, seq, bids, asks, tsEventMs: t0 });
    return { close: async () => {} };
  },
  readiness: () => [],
  close: async () => {},
} as unknown as VenuePort;
const tick = () => {
  seq += 1;
  emit({
    kind: 'delta',
    instrument: INSTRUMENT,
    seq,
    bids: [{ price: dec(50_000), size: dec(seq % 7).plus(1) }],
    asks: [],
    tsEventMs: t0 + seq,
  });
};

const feed = new MarketDataFeed({
  source: 'market-data/bench',
  log,
  venues: [{ port, instruments: [INSTRUMENT] }],
  nowMs: Date.now,
  logger: createLogger({ service: 'bench', level: 'silent' }),
  subjects,
  bookPublishIntervalMs: 0,
  fundingPollIntervalMs: 0,
  portReadinessPollMs: 0,
});
await feed.start();
await feed.flush();

/** Waits for the subscriber to see `key`; resolves with the receive time. */
const waiting = new Map<string, (atMs: number) => void>();
const seen = (key: string) => {
  const at = performance.now();
  waiting.get(key)?.(at);
  waiting.delete(key);
};
const tail = await log.tail(subjects.mdBook('paper', INSTRUMENT), { from: 'new' }, async (msg) => {
  const p = decodeEnvelope(msg.data).payload;
  if (p?.$case === 'orderBook') seen(`book:${p.value.sequence}`);
});
// Same stream (MD), its own subject, so each tail sees only its own path.
const rawSubject = subjects.mdTrade('raw', INSTRUMENT);
const rawTail = await log.tail(rawSubject, { from: 'new' }, async (msg) => seen(`raw:${msg.id}`));
const expect = (key: string) => new Promise<number>((resolve) => waiting.set(key, resolve));

const payload = new Uint8Array(randomBytes(1200)); // about a top-20 md.book envelope
async function sampleRaw(i: number): Promise<number> {
  const id = `raw-${ns.subjectRoot}-${i}`;
  const got = expect(`raw:${id}`);
  const start = performance.now();
  await log.publish({ subject: rawSubject, id, data: payload });
  return (await got) - start;
}
async function sampleFeed(): Promise<number> {
  const got = expect(`book:${seq + 1}`);
  const start = performance.now();
  tick();
  return (await got) - start;
}

const raw: number[] = [];
const viaFeed: number[] = [];
for (let i = 0; i < WARMUP + SAMPLES; i++) {
  // Interleaved, so both see the same machine load.
  const r = await sampleRaw(i);
  const f = await sampleFeed();
  if (i >= WARMUP) {
    raw.push(r);
    viaFeed.push(f);
  }
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
const ms = (n: number) => `${n.toFixed(3).padStart(8)} ms`;
console.log(`tick-to-event over NATS (${SAMPLES} samples, one at a time, conflation off)`);
console.log(`${'path'.padEnd(44)}${'p50'.padStart(11)}${'p99'.padStart(11)}`);
console.log(`${'raw EventLog.publish -> tail'.padEnd(44)}${ms(pct(raw, 50))}${ms(pct(raw, 99))}`);
console.log(
  `${'venue delta -> feed -> md.book -> tail'.padEnd(44)}${ms(pct(viaFeed, 50))}${ms(pct(viaFeed, 99))}`,
);
console.log(
  `${'ratio feed / raw'.padEnd(44)}${`${(pct(viaFeed, 50) / pct(raw, 50)).toFixed(2)}x`.padStart(11)}${`${(pct(viaFeed, 99) / pct(raw, 99)).toFixed(2)}x`.padStart(11)}`,
);

await feed.stop();
await tail.stop();
await rawTail.stop();
for (const s of specs) await log.deleteStream(s.name);
await log.close();
