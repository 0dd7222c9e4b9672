/**
 * Replay throughput: `perpmesh replay projections`' work (rebuild positions, funding and
 * order states from EXEC/ACCT through the read-only reader, compare) in events/s and CPU
 * per event, as a ratio to a RAW read of the same events measured side by side in the same
 * run, for both logs:
 *   - embedded: the stream's log.jsonl read with fs.readFile, split into lines, each
 *     JSON.parse'd and its payload base64-decoded (the least any reader of the format does);
 *   - JetStream: a raw nats.js ordered consumer over the EXEC stream.
 * Also printed: our read-only reader (EventLogReader.read) over the same range, so the
 * ratio splits into what the reader adds and what the projections add.
 *
 *   node --import tsx --conditions=@perpmesh/source bench/replay.bench.ts
 *
 * Uses NATS_URL (default nats://127.0.0.1:4222); creates and deletes its own namespaced
 * streams and temp dir. Prints numbers; asserts nothing about time.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  EmbeddedEventLog,
  EmbeddedLogReader,
  type EventLog,
  type EventLogReader,
  NatsEventLog,
  NatsLogReader,
} from '@perpmesh/bus';
import {
  encodeEnvelope,
  Fill,
  Liquidity,
  namespaceFor,
  newEnvelope,
  Side,
  Subjects,
  streamSpecs,
} from '@perpmesh/contracts';
import { replayProjections } from '@perpmesh/replay';
import { loadAverage } from './proc-stats.js';

const EVENTS = 20_000;
const ROUNDS = 3;
const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const tag = `BENCH_REPLAY_${randomBytes(3).toString('hex').toUpperCase()}`;
const ns = namespaceFor(tag);
const subjects = new Subjects({ root: ns.subjectRoot });
const specs = streamSpecs(ns);
const EXEC = `${ns.prefix}EXEC`;

function fills(): { subject: string; id: string; data: Uint8Array }[] {
  const t0 = Date.now();
  return Array.from({ length: EVENTS }, (_, i) => {
    const envelope = newEnvelope({
      source: 'bench',
      tsEventMs: t0 + i,
      tsInitMs: t0 + i,
      payload: {
        $case: 'fill',
        value: Fill.fromPartial({
          venue: 'paper',
          account: 'main',
          instrument: i % 2 ? 'BTC-USDC-PERP' : 'ETH-USDC-PERP',
          clientOrderId: `o${i}`,
          tradeId: `t${i}`,
          side: i % 3 ? Side.SIDE_BUY : Side.SIDE_SELL,
          price: (60_000 + (i % 100) / 10).toFixed(1),
          size: '0.001',
          fee: '0.03',
          feeCurrency: 'USDC',
          liquidity: Liquidity.LIQUIDITY_TAKER,
          filledAtMs: t0 + i,
        }),
      },
    });
    return { subject: subjects.execFill('paper', 'main'), id: envelope.id, data: encodeEnvelope(envelope) };
  });
}

async function fill(log: EventLog): Promise<void> {
  await log.ensureStreams(specs);
  const all = fills();
  for (let i = 0; i < all.length; i += 1_000) await log.publishBatch(all.slice(i, i + 1_000));
}

interface Rate {
  perS: number;
  cpuUsPerEvent: number;
}

/** Events/s and this process's CPU µs per event of `run`, which must handle EVENTS events. */
async function rate(what: string, run: () => Promise<number>): Promise<Rate> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const n = await run();
  const wallS = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  if (n !== EVENTS) throw new Error(`${what}: ${n} events, expected ${EVENTS}`);
  return { perS: n / wallS, cpuUsPerEvent: (used.user + used.system) / n };
}

/** Our read-only reader over the whole EXEC stream. */
async function readerRead(reader: EventLogReader): Promise<number> {
  let n = 0;
  for await (const _ of reader.read({ stream: EXEC })) n++;
  return n;
}

/** The embedded stream file read raw: lines, JSON.parse, base64 payload. */
async function rawFileRead(dataDir: string): Promise<number> {
  const text = await readFile(join(dataDir, 'streams', EXEC, 'log.jsonl'), 'utf8');
  let n = 0;
  let bytes = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const entry = JSON.parse(line) as { d?: string };
    if (entry.d === undefined) continue; // a compaction base line
    bytes += Buffer.from(entry.d, 'base64').length;
    n++;
  }
  if (bytes === 0) throw new Error('raw file read decoded no payload');
  return n;
}

/** The EXEC stream read raw through a nats.js ordered consumer, first to last sequence. */
async function rawJetStreamRead(): Promise<number> {
  const nc = await connect({ servers: url, noAsyncTraces: true, name: 'bench-replay-raw' });
  try {
    const js = jetstream(nc);
    const consumer = await js.consumers.get(EXEC, { deliver_policy: DeliverPolicy.All });
    const messages = await consumer.consume({ max_messages: 256 });
    let n = 0;
    let bytes = 0;
    for await (const m of messages) {
      bytes += m.data.length;
      n++;
      if (m.info.pending === 0) break;
    }
    if (bytes === 0) throw new Error('raw JetStream read got no payload');
    return n;
  } finally {
    await nc.close();
  }
}

async function replay(reader: EventLogReader): Promise<number> {
  const report = await replayProjections({
    reader,
    live: { projectionHistory: async () => [] },
    subjects,
    streamPrefix: ns.prefix,
    consumerName: 'account',
  });
  return report.checks.find((c) => c.kind === 'positions')?.folded ?? 0;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(10);

const fmtRate = (r: Rate) => `${fmt(r.perS)} ev/s ${r.cpuUsPerEvent.toFixed(1).padStart(6)} µs CPU/ev`;

async function measure(name: string, rawName: string, raw: () => Promise<number>, reader: EventLogReader) {
  const paths = [
    { name: `raw (${rawName})`, run: raw },
    { name: 'our reader (EventLogReader.read)', run: () => readerRead(reader) },
    { name: 'replay projections', run: () => replay(reader) },
  ];
  for (const p of paths) await rate(p.name, p.run); // warm-up
  const rounds: Rate[][] = paths.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    // Interleaved, so drift on a shared machine hits every path alike.
    for (const [i, p] of paths.entries()) rounds[i]?.push(await rate(p.name, p.run));
  }
  const medians = rounds.map((xs) => ({
    perS: median(xs.map((x) => x.perS)),
    cpuUsPerEvent: median(xs.map((x) => x.cpuUsPerEvent)),
  }));
  const base = medians[0] as Rate;
  console.log(`${name}:`);
  for (const [i, p] of paths.entries()) {
    const m = medians[i] as Rate;
    console.log(
      `  ${p.name.padEnd(44)} ${fmtRate(m)}   ${(m.perS / base.perS).toFixed(2)}x raw rate, ${(m.cpuUsPerEvent / base.cpuUsPerEvent).toFixed(2)}x raw CPU`,
    );
  }
}

console.log(
  `${EVENTS.toLocaleString('en-US')} exec.fill events; replay = positions + funding + order states, compared; median of ${ROUNDS} rounds; load average ${loadAverage()}`,
);
const dataDir = await mkdtemp(join(tmpdir(), 'perpmesh-bench-replay-'));
try {
  const embedded = await EmbeddedEventLog.open({ dataDir, fsync: 'never', retentionIntervalMs: 0 });
  await fill(embedded);
  const embeddedReader = await EmbeddedLogReader.open(dataDir);
  await measure('embedded', 'readFile + JSON.parse + base64', () => rawFileRead(dataDir), embeddedReader);
  await embeddedReader.close();
  await embedded.close();

  const nats = await NatsEventLog.connect({ servers: url, name: 'bench-replay' });
  try {
    await fill(nats);
    const natsReader = await NatsLogReader.connect({ servers: url, name: 'bench-replay-reader' });
    await measure('jetstream', 'nats.js ordered consumer', rawJetStreamRead, natsReader);
    await natsReader.close();
  } finally {
    for (const s of specs) await nats.deleteStream(s.name).catch(() => {});
    await nats.close();
  }
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
