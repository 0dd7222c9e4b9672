/**
 * EventLog publish+ack throughput over JetStream as a ratio to raw nats.js `js.publish`
 * (same connection options, same message count and size, same window), measured side by
 * side in one run: windowed (pipelined) and one at a time. A third windowed row adds a
 * FileOutbox (an fsync'd journal write per batch) to show what the restart guarantee costs;
 * its window ends when the batch's outbox removal is written too, so the outbox's whole
 * work is billed to it. Every timed window starts after a full GC, so no case pays for the
 * garbage of the one before.
 *
 *   node --import tsx --conditions=@perpmesh/source bench/eventlog.bench.ts
 *   EVENTLOG_BENCH_ROUNDS=9 ...   # rounds (default 5); the table shows medians
 *   EVENTLOG_BENCH_GC_AFTER=1 ... # a full GC at the end of each window too, billed to it
 *
 * Uses NATS_URL (default nats://127.0.0.1:4222); creates and deletes its own stream.
 * Prints numbers; asserts nothing about time.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { FileOutbox, NatsEventLog, type Outbox, type OutgoingMessage } from '@perpmesh/bus';
import { loadAverage } from './proc-stats.js';

const ROUNDS = Number(process.env.EVENTLOG_BENCH_ROUNDS ?? 5);
const GC_AFTER = process.env.EVENTLOG_BENCH_GC_AFTER === '1';
const WINDOWED_MSGS = 20_000;
const SEQUENTIAL_MSGS = 2_000;
const WINDOW = 256;
const SIZE_BYTES = 256;

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const tag = randomBytes(4).toString('hex').toUpperCase();
const stream = `BENCH_EVENTLOG_${tag}`;
const subject = `bench.eventlog.${tag}`;
const payload = new Uint8Array(randomBytes(SIZE_BYTES));
let idCounter = 0;
const nextId = () => `${tag}-${idCounter++}`;

interface Rate {
  perS: number;
  /** This process's CPU (user + system) per message, µs: what the client side costs. */
  cpuUs: number;
}

// A full collection before each window (the flag must be set before the context is made).
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

async function timed(total: number, run: () => Promise<unknown>): Promise<Rate> {
  collectGarbage();
  const cpu = process.cpuUsage();
  const start = performance.now();
  await run();
  // Optionally bill the window's leftover garbage to it (plus a full GC's fixed cost, the
  // same for every case): EVENTLOG_BENCH_GC_AFTER=1.
  if (GC_AFTER) collectGarbage();
  const used = process.cpuUsage(cpu);
  return { perS: total / ((performance.now() - start) / 1000), cpuUs: (used.user + used.system) / total };
}

/** Runs `op` `total` times with at most `window` in flight. */
function perSecond(total: number, window: number, op: () => Promise<unknown>): Promise<Rate> {
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (issued < total) {
      issued++;
      await op();
    }
  };
  return timed(total, () => Promise.all(Array.from({ length: Math.min(window, total) }, worker)));
}

function batchPerSecond(total: number, publishBatch: (msgs: OutgoingMessage[]) => Promise<unknown>) {
  const msgs = Array.from({ length: total }, () => ({ subject, id: nextId(), data: payload }));
  return timed(total, () => publishBatch(msgs));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(10);

const nc = await connect({ servers: url, noAsyncTraces: true, name: 'bench-raw' });
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
const dataDir = await mkdtemp(join(tmpdir(), 'perpmesh-bench-outbox-'));
const log = await NatsEventLog.connect({ servers: url, name: 'bench-eventlog', publishWindow: WINDOW });
/** The FileOutbox, with a way to wait for the removals the log does not wait for. */
class SettlingOutbox implements Outbox {
  private readonly removals = new Set<Promise<void>>();
  constructor(readonly inner: FileOutbox) {}
  add(msgs: readonly OutgoingMessage[]) {
    return this.inner.add(msgs);
  }
  remove(ids: readonly string[]) {
    const p = this.inner.remove(ids).finally(() => this.removals.delete(p));
    this.removals.add(p);
    return p;
  }
  pending() {
    return this.inner.pending();
  }
  close() {
    return this.inner.close();
  }
  async settled(): Promise<void> {
    await Promise.allSettled([...this.removals]);
  }
}
const outbox = new SettlingOutbox(await FileOutbox.open(dataDir));
const logWithOutbox = await NatsEventLog.connect({
  servers: url,
  name: 'bench-eventlog-outbox',
  publishWindow: WINDOW,
  outbox,
});

try {
  await log.ensureStreams([{ name: stream, subjects: [`${subject}`], maxAgeMs: 600_000 }]);
  const rawOne = () => js.publish(subject, payload, { msgID: nextId() });
  const logOne = () => log.publish({ subject, id: nextId(), data: payload });

  // Warm-up (JIT, connections, stream files).
  await perSecond(2_000, WINDOW, rawOne);
  await perSecond(2_000, WINDOW, logOne);

  const rows = {
    rawWin: [] as Rate[],
    logWin: [] as Rate[],
    obWin: [] as Rate[],
    obAlone: [] as Rate[],
    rawSeq: [] as Rate[],
    logSeq: [] as Rate[],
  };
  for (let round = 0; round < ROUNDS; round++) {
    rows.rawWin.push(await perSecond(WINDOWED_MSGS, WINDOW, rawOne));
    rows.logWin.push(await batchPerSecond(WINDOWED_MSGS, (m) => log.publishBatch(m)));
    rows.obWin.push(
      await batchPerSecond(WINDOWED_MSGS, async (m) => {
        await logWithOutbox.publishBatch(m);
        await outbox.settled();
      }),
    );
    // What the outbox's journal costs on its own (no NATS): the same batch added and removed.
    rows.obAlone.push(
      await batchPerSecond(WINDOWED_MSGS, async (m) => {
        await outbox.add(m);
        await outbox.remove(m.map((x) => x.id));
      }),
    );
    rows.rawSeq.push(await perSecond(SEQUENTIAL_MSGS, 1, rawOne));
    rows.logSeq.push(await perSecond(SEQUENTIAL_MSGS, 1, logOne));
  }

  const med = (xs: Rate[]): Rate => ({
    perS: median(xs.map((x) => x.perS)),
    cpuUs: median(xs.map((x) => x.cpuUs)),
  });
  console.log(
    `EventLog publish+ack vs raw nats.js js.publish — ${SIZE_BYTES} B messages, median of ${ROUNDS} rounds, NATS ${nc.info?.version}; load average ${loadAverage()}${GC_AFTER ? '; GC after each window billed to it' : ''}`,
  );
  console.log(
    `${'case'.padEnd(44)} ${'raw msg/s'.padStart(10)} ${'log msg/s'.padStart(10)}  ratio  ${'CPU µs/msg raw'.padStart(14)} ${'log'.padStart(6)}  CPU ratio (raw/log; rounds)`,
  );
  const row = (name: string, raws: Rate[], ourRates: Rate[]) => {
    const raw = med(raws);
    const ours = med(ourRates);
    // Each round's raw and ours ran back to back: their ratio is the fairest single reading.
    const perRound = raws.map((r, i) => r.cpuUs / (ourRates[i] as Rate).cpuUs).sort((x, y) => x - y);
    const range = `${(perRound[0] as number).toFixed(2)}-${(perRound.at(-1) as number).toFixed(2)}`;
    console.log(
      `${name.padEnd(44)} ${fmt(raw.perS)} ${fmt(ours.perS)}  ${(ours.perS / raw.perS).toFixed(2)}x  ${raw.cpuUs.toFixed(1).padStart(14)} ${ours.cpuUs.toFixed(1).padStart(6)}  ${(raw.cpuUs / ours.cpuUs).toFixed(2)}x (${range})`,
    );
  };
  row(`windowed ${WINDOW}, ${WINDOWED_MSGS} msgs (publishBatch)`, rows.rawWin, rows.logWin);
  row(`windowed ${WINDOW}, ${WINDOWED_MSGS} msgs + FileOutbox`, rows.rawWin, rows.obWin);
  row(`one at a time, ${SEQUENTIAL_MSGS} msgs (publish)`, rows.rawSeq, rows.logSeq);
  const alone = med(rows.obAlone);
  console.log(
    `FileOutbox alone (add + remove of the same ${WINDOWED_MSGS}, fsync'd, no NATS): ${alone.cpuUs.toFixed(1)} µs CPU/msg, ${fmt(alone.perS).trim()} msg/s`,
  );
} finally {
  await jsm.streams.delete(stream).catch(() => {});
  await logWithOutbox.close();
  await outbox.close();
  await log.close();
  await nc.close();
  await rm(dataDir, { recursive: true, force: true });
}
