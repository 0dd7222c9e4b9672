/**
 * `perpmesh replay strategy <id>`, the logic: feed a strategy's input journal (JOURNAL,
 * `journal.<id>`) through the same stepper the runtime uses, orders going to a recorder,
 * and compare each step's decisions and commands with the recorded ones.
 *
 * Each run in the journal (a start or restart of the strategy) begins with a snapshot of
 * the state and config; the replay restores it, then feeds that run's inputs in queue
 * order with the `nowMs` each had. An input recorded by reference (it came from the log)
 * is re-derived from its event with `inputFromEnvelope`, as the runner derived it.
 *
 * Without overrides the replay is a determinism check (Temporal-style): it stops at the
 * first step whose decisions differ from the recorded ones. With overrides (`--set`) it
 * runs to the end and reports every step where the decisions would have differed.
 */
import { type EventLogReader, InMemoryProjectionStore } from '@perpmesh/bus';
import { decodeEnvelope, type Subjects } from '@perpmesh/contracts';
import { errorText, ValidationError } from '@perpmesh/core';
import { createLogger } from '@perpmesh/runtime';
import { makeStrategyDecider, parseStrategyConfig, type StrategyInput } from '@perpmesh/strategy';
import {
  DryRunRecorder,
  decodeJournalValue,
  encodeJournalValue,
  inputFromEnvelope,
  type JournalDecision,
  type JournalEntry,
  type JournalInputEntry,
  type JournalSnapshotEntry,
  journalDecision,
  type PersistedRecord,
  parseJournalMessage,
  projectionName,
  StrategyStepper,
} from '@perpmesh/strategy/runtime';
import type { LogRangeReader } from './source.js';

export interface ReplayStrategyOptions {
  readonly reader: EventLogReader;
  readonly subjects: Subjects;
  readonly streamPrefix: string;
  readonly strategyId: string;
  /** Config overrides: dot path → value (`entryThresholdBps` → "2"). */
  readonly overrides?: Readonly<Record<string, unknown>>;
  /**
   * Start mid-history: in each run, from the last snapshot taken at or before this input
   * number (the default is each run's first snapshot still in the journal).
   */
  readonly fromInput?: number;
}

/** One replayed step that decided something (recorded or replayed). */
export interface ReplayedStep {
  readonly run: string;
  readonly n: number;
  readonly nowMs: number;
  /** `book paper BTC-USDC-PERP`, `tick`, `order arb-1_... filled`... */
  readonly input: string;
  readonly from?: { readonly stream: string; readonly seq: number };
  readonly recorded: { decisions: readonly JournalDecision[]; commands: readonly unknown[] };
  readonly replayed: { decisions: readonly JournalDecision[]; commands: readonly unknown[] };
  readonly same: boolean;
}

export interface ReplayStrategyReport {
  readonly strategyId: string;
  readonly runs: number;
  readonly inputs: number;
  /** Steps that decided something in either run, in order (up to the first divergence without overrides). */
  readonly steps: readonly ReplayedStep[];
  readonly divergent: number;
  /** Without overrides: the first step whose decisions differ. */
  readonly firstDivergence?: ReplayedStep;
  /** Inputs that could not be replayed (an event gone from the log, an undecodable one). */
  readonly problems: readonly string[];
}

const quietLogger = createLogger({ service: 'replay', level: 'silent' });

/** The recorded config as raw config text (decimals as strings), with overrides applied. */
export function configWithOverrides(
  encoded: unknown,
  overrides: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const raw = JSON.parse(
    JSON.stringify(encoded, (_k, v) =>
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      Object.keys(v).length === 1 &&
      typeof v.$d === 'string'
        ? v.$d
        : v,
    ),
  ) as Record<string, unknown>;
  for (const [path, value] of Object.entries(overrides)) {
    const keys = path.split('.');
    let at: Record<string, unknown> = raw;
    for (const key of keys.slice(0, -1)) {
      const next = at[key];
      if (next === null || typeof next !== 'object') {
        throw new ValidationError('--set', `${path}: ${key} is not a section of the strategy config`);
      }
      at = next as Record<string, unknown>;
    }
    const last = keys[keys.length - 1] as string;
    if (!(last in at)) throw new ValidationError('--set', `${path}: no such key in the strategy config`);
    at[last] = value;
  }
  return raw;
}

export function describeInput(input: StrategyInput): string {
  switch (input.kind) {
    case 'book': {
      const bid = input.bids[0];
      const ask = input.asks[0];
      const top = bid && ask ? ` ${bid.price.toFixed()} / ${ask.price.toFixed()}` : '';
      return `book ${input.venue} ${input.instrument}${top}`;
    }
    case 'funding':
      return `funding ${input.venue} ${input.instrument} ${input.rate.toFixed()} per ${input.intervalMs / 3_600_000} h`;
    case 'balance':
      return `balance ${input.venue}/${input.account} available ${input.available.toFixed()}${input.stale ? ' (stale)' : ''}`;
    case 'position':
    case 'funding_payment':
      return `${input.kind} ${input.venue}/${input.account} ${input.instrument}`;
    case 'order':
      return `order ${input.clientOrderId} ${input.status}`;
    case 'fill':
      return `fill ${input.clientOrderId} ${input.size.toFixed()} @ ${input.price.toFixed()}`;
    case 'operator':
      return `operator ${input.action}`;
    default:
      return input.kind;
  }
}

export async function readJournal(
  opts: Pick<ReplayStrategyOptions, 'subjects' | 'streamPrefix' | 'strategyId'> & {
    readonly reader: LogRangeReader;
  },
): Promise<JournalEntry[]> {
  const stream = `${opts.streamPrefix}JOURNAL`;
  const entries: JournalEntry[] = [];
  for await (const msg of opts.reader.read({
    stream,
    filterSubject: opts.subjects.stratJournal(opts.strategyId),
  })) {
    entries.push(...parseJournalMessage(msg.data, `${stream} seq ${msg.seq}`));
  }
  return entries;
}

/** The events the journal refers to, read once per stream. */
async function referencedEvents(
  reader: EventLogReader,
  entries: readonly JournalEntry[],
): Promise<Map<string, Uint8Array>> {
  const wanted = new Map<string, Set<number>>();
  for (const e of entries) {
    if (e.t !== 'input' || !e.from) continue;
    const set = wanted.get(e.from.s) ?? new Set<number>();
    set.add(e.from.q);
    wanted.set(e.from.s, set);
  }
  const found = new Map<string, Uint8Array>();
  for (const [stream, seqs] of wanted) {
    const sorted = [...seqs].sort((a, b) => a - b);
    for await (const msg of reader.read({ stream, fromSeq: sorted[0], toSeq: sorted[sorted.length - 1] })) {
      if (seqs.has(msg.seq)) found.set(`${stream}#${msg.seq}`, msg.data);
    }
  }
  return found;
}

/** Journal values (decisions, commands) are plain JSON: equal when they encode alike. */
export function sameJournalJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export async function replayStrategy(opts: ReplayStrategyOptions): Promise<ReplayStrategyReport> {
  const overrides = opts.overrides ?? {};
  const checking = Object.keys(overrides).length === 0;
  const entries = await readJournal(opts);
  const events = await referencedEvents(opts.reader, entries);
  // Each run's entries in journal order, runs in the order they first appear: one pass.
  const runs = new Map<string, JournalEntry[]>();
  for (const e of entries) {
    const list = runs.get(e.r);
    if (list) list.push(e);
    else runs.set(e.r, [e]);
  }
  const steps: ReplayedStep[] = [];
  const problems: string[] = [];
  let inputs = 0;
  let divergent = 0;
  let firstDivergence: ReplayedStep | undefined;
  for (const [run, runEntries] of runs) {
    const snapshots = runEntries.filter((e): e is JournalSnapshotEntry => e.t === 'snapshot');
    const from = opts.fromInput;
    const snapshot =
      from === undefined ? snapshots[0] : ([...snapshots].reverse().find((x) => x.n <= from) ?? snapshots[0]);
    if (!snapshot) {
      problems.push(`run ${run}: no snapshot (its start is older than the journal's retention)`);
      continue;
    }
    const config = parseStrategyConfig(configWithOverrides(snapshot.config, overrides), 'config');
    const decider = makeStrategyDecider(config);
    const store = new InMemoryProjectionStore();
    const record: PersistedRecord = {
      format: 'perpmesh.strategy.runtime',
      version: 1,
      strategy: snapshot.state,
      outbox: [],
    };
    await store.saveProjection(projectionName(opts.strategyId), record, { ...snapshot.applied }, undefined);
    let now = 0;
    const stepper = new StrategyStepper({
      strategyId: opts.strategyId,
      decider,
      store,
      publish: async () => undefined,
      gateway: new DryRunRecorder({ nowMs: () => now }),
      logger: quietLogger,
      nowMs: () => now,
      source: 'replay',
    });
    await stepper.restore();
    for (const entry of runEntries) {
      if (entry.t !== 'input' || entry.n < snapshot.n) continue;
      const input = deriveInput(entry, events, snapshot.balanceStaleAfterMs, problems);
      if (!input) break;
      inputs++;
      now = entry.now;
      const outcome = await stepper.step(input);
      // Orders go to the recorder; its answers are not fed back: the journal has the real ones.
      await stepper.release();
      const replayed = {
        decisions: outcome.decisions.map(journalDecision),
        commands: outcome.commands.map(encodeJournalValue),
      };
      const recorded = { decisions: entry.decisions ?? [], commands: entry.commands ?? [] };
      if (
        replayed.decisions.length === 0 &&
        recorded.decisions.length === 0 &&
        replayed.commands.length === 0 &&
        recorded.commands.length === 0
      ) {
        continue;
      }
      const same = sameJournalJson(recorded, replayed);
      const step: ReplayedStep = {
        run,
        n: entry.n,
        nowMs: entry.now,
        input: describeInput(input),
        ...(entry.from ? { from: { stream: entry.from.s, seq: entry.from.q } } : {}),
        recorded,
        replayed,
        same,
      };
      steps.push(step);
      if (!same) {
        divergent++;
        firstDivergence ??= step;
        if (checking)
          return {
            strategyId: opts.strategyId,
            runs: runs.size,
            inputs,
            steps,
            divergent,
            firstDivergence,
            problems,
          };
      }
    }
  }
  return {
    strategyId: opts.strategyId,
    runs: runs.size,
    inputs,
    steps,
    divergent,
    ...(firstDivergence ? { firstDivergence } : {}),
    problems,
  };
}

export function deriveInput(
  entry: JournalInputEntry,
  events: Map<string, Uint8Array>,
  balanceStaleAfterMs: number,
  problems: string[],
): StrategyInput | undefined {
  if (entry.in !== undefined) return decodeJournalValue(entry.in) as StrategyInput;
  if (!entry.from) {
    problems.push(`input ${entry.n}: neither recorded nor referenced`);
    return undefined;
  }
  const data = events.get(`${entry.from.s}#${entry.from.q}`);
  if (!data) {
    problems.push(
      `input ${entry.n}: its event ${entry.from.s} seq ${entry.from.q} is no longer in the log (retention); replay stops there`,
    );
    return undefined;
  }
  try {
    const input = inputFromEnvelope(decodeEnvelope(data), { nowMs: entry.now, balanceStaleAfterMs });
    if (!input) problems.push(`input ${entry.n}: ${entry.from.s} seq ${entry.from.q} gives no input`);
    return input;
  } catch (err) {
    problems.push(`input ${entry.n}: ${entry.from.s} seq ${entry.from.q}: ${errorText(err)}`);
    return undefined;
  }
}
