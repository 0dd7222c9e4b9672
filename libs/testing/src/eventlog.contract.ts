/**
 * The EventLog contract: one suite, run against every adapter
 * (eventlog.embedded.contract.test.ts, eventlog.nats.contract.test.ts).
 *
 * Each case works in its own stream (unique name, subjects `<NS>.>`) and deletes it after,
 * so the NATS run can share a server with other tests.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type EventLog,
  type EventLogLogger,
  type HandlerFailure,
  InMemoryProjectionStore,
  NoStreamForSubjectError,
  PoisonEventError,
  type ProjectionStore,
  runProjector,
  type StoredMessage,
  StreamNotFoundError,
} from '@perpmesh/bus';
import { sleep, ValidationError } from '@perpmesh/core';
import { eventually } from './eventually.js';
import { uniqueTestName } from './servers.js';
import { collectStored, textMessage } from './stored-messages.js';

export interface EventLogFixture {
  readonly log: EventLog;
  /**
   * A new log over the same storage, as after a process restart. Called after the
   * previous log was closed.
   */
  reopen(): Promise<EventLog>;
  /** Closes every log the fixture opened and removes its storage. */
  cleanup(): Promise<void>;
}

/** What the suite hands `makeLog`: every log the fixture opens must use this logger. */
export interface EventLogFixtureOptions {
  readonly logger: EventLogLogger;
}

export interface EventLogContractOptions {
  /** ackWait for the crash case: how soon an unacked event comes back (JetStream). */
  readonly ackWaitMs?: number;
}

const dec = new TextDecoder();

interface LogLine {
  readonly level: 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly msg: string;
}

/** A logger that keeps what it was given, so a case can check what was reported. */
function recordingLogger(): EventLogLogger & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    warn: (fields, msg) => void lines.push({ level: 'warn', fields, msg }),
    error: (fields, msg) => void lines.push({ level: 'error', fields, msg }),
  };
}

interface Ctx {
  /** The log in use (changes after reopen). */
  log: EventLog;
  readonly fx: EventLogFixture;
  readonly stream: string;
  /** Subject prefix owned by this case (`<NS>`); the stream stores `<NS>.>`. */
  readonly ns: string;
  /** What the adapters logged in this case. */
  readonly logs: LogLine[];
}

export function describeEventLogContract(
  name: string,
  makeLog: (options: EventLogFixtureOptions) => Promise<EventLogFixture>,
  options: EventLogContractOptions = {},
): void {
  const ackWaitMs = options.ackWaitMs ?? 1_000;

  async function withStream(fn: (ctx: Ctx) => Promise<void>): Promise<void> {
    const logger = recordingLogger();
    const fx = await makeLog({ logger });
    const ns = uniqueTestName('EL');
    const ctx: Ctx = { log: fx.log, fx, stream: ns, ns, logs: logger.lines };
    try {
      await ctx.log.ensureStreams([{ name: ns, subjects: [`${ns}.>`], maxAgeMs: 3_600_000 }]);
      await fn(ctx);
    } finally {
      await ctx.log.deleteStream(ns).catch(() => {});
      await fx.cleanup();
    }
  }

  describe(`EventLog contract: ${name}`, () => {
    test('publish then read returns the events in order with subject, id, data and headers', () =>
      withStream(async ({ log, stream, ns }) => {
        const a1 = await log.publish(textMessage(`${ns}.order.paper`, 'id-1', 'one'));
        const a2 = await log.publish(
          textMessage(`${ns}.fill.paper`, 'id-2', 'two', { 'content-type': 'test/plain' }),
        );
        const a3 = await log.publish(textMessage(`${ns}.order.paper`, 'id-3', 'three'));
        assert.deepEqual(
          [a1, a2, a3],
          [1, 2, 3].map((seq) => ({ stream, seq, duplicate: false })),
        );
        const got = await collectStored(log.read({ stream }));
        assert.deepEqual(
          got.map((m) => [
            m.stream,
            m.seq,
            m.subject,
            m.id,
            dec.decode(m.data),
            m.redelivered,
            m.deliveryCount,
          ]),
          [
            [stream, 1, `${ns}.order.paper`, 'id-1', 'one', false, 1],
            [stream, 2, `${ns}.fill.paper`, 'id-2', 'two', false, 1],
            [stream, 3, `${ns}.order.paper`, 'id-3', 'three', false, 1],
          ],
        );
        assert.deepEqual(got[1]?.headers, { 'content-type': 'test/plain' });
        assert.equal(got[0]?.headers, undefined);
        for (let i = 0; i < got.length; i++) {
          const t = got[i]?.timestampMs as number;
          assert.ok(Number.isFinite(t) && t > 1_600_000_000_000, `timestamp ${t} is epoch ms`);
          if (i > 0) assert.ok(t >= (got[i - 1]?.timestampMs as number), 'timestamps never go back');
        }
      }));

    test('the same id published twice is stored once (duplicate ack with the first seq)', () =>
      withStream(async ({ log, stream, ns }) => {
        const first = await log.publish(textMessage(`${ns}.a`, 'dup-1', 'first'));
        const again = await log.publish(textMessage(`${ns}.a`, 'dup-1', 'second copy'));
        assert.deepEqual(again, { stream, seq: first.seq, duplicate: true });
        assert.equal((await log.streamInfo(stream)).messages, 1);
        const batch = await log.publishBatch([
          textMessage(`${ns}.a`, 'dup-2', 'x'),
          textMessage(`${ns}.a`, 'dup-1', 'y'),
          textMessage(`${ns}.a`, 'dup-2', 'z'),
        ]);
        assert.deepEqual(
          batch.map((a) => [a.seq, a.duplicate]),
          [
            [2, false],
            [1, true],
            [2, true],
          ],
        );
        const got = await collectStored(log.read({ stream }));
        assert.deepEqual(
          got.map((m) => dec.decode(m.data)),
          ['first', 'x'],
        );
      }));

    test('publishBatch returns one ack per message, in input order', () =>
      withStream(async ({ log, stream, ns }) => {
        const msgs = Array.from({ length: 60 }, (_, i) =>
          textMessage(`${ns}.b.${i % 3}`, `batch-${i}`, `m${i}`),
        );
        const acks = await log.publishBatch(msgs);
        assert.equal(acks.length, msgs.length);
        const bySeq = new Map((await collectStored(log.read({ stream }))).map((m) => [m.seq, m]));
        assert.equal(bySeq.size, msgs.length);
        acks.forEach((ack, i) => {
          assert.equal(ack.duplicate, false);
          assert.equal(bySeq.get(ack.seq)?.id, msgs[i]?.id, `ack ${i} names the seq of message ${i}`);
        });
      }));

    test('ensureStreams is idempotent and updates an existing stream', () =>
      withStream(async ({ log, stream, ns }) => {
        await log.publish(textMessage(`${ns}.a`, 'e-1', 'kept'));
        const spec = { name: stream, subjects: [`${ns}.>`], maxAgeMs: 3_600_000 };
        await log.ensureStreams([spec]);
        await log.ensureStreams([spec]);
        await log.ensureStreams([{ ...spec, maxAgeMs: 7_200_000 }]);
        assert.deepEqual(await log.streamInfo(stream), { firstSeq: 1, lastSeq: 1, messages: 1 });
        assert.equal((await log.publish(textMessage(`${ns}.a`, 'e-2', 'more'))).seq, 2);
        await assert.rejects(
          log.ensureStreams([{ name: 'bad name', subjects: [`${ns}.>`], maxAgeMs: 1000 }]),
          (err: { code?: string; message: string }) =>
            err.code === 'INVALID_ARGUMENT' && err.message.includes('streams[0].name'),
        );
      }));

    test('publishing to a subject no stream stores fails with NoStreamForSubjectError', () =>
      withStream(async ({ log, ns }) => {
        await assert.rejects(
          log.publish(textMessage(`${ns}_NOSTREAM.x`, 'n-1', 'lost?')),
          NoStreamForSubjectError,
        );
        await assert.rejects(
          log.publish(textMessage(`${ns}.*`, 'n-2', 'wildcard')),
          (err: { code?: string; message: string }) =>
            err.code === 'INVALID_ARGUMENT' && err.message.startsWith('msg.subject'),
        );
      }));

    test('streamInfo reports first, last and count; unknown streams are StreamNotFoundError', () =>
      withStream(async ({ log, stream, ns }) => {
        assert.deepEqual(
          {
            lastSeq: (await log.streamInfo(stream)).lastSeq,
            messages: (await log.streamInfo(stream)).messages,
          },
          { lastSeq: 0, messages: 0 },
        );
        await log.publishBatch([textMessage(`${ns}.a`, 's-1', '1'), textMessage(`${ns}.a`, 's-2', '2')]);
        assert.deepEqual(await log.streamInfo(stream), { firstSeq: 1, lastSeq: 2, messages: 2 });
        await assert.rejects(log.streamInfo(`${stream}_MISSING`), StreamNotFoundError);
        await assert.rejects(collectStored(log.read({ stream: `${stream}_MISSING` })), StreamNotFoundError);
        await assert.rejects(
          log.consume({ stream: `${stream}_MISSING`, durable: 'd' }, async () => {}),
          StreamNotFoundError,
        );
      }));

    test('read by seq range, subject filter and time range is bounded and never hangs', () =>
      withStream(async ({ log, stream, ns }) => {
        for (let i = 1; i <= 6; i++) {
          await log.publish(textMessage(`${ns}.${i % 2 ? 'x' : 'y'}.1`, `r-${i}`, `${i}`));
          await sleep(15); // distinct timestamps
        }
        const seqs = async (o: Parameters<EventLog['read']>[0]) =>
          (await collectStored(log.read(o))).map((m) => m.seq);
        assert.deepEqual(await seqs({ stream }), [1, 2, 3, 4, 5, 6]);
        assert.deepEqual(await seqs({ stream, fromSeq: 2, toSeq: 4 }), [2, 3, 4]);
        assert.deepEqual(await seqs({ stream, fromSeq: 5, toSeq: 100 }), [5, 6]);
        assert.deepEqual(await seqs({ stream, fromSeq: 7 }), []);
        assert.deepEqual(await seqs({ stream, filterSubject: `${ns}.x.>` }), [1, 3, 5]);
        assert.deepEqual(await seqs({ stream, filterSubject: `${ns}.x.*`, toSeq: 4 }), [1, 3]);
        assert.deepEqual(await seqs({ stream, filterSubject: `${ns}.x.*`, fromSeq: 6 }), []);
        assert.deepEqual(await seqs({ stream, filterSubject: `${ns}.nothing.>` }), []);

        const all = await collectStored(log.read({ stream }));
        const t2 = all[1]?.timestampMs as number;
        const t4 = all[3]?.timestampMs as number;
        assert.ok((all[0]?.timestampMs as number) < t2 && t4 < (all[4]?.timestampMs as number));
        assert.deepEqual(await seqs({ stream, fromTimeMs: t2, toTimeMs: t4 }), [2, 3, 4]);
        assert.deepEqual(await seqs({ stream, fromTimeMs: t4 }), [4, 5, 6]);
        assert.deepEqual(await seqs({ stream, toTimeMs: t2 - 1 }), [1]);
        assert.deepEqual(
          await seqs({ stream, fromTimeMs: t2, toTimeMs: t4, filterSubject: `${ns}.y.1` }),
          [2, 4],
        );

        // Events published after read() was called are not waited for.
        const it = log.read({ stream, fromSeq: 6 })[Symbol.asyncIterator]();
        const first = await it.next();
        await log.publish(textMessage(`${ns}.x.1`, 'r-7', '7'));
        assert.equal(first.value?.seq, 6);
        assert.equal((await it.next()).done, true);
      }));

    test('read with lastPerSubject gives the newest event of each subject, inside the range only', () =>
      withStream(async ({ log, stream, ns }) => {
        // x.1 at 1, 4, 7; x.2 at 2, 5; y.1 at 3, 6 (many events, few subjects: the newest only).
        const subjects = ['x.1', 'x.2', 'y.1', 'x.1', 'x.2', 'y.1', 'x.1'];
        for (const [i, subject] of subjects.entries()) {
          await log.publish(textMessage(`${ns}.${subject}`, `l-${i + 1}`, `${i + 1}`));
          await sleep(15); // distinct timestamps
        }
        const newest = async (o: Omit<Parameters<EventLog['read']>[0], 'stream'>) =>
          (await collectStored(log.read({ stream, lastPerSubject: true, ...o }))).map(
            (m) => `${m.subject.slice(ns.length + 1)}@${m.seq}`,
          );
        assert.deepEqual(await newest({}), ['x.2@5', 'y.1@6', 'x.1@7']);
        assert.deepEqual(await newest({ filterSubject: `${ns}.x.*` }), ['x.2@5', 'x.1@7']);
        // x.1's newest (7) is past the range: left out, not replaced by an older one.
        assert.deepEqual(await newest({ toSeq: 6 }), ['x.2@5', 'y.1@6']);
        assert.deepEqual(await newest({ fromSeq: 6 }), ['y.1@6', 'x.1@7']);
        const all = await collectStored(log.read({ stream }));
        const t6 = all[5]?.timestampMs as number;
        assert.deepEqual(await newest({ fromTimeMs: t6 }), ['y.1@6', 'x.1@7']);
        assert.deepEqual(await newest({ toTimeMs: t6 - 1 }), ['x.2@5']);
        assert.deepEqual(await newest({ filterSubject: `${ns}.nothing.>` }), []);
        assert.throws(
          () => log.read({ stream, lastPerSubject: 'yes' as unknown as boolean }),
          (e: unknown) => e instanceof ValidationError && /read\.lastPerSubject/.test(e.message),
        );
      }));

    test('a durable consumer delivers in order, acks, and resumes where it stopped', () =>
      withStream(async ({ log, stream, ns }) => {
        for (let i = 1; i <= 5; i++) await log.publish(textMessage(`${ns}.c`, `c-${i}`, `${i}`));
        const seen: StoredMessage[] = [];
        const h1 = await log.consume({ stream, durable: 'orders' }, async (m) => {
          seen.push(m);
        });
        await eventually('5 deliveries', () => seen.length >= 5);
        await h1.stop();
        await h1.closed;
        assert.deepEqual(
          seen.map((m) => [m.seq, m.id, m.redelivered, m.deliveryCount]),
          [1, 2, 3, 4, 5].map((i) => [i, `c-${i}`, false, 1]),
        );
        await log.publish(textMessage(`${ns}.c`, 'c-6', '6'));
        const resumed: number[] = [];
        const h2 = await log.consume({ stream, durable: 'orders' }, async (m) => {
          resumed.push(m.seq);
        });
        await eventually('the 6th event', () => resumed.length >= 1);
        // A witness published after: had an acked event come back, it would precede it.
        await log.publish(textMessage(`${ns}.c`, 'c-7', '7'));
        await eventually('the 7th event', () => resumed.includes(7));
        await h2.stop();
        assert.deepEqual(resumed, [6, 7]);
      }));

    test('deliver policies and a subject filter pick where and what a new durable gets', () =>
      withStream(async ({ log, stream, ns }) => {
        for (let i = 1; i <= 4; i++) {
          await log.publish(textMessage(`${ns}.${i % 2 ? 'x' : 'y'}`, `p-${i}`, `${i}`));
          await sleep(15); // distinct timestamps for the startTimeMs policy
        }
        const got: Record<string, number[]> = { fromSeq: [], fresh: [], xs: [], byTime: [] };
        const all = await collectStored(log.read({ stream }));
        const handles = [
          await log.consume({ stream, durable: 'from3', deliverPolicy: { startSeq: 3 } }, async (m) => {
            got.fromSeq?.push(m.seq);
          }),
          await log.consume({ stream, durable: 'fresh', deliverPolicy: 'new' }, async (m) => {
            got.fresh?.push(m.seq);
          }),
          await log.consume({ stream, durable: 'xs', filterSubject: `${ns}.x` }, async (m) => {
            got.xs?.push(m.seq);
          }),
          await log.consume(
            { stream, durable: 'bytime', deliverPolicy: { startTimeMs: all[3]?.timestampMs as number } },
            async (m) => {
              got.byTime?.push(m.seq);
            },
          ),
        ];
        await log.publish(textMessage(`${ns}.x`, 'p-5', '5'));
        await eventually('all consumers caught up', () =>
          [got.fromSeq, got.fresh, got.xs, got.byTime].every((l) => l?.at(-1) === 5),
        );
        for (const h of handles) await h.stop();
        assert.deepEqual(got, { fromSeq: [3, 4, 5], fresh: [5], xs: [1, 3, 5], byTime: [4, 5] });
      }));

    test('a handler that throws gets the event again (redelivered), and order is kept', () =>
      withStream(async ({ log, stream, ns }) => {
        for (let i = 1; i <= 3; i++) await log.publish(textMessage(`${ns}.r`, `f-${i}`, `${i}`));
        const seen: [number, number, boolean][] = [];
        let failedOnce = false;
        const h = await log.consume({ stream, durable: 'flaky', nakDelayMs: 50, ackWaitMs }, async (m) => {
          seen.push([m.seq, m.deliveryCount, m.redelivered]);
          if (m.seq === 2 && !failedOnce) {
            failedOnce = true;
            throw new Error('transient failure');
          }
        });
        await eventually('seq 3', () => seen.some(([s]) => s === 3));
        await h.stop();
        assert.deepEqual(seen, [
          [1, 1, false],
          [2, 1, false],
          [2, 2, true],
          [3, 1, false],
        ]);
      }));

    test('a failing handler is logged and counted with its delivery count; after maxDeliver the event is parked and the consumer moves on', () =>
      withStream(async ({ log, stream, ns, logs }) => {
        await log.publish(textMessage(`${ns}.p`, 'p-1', 'poison'));
        await log.publish(textMessage(`${ns}.p`, 'p-2', 'fine'));
        const seen: [number, number][] = [];
        const failures: HandlerFailure[] = [];
        const consume = { stream, durable: 'parking', maxDeliver: 3, nakDelayMs: 10, ackWaitMs };
        const h = await log.consume({ ...consume, onHandlerError: (f) => failures.push(f) }, async (m) => {
          seen.push([m.seq, m.deliveryCount]);
          if (m.seq === 1) throw new Error('cannot decode');
        });
        await eventually('the event after the poison one acked', () => h.stats().acked === 1);
        await h.stop();
        assert.deepEqual(seen, [
          [1, 1],
          [1, 2],
          [1, 3],
          [2, 1],
        ]);
        assert.deepEqual(
          failures.map((f) => [f.stream, f.seq, f.subject, f.deliveryCount, f.outcome]),
          [
            [stream, 1, `${ns}.p`, 1, 'retry'],
            [stream, 1, `${ns}.p`, 2, 'retry'],
            [stream, 1, `${ns}.p`, 3, 'parked'],
          ],
        );
        const { lastFailure, ...counts } = h.stats();
        assert.deepEqual(counts, { acked: 1, failed: 3, parked: 1 });
        assert.equal(lastFailure?.error, 'cannot decode');
        assert.deepEqual(
          logs.map((l) => [l.level, l.fields.deliveryCount]),
          [
            ['warn', 1],
            ['warn', 2],
            ['error', 3],
          ],
        );
        assert.deepEqual(
          { ...logs[2]?.fields },
          {
            stream,
            durable: 'parking',
            seq: 1,
            subject: `${ns}.p`,
            deliveryCount: 3,
            err: 'cannot decode',
            maxDeliver: 3,
          },
        );
        assert.match(logs[2]?.msg ?? '', /parked/);

        // The parked event is gone for this durable: a restart resumes after it.
        await log.publish(textMessage(`${ns}.p`, 'p-3', 'next'));
        const again: number[] = [];
        const h2 = await log.consume(consume, async (m) => {
          again.push(m.seq);
        });
        await eventually('the event published after', () => again.includes(3));
        await h2.stop();
        assert.deepEqual(again, [3]);
      }));

    test('a projector stops on an event it failed maxDeliver times, says why on closed, and loses nothing', () =>
      withStream(async ({ log, stream, ns, logs }) => {
        await log.publish(textMessage(`${ns}.s`, 's-1', '1'));
        await log.publish(textMessage(`${ns}.s`, 's-2', '2'));
        await log.publish(textMessage(`${ns}.s`, 's-3', '3'));
        const store = new InMemoryProjectionStore();
        const failures: HandlerFailure[] = [];
        let broken = true;
        const projector = () =>
          runProjector<number>({
            log,
            store,
            name: `${ns}-sum`,
            consume: {
              stream,
              durable: 'sum',
              maxDeliver: 2,
              nakDelayMs: 10,
              ackWaitMs,
              onHandlerError: (f) => failures.push(f),
            },
            initialState: () => 0,
            apply: (sum, m) => {
              if (m.seq === 2 && broken) throw new Error('store refused the write');
              return sum + Number(dec.decode(m.data));
            },
          });
        const first = await projector();
        const stoppedWith = await first.closed.then(
          () => undefined,
          (err: unknown) => err,
        );
        assert.ok(stoppedWith instanceof PoisonEventError, `closed rejected with ${stoppedWith}`);
        assert.equal(stoppedWith.seq, 2);
        assert.match(stoppedWith.message, new RegExp(`${stream}/sum stopped at seq 2 \\(${ns}\\.s\\)`));
        assert.match(stoppedWith.message, /failed 2 time\(s\), last error: store refused the write/);
        assert.deepEqual(
          failures.map((f) => [f.seq, f.outcome]),
          [
            [2, 'retry'],
            [2, 'stopped'],
          ],
        );
        const { lastFailure: _, ...counts } = first.stats();
        assert.deepEqual(counts, { acked: 1, failed: 2, parked: 0, applied: 1, skipped: 0 });
        assert.deepEqual(
          logs.filter((l) => l.level === 'error').map((l) => [l.fields.seq, l.fields.subject, l.fields.err]),
          [[2, `${ns}.s`, 'store refused the write']],
        );

        // Once the cause is fixed, the next projector of the durable gets event 2 again.
        broken = false;
        const second = await projector();
        await eventually('events 2 and 3 applied', () => second.stats().applied === 2);
        await second.stop();
        assert.equal((await store.loadProjection<number>(`${ns}-sum`))?.state, 6);
      }));

    test('stop() during a handler leaves that event unacked: the durable gets it again', () =>
      withStream(async ({ log, stream, ns }) => {
        await log.publish(textMessage(`${ns}.h`, 'h-1', '1'));
        let handle: { stop(): Promise<void>; closed: Promise<void> } | undefined;
        let resolveReady!: () => void;
        const ready = new Promise<void>((r) => {
          resolveReady = r;
        });
        const firstRun: number[] = [];
        handle = await log.consume({ stream, durable: 'halt', ackWaitMs }, async (m) => {
          firstRun.push(m.seq);
          await ready;
          await handle?.stop(); // e.g. shutdown arrives while the event is being handled
        });
        resolveReady();
        await eventually('the first delivery', () => firstRun.length === 1);
        await handle.closed;
        const secondRun: number[] = [];
        const again = await log.consume({ stream, durable: 'halt', ackWaitMs }, async (m) => {
          secondRun.push(m.seq);
        });
        await eventually('the redelivery', () => secondRun.length >= 1);
        await again.stop();
        assert.deepEqual([firstRun, secondRun], [[1], [1]]);
      }));

    test('a consumer that dies after writing state but before the ack gets the event again; the projector applies it once', () =>
      withStream(async (ctx) => {
        const { stream, ns } = ctx;
        const inner = new InMemoryProjectionStore();
        let died: Promise<void> | undefined;
        const store: ProjectionStore = {
          loadProjection: (n) => inner.loadProjection(n),
          async saveProjection(n, state, applied, expected) {
            await inner.saveProjection(n, state, applied, expected);
            if (!died) {
              // The state is written; the process is gone before the ack can be sent.
              died = ctx.log.close();
              await died;
            }
          },
        };
        type Totals = { count: number; seqs: number[] };
        let applyCalls = 0;
        const projector = (log: EventLog) =>
          runProjector<Totals>({
            log,
            store,
            name: `${ns}-totals`,
            consume: { stream, durable: 'totals', ackWaitMs },
            initialState: () => ({ count: 0, seqs: [] }),
            apply: (s, m) => {
              applyCalls++;
              return { count: s.count + Number(dec.decode(m.data)), seqs: [...s.seqs, m.seq] };
            },
          });

        await ctx.log.publish(textMessage(`${ns}.t`, 't-1', '1'));
        const first = await projector(ctx.log);
        await eventually('the first save', () => died !== undefined);
        await died;
        assert.equal(applyCalls, 1);
        ctx.log = await ctx.fx.reopen();

        const second = await projector(ctx.log);
        await eventually('the redelivered event to be skipped', () => second.stats().skipped >= 1);
        await ctx.log.publish(textMessage(`${ns}.t`, 't-2', '2'));
        await eventually('the second event', () => second.stats().applied >= 1);
        await second.stop();
        await first.stop();

        assert.equal(applyCalls, 2, 'each event applied once');
        const { applied, skipped } = second.stats();
        assert.deepEqual({ applied, skipped }, { applied: 1, skipped: 1 });
        assert.deepEqual((await inner.loadProjection<Totals>(`${ns}-totals`))?.state, {
          count: 3,
          seqs: [1, 2],
        });
        assert.deepEqual((await inner.loadProjection(`${ns}-totals`))?.applied, { [stream]: 2 });
      }));

    test('tail sees new events live, or replays from a sequence and follows', () =>
      withStream(async ({ log, ns }) => {
        await log.publish(textMessage(`${ns}.x.1`, 'tl-1', '1'));
        await log.publish(textMessage(`${ns}.y.1`, 'tl-2', '2'));
        const live: number[] = [];
        const fromTwo: number[] = [];
        const onlyX: number[] = [];
        const t1 = await log.tail(`${ns}.>`, { from: 'new' }, async (m) => {
          live.push(m.seq);
        });
        const t2 = await log.tail(`${ns}.>`, { from: { startSeq: 2 } }, async (m) => {
          fromTwo.push(m.seq);
        });
        const t3 = await log.tail(`${ns}.x.*`, { from: { startSeq: 1 } }, async (m) => {
          onlyX.push(m.seq);
        });
        await log.publish(textMessage(`${ns}.x.1`, 'tl-3', '3'));
        await log.publish(textMessage(`${ns}.y.1`, 'tl-4', '4'));
        await eventually(
          'tails to follow',
          () => live.length >= 2 && fromTwo.length >= 3 && onlyX.length >= 2,
        );
        await Promise.all([t1.stop(), t2.stop(), t3.stop()]);
        assert.deepEqual(live, [3, 4]);
        assert.deepEqual(fromTwo, [2, 3, 4]);
        assert.deepEqual(onlyX, [1, 3]);
        await assert.rejects(
          log.tail(`${ns}_NOSTREAM.>`, { from: 'new' }, async () => {}),
          NoStreamForSubjectError,
        );
      }));

    test('a tail whose handler throws stops and reports the error on closed', () =>
      withStream(async ({ log, ns }) => {
        const t = await log.tail(`${ns}.>`, { from: 'new' }, async () => {
          throw new Error('dashboard broke');
        });
        await log.publish(textMessage(`${ns}.z`, 'tb-1', '1'));
        await assert.rejects(t.closed, /dashboard broke/);
      }));
  });
}
