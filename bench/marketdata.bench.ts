/**
 * Tick-to-event latency of the market-data feed: a venue book change (a delta from the
 * venue port) -> the md.book envelope seen by a subscriber of the log (EventLog.tail), one
 * change at a time, p50 / p99 and CPU per tick, against raw nats.js carrying the SAME
 * payload bytes (the md.book envelope the feed published last) in the same run:
 *   - raw core NATS: `nc.publish` -> `nc.subscribe` (the wire floor: no storage);
 *   - raw JetStream: `js.publish` onto the same MD stream -> a raw nats.js ordered consumer
 *     (the stored floor: what the feed's path must do, since md.book is on a stream);
 *   - our EventLog.publish -> EventLog.tail of the same bytes (what the log layer adds).
 * The feed's own work on top is book apply, top-N, envelope, protobuf encode, queue.
 * Conflation is off (bookPublishIntervalMs 0) so each change is published. Samples of the
 * four paths are interleaved so load on a shared machine hits all alike; CPU is this
 * process's (`process.cpuUsage`: feed, clients and subscribers all live here).
 *
 * Then the shipped conflation (100 ms per book, leading edge): a second feed follows a quiet
 * book and a busy one (a change every 10 ms); each sample changes the quiet book after its
 * last md.book is an interval old, so it must go out at once whatever the busy book does
 * (with one interval for the whole feed it waited up to 100 ms for the busy book's flush).
 *
 *   node --import tsx --conditions=@perpmesh/source bench/marketdata.bench.ts
 *   MD_BENCH_SAMPLES=400 (default), MD_BENCH_CONFLATED_SAMPLES=100 (default; ~110 ms each)
 *
 * Uses NATS_URL (default nats://127.0.0.1:4222); creates and deletes its own streams.
 * Prints numbers; asserts nothing about time.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import { NatsEventLog } from '@perpmesh/bus';
import { decodeEnvelope, namespaceFor, Subjects, streamSpecs } from '@perpmesh/contracts';
import { dec, sleep } from '@perpmesh/core';
import { MarketDataFeed } from '@perpmesh/market-data';
import { createLogger } from '@perpmesh/runtime';
import type { MarketEvent, VenuePort } from '@perpmesh/venues';
import { loadAverage, quantile } from './proc-stats.js';

const SAMPLES = Number(process.env.MD_BENCH_SAMPLES ?? 400);
const CONFLATED_SAMPLES = Number(process.env.MD_BENCH_CONFLATED_SAMPLES ?? 100);
const SHIPPED_INTERVAL_MS = 100;
const BUSY_EVERY_MS = 10;
const WARMUP = 50;
const INSTRUMENT = 'BTC-USDC-PERP';
const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const ns = namespaceFor(`BENCH_MD_${randomBytes(3).toString('hex').toUpperCase()}`);
const specs = streamSpecs({ prefix: ns.prefix, subjectRoot: ns.subjectRoot });
const subjects = new Subjects({ root: ns.subjectRoot });

const log = await NatsEventLog.connect({ servers: url, name: 'bench-md' });
await log.ensureStreams(specs);
// The raw client: its own connection, as the feed's log has its own.
const nc = await connect({ servers: url, noAsyncTraces: true, name: 'bench-md-raw' });
const js = jetstream(nc);

const t0 = Date.now();

/** A venue port over `instruments` (50 levels a side each); `tick(i)` emits one delta of i's book. */
function benchPort(venue: string, instruments: readonly string[]) {
  let emit: (event: MarketEvent) => void = () => {};
  const seqs = new Map(instruments.map((i) => [i, 1]));
  const port = {
    venue,
    account: 'bench',
    apiKeyId: 'default',
    loadMarkets: async () => instruments.map((instrument) => ({ instrument })),
    fetchFunding: async () => [],
    fetchOrderBook: async () => {
      throw new Error('no resync in the bench');
    },
    watchMarket: async (_instruments: string[], onEvent: (event: MarketEvent) => void) => {
      emit = onEvent;
      const bids = Array.from({ length: 50 }, (_, i) => ({ price: dec(50_000 - i), size: dec('1.5') }));
      const asks = Array.from({ length: 50 }, (_, i) => ({ price: dec(50_001 + i), size: dec('1.5') }));
      for (const instrument of instruments)
        onEvent({ kind: 'snapshot', instrument, seq: 1, bids, asks, tsEventMs: t0 });
      return { close: async () => {} };
    },
    readiness: () => [],
    close: async () => {},
  } as unknown as VenuePort;
  /** Emits the next delta of `instrument`'s book; answers its sequence. */
  const tick = (instrument: string): number => {
    const seq = (seqs.get(instrument) ?? 1) + 1;
    seqs.set(instrument, seq);
    emit({
      kind: 'delta',
      instrument,
      seq,
      bids: [{ price: dec(50_000), size: dec(seq % 7).plus(1) }],
      asks: [],
      tsEventMs: t0 + seq,
    });
    return seq;
  };
  return { port, tick, seqOf: (instrument: string) => seqs.get(instrument) ?? 1 };
}
const { port, tick: tickBook, seqOf } = benchPort('paper', [INSTRUMENT]);
const tick = () => tickBook(INSTRUMENT);

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

/** Waits for a subscriber to see `key`; resolves with the receive time. */
const waiting = new Map<string, (atMs: number) => void>();
const seen = (key: string) => {
  const at = performance.now();
  waiting.get(key)?.(at);
  waiting.delete(key);
};
const expect = (key: string) => new Promise<number>((resolve) => waiting.set(key, resolve));

// The md.book bytes the feed published last: the payload every raw path carries (every
// subscriber decodes what it gets, so these must be a real envelope: see the first sample).
let bookBytes: Uint8Array = new Uint8Array(0);
const tail = await log.tail(subjects.mdBook('paper', INSTRUMENT), { from: 'new' }, async (msg) => {
  const p = decodeEnvelope(msg.data).payload;
  if (p?.$case !== 'orderBook') return;
  bookBytes = msg.data;
  seen(`book:${p.value.sequence}`);
});
// Same stream (MD), subjects of their own, so each subscriber sees only its own path.
const logSubject = subjects.mdTrade('log', INSTRUMENT);
// Every subscriber decodes what it receives, as a reader of md.book does.
const logTail = await log.tail(logSubject, { from: 'new' }, async (msg) => {
  decodeEnvelope(msg.data);
  seen(`log:${msg.id}`);
});
const jsSubject = subjects.mdTrade('js', INSTRUMENT);
const mdStream = specs.find((s) => s.subjects.some((x) => x.startsWith(`${ns.subjectRoot}.md.`)))?.name;
if (mdStream === undefined) throw new Error('no MD stream in streamSpecs');
const jsConsumer = await js.consumers.get(mdStream, {
  filter_subjects: jsSubject,
  deliver_policy: DeliverPolicy.New,
});
const jsMessages = await jsConsumer.consume({ max_messages: 256 });
void (async () => {
  for await (const m of jsMessages) {
    decodeEnvelope(m.data);
    seen(`js:${m.headers?.get('Nats-Msg-Id')}`);
  }
})();
// Core NATS: not on any stream's subjects.
const coreSubject = `${ns.subjectRoot}.bench.core`;
const coreSub = nc.subscribe(coreSubject, {
  callback: (_err, m) => {
    decodeEnvelope(m.data);
    seen(`core:${m.headers?.get('id')}`);
  },
});
await nc.flush();

type Path = 'core' | 'js' | 'log' | 'feed';
const PATHS: ReadonlyArray<{ path: Path; name: string }> = [
  { path: 'core', name: 'raw nats.js publish -> subscribe (core)' },
  { path: 'js', name: 'raw nats.js js.publish -> ordered consumer' },
  { path: 'log', name: 'EventLog.publish -> EventLog.tail' },
  { path: 'feed', name: 'venue delta -> feed -> md.book -> tail' },
];
let n = 0;
async function sample(path: Path): Promise<{ ms: number; cpuUs: number }> {
  const id = `${path}-${ns.subjectRoot}-${n++}`;
  const got = expect(path === 'feed' ? `book:${seqOf(INSTRUMENT) + 1}` : `${path}:${id}`);
  const cpu = process.cpuUsage();
  const start = performance.now();
  if (path === 'core') {
    const h = headers();
    h.set('id', id);
    nc.publish(coreSubject, bookBytes, { headers: h });
  } else if (path === 'js') await js.publish(jsSubject, bookBytes, { msgID: id });
  else if (path === 'log') await log.publish({ subject: logSubject, id, data: bookBytes });
  else tick();
  const ms = (await got) - start;
  const used = process.cpuUsage(cpu);
  return { ms, cpuUs: used.user + used.system };
}

const ms = new Map<Path, number[]>(PATHS.map((p) => [p.path, []]));
const cpuUs = new Map<Path, number>(PATHS.map((p) => [p.path, 0]));
await sample('feed'); // the first md.book: the bytes the raw paths carry from now on
const loadBefore = loadAverage();
for (let i = 0; i < WARMUP + SAMPLES; i++) {
  for (const { path } of PATHS) {
    const s = await sample(path);
    if (i < WARMUP) continue;
    ms.get(path)?.push(s.ms);
    cpuUs.set(path, (cpuUs.get(path) ?? 0) + s.cpuUs);
  }
}

const fmt = (x: number) => `${x.toFixed(3).padStart(8)} ms`;
const p = (path: Path, q: number) => quantile(ms.get(path) ?? [], q);
console.log(
  `tick-to-event over NATS ${nc.info?.version}: ${SAMPLES} samples per path, one at a time, interleaved, conflation off, ${bookBytes.length} B md.book payload; load average ${loadBefore} -> ${loadAverage()}`,
);
console.log(
  `${'path'.padEnd(46)}${'p50'.padStart(11)}${'p99'.padStart(11)}${'CPU/tick'.padStart(12)}${'p50/core'.padStart(10)}${'p50/js'.padStart(9)}`,
);
for (const { path, name } of PATHS) {
  console.log(
    `${name.padEnd(46)}${fmt(p(path, 0.5))}${fmt(p(path, 0.99))}${`${((cpuUs.get(path) ?? 0) / SAMPLES).toFixed(0)} µs`.padStart(12)}${`${(p(path, 0.5) / p('core', 0.5)).toFixed(2)}x`.padStart(10)}${`${(p(path, 0.5) / p('js', 0.5)).toFixed(2)}x`.padStart(9)}`,
  );
}
console.log(
  `feed / raw JetStream: p50 ${(p('feed', 0.5) / p('js', 0.5)).toFixed(2)}x, p99 ${(p('feed', 0.99) / p('js', 0.99)).toFixed(2)}x; feed / raw core NATS: p50 ${(p('feed', 0.5) / p('core', 0.5)).toFixed(2)}x`,
);

// The shipped conflation: a quiet book beside a busy one on a second feed (its own venue id).
const QUIET = 'ETH-USDC-PERP';
const conflatedVenue = benchPort('paper-conflated', [INSTRUMENT, QUIET]);
const conflatedFeed = new MarketDataFeed({
  source: 'market-data/bench-conflated',
  log,
  venues: [{ port: conflatedVenue.port, instruments: [INSTRUMENT, QUIET] }],
  nowMs: Date.now,
  logger: createLogger({ service: 'bench', level: 'silent' }),
  subjects,
  bookPublishIntervalMs: SHIPPED_INTERVAL_MS,
  fundingPollIntervalMs: 0,
  portReadinessPollMs: 0,
});
await conflatedFeed.start();
await conflatedFeed.flush();
let quietPublishedAt = 0;
let busyPublished = 0;
const conflatedTail = await log.tail(
  subjects.filter('mdBook', { venue: 'paper-conflated' }),
  { from: 'new' },
  async (msg) => {
    const p = decodeEnvelope(msg.data).payload;
    if (p?.$case !== 'orderBook') return;
    if (p.value.instrument !== QUIET) {
      busyPublished += 1;
      return;
    }
    quietPublishedAt = performance.now();
    seen(`quiet:${p.value.sequence}`);
  },
);
const busy = setInterval(() => conflatedVenue.tick(INSTRUMENT), BUSY_EVERY_MS);
const quietMs: number[] = [];
const conflatedStart = performance.now();
for (let i = 0; i < CONFLATED_SAMPLES; i++) {
  // The quiet book's last md.book is an interval old: its next change is a leading edge.
  const waitMs = quietPublishedAt + SHIPPED_INTERVAL_MS + 1 - performance.now();
  if (waitMs > 0) await sleep(waitMs);
  const got = expect(`quiet:${conflatedVenue.seqOf(QUIET) + 1}`);
  const start = performance.now();
  conflatedVenue.tick(QUIET);
  quietMs.push((await got) - start);
}
const conflatedSeconds = (performance.now() - conflatedStart) / 1000;
clearInterval(busy);
console.log(
  `shipped conflation (${SHIPPED_INTERVAL_MS} ms per book, leading edge), ${CONFLATED_SAMPLES} samples: a quiet book's change -> md.book p50 ${fmt(quantile(quietMs, 0.5))}, p90 ${fmt(quantile(quietMs, 0.9))}, p99 ${fmt(quantile(quietMs, 0.99))} (${(quantile(quietMs, 0.5) / p('js', 0.5)).toFixed(2)}x raw JetStream p50, ${(quantile(quietMs, 0.5) / p('feed', 0.5)).toFixed(2)}x the feed without conflation) while a busy book changed every ${BUSY_EVERY_MS} ms and was published ${(busyPublished / conflatedSeconds).toFixed(1)} times/s; load average ${loadAverage()}`,
);
await conflatedTail.stop();
await conflatedFeed.stop();

await feed.stop();
await tail.stop();
await logTail.stop();
jsMessages.stop();
coreSub.unsubscribe();
for (const s of specs) await log.deleteStream(s.name);
await log.close();
await nc.close();
