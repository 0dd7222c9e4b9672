/**
 * Replay throughput: `perpmesh replay projections`' work (rebuild positions, funding and
 * order states from EXEC/ACCT through the read-only reader, compare) in events/s, as a
 * ratio to a raw read of the same range through the same reader, measured side by side,
 * for both logs (embedded files, JetStream).
 *
 *   node --import tsx --conditions=@perpmesh/source bench/replay.bench.ts
 *
 * Uses NATS_URL (default nats://127.0.0.1:4222); creates and deletes its own namespaced
 * streams and temp dir. Prints numbers; asserts nothing about time.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
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
import { replayProjections } from '../libs/cli/src/replay/projections.js';

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

async function rawRead(reader: EventLogReader): Promise<number> {
  const start = performance.now();
  let n = 0;
  for await (const _ of reader.read({ stream: EXEC })) n++;
  if (n !== EVENTS) throw new Error(`read ${n} events, expected ${EVENTS}`);
  return n / ((performance.now() - start) / 1000);
}

async function replay(reader: EventLogReader): Promise<number> {
  const start = performance.now();
  const report = await replayProjections({
    reader,
    live: { projectionHistory: async () => [] },
    subjects,
    streamPrefix: ns.prefix,
    consumerName: 'account',
  });
  const folded = report.checks.find((c) => c.kind === 'positions')?.folded;
  if (folded !== EVENTS) throw new Error(`replay folded ${folded} fills, expected ${EVENTS}`);
  return EVENTS / ((performance.now() - start) / 1000);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(10);

async function measure(name: string, reader: EventLogReader): Promise<void> {
  await rawRead(reader); // warm-up
  await replay(reader);
  const raw: number[] = [];
  const rep: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    raw.push(await rawRead(reader));
    rep.push(await replay(reader));
  }
  const ratio = median(rep) / median(raw);
  console.log(
    `${name.padEnd(10)} raw read ${fmt(median(raw))} ev/s   replay ${fmt(median(rep))} ev/s   ratio ${ratio.toFixed(2)}`,
  );
}

console.log(
  `${EVENTS.toLocaleString('en-US')} exec.fill events; replay = positions + funding + order states, compared`,
);
const dataDir = await mkdtemp(join(tmpdir(), 'perpmesh-bench-replay-'));
try {
  const embedded = await EmbeddedEventLog.open({ dataDir, fsync: 'never', retentionIntervalMs: 0 });
  await fill(embedded);
  const embeddedReader = await EmbeddedLogReader.open(dataDir);
  await measure('embedded', embeddedReader);
  await embeddedReader.close();
  await embedded.close();

  const nats = await NatsEventLog.connect({ servers: url, name: 'bench-replay' });
  try {
    await fill(nats);
    const natsReader = await NatsLogReader.connect({ servers: url, name: 'bench-replay-reader' });
    await measure('jetstream', natsReader);
    await natsReader.close();
  } finally {
    for (const s of specs) await nats.deleteStream(s.name).catch(() => {});
    await nats.close();
  }
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
