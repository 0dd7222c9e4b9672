/**
 * The strategy input journal: every input the stepper consumes, in queue order, with the
 * `nowMs` it carried, the stream sequence it came from, and what the step decided; plus
 * state snapshots (at each start and every `snapshotEvery` inputs) so a replay can start
 * mid-history. `perpmesh replay strategy` feeds it back through the same stepper.
 *
 * Where: the JOURNAL stream, subject `journal.<strategyId>` (libs/contracts subjects.ts),
 * kept as long as MD (24 h). One message per flush, JSON lines, decimals exact (a Decimal
 * is `{"$d":"0.0001"}`, never the rounded display form).
 *
 * Size: an input that came from the log (a book, a funding rate, an exec or acct event) is
 * recorded by reference (`from`: stream + sequence), not by content: replay re-reads the
 * event and re-derives the input with the recorded `now`, through the same
 * `inputFromEnvelope`. Inputs that never touch the log (market lists, balance polls, the
 * start snapshot, ticks, operator commands, refusals fed back) are recorded whole. See
 * docs/architecture.md ("Strategy input journal") for bytes per hour.
 *
 * The journal is diagnostics: a failed publish is logged and counted, never fails a step.
 * A deciding step flushes it before its commands are released, so the log holds what a
 * decision depended on before anything it decided leaves the process.
 */
import { randomUUID } from 'node:crypto';
import type { EventLog } from '@perpmesh/bus';
import type { Subjects } from '@perpmesh/contracts';
import { Decimal, errorText } from '@perpmesh/core';
import type { Logger } from '@perpmesh/runtime';
import type { Decision, SerializedStrategyState, StrategyCommand, StrategyInput } from '../model.js';

export const JOURNAL_FORMAT = 'perpmesh.strategy.journal/1';

/** The event an input was derived from. */
export interface JournalOrigin {
  readonly stream: string;
  readonly seq: number;
}

/** One decision as the journal keeps it (exact). */
export interface JournalDecision {
  readonly id: string;
  readonly kind: string;
  readonly reasonCode: string;
  readonly message: string;
  readonly inputs: Readonly<Record<string, string>>;
  /** Encoded OrderIntents. */
  readonly orders: readonly unknown[];
}

export interface JournalInputEntry {
  readonly t: 'input';
  /** This run of the stepper (a restart starts a new one, with a snapshot). */
  readonly r: string;
  /** Input number within the run, from 0. */
  readonly n: number;
  readonly now: number;
  /** The event it came from; the input itself is then not stored. */
  readonly from?: { readonly s: string; readonly q: number };
  /** The encoded input, when it did not come from the log. */
  readonly in?: unknown;
  /** Left out when the step decided nothing (most steps): the journal stays small. */
  readonly decisions?: readonly JournalDecision[];
  /** Encoded StrategyCommands; left out when none. */
  readonly commands?: readonly unknown[];
}

export interface JournalSnapshotEntry {
  readonly t: 'snapshot';
  readonly r: string;
  readonly format: typeof JOURNAL_FORMAT;
  /** The number of the next input. */
  readonly n: number;
  readonly strategyId: string;
  /** The parsed strategy config, encoded (decimals exact): replay parses it again. */
  readonly config: unknown;
  readonly dryRun: boolean;
  /** What deriving inputs from events needs (`inputFromEnvelope`). */
  readonly balanceStaleAfterMs: number;
  readonly applied: Readonly<Record<string, number>>;
  readonly state: SerializedStrategyState;
}

export type JournalEntry = JournalInputEntry | JournalSnapshotEntry;

/** JSON-safe and exact: Decimals become `{ $d: text }`; undefined fields are dropped. */
export function encodeJournalValue(value: unknown): unknown {
  if (value instanceof Decimal) return { $d: value.toFixed() };
  if (Array.isArray(value)) return value.map(encodeJournalValue);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = encodeJournalValue(v);
    return out;
  }
  return value;
}

export function decodeJournalValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeJournalValue);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0]?.[0] === '$d' && typeof entries[0][1] === 'string') {
      return new Decimal(entries[0][1]);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) out[k] = decodeJournalValue(v);
    return out;
  }
  return value;
}

export function journalDecision(d: Decision): JournalDecision {
  return {
    id: d.decisionId,
    kind: d.kind,
    reasonCode: d.reasonCode,
    message: d.message,
    inputs: { ...d.inputs },
    orders: d.orders.map(encodeJournalValue),
  };
}

/** Parses one journal message (JSON lines); a bad line is an error naming it. */
export function parseJournalMessage(data: Uint8Array, where: string): JournalEntry[] {
  const text = new TextDecoder().decode(data);
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line, i) => {
      try {
        const entry = JSON.parse(line) as JournalEntry;
        if (entry.t !== 'input' && entry.t !== 'snapshot')
          throw new Error(`unknown entry type ${String((entry as { t?: unknown }).t)}`);
        return entry;
      } catch (err) {
        throw new Error(`${where} line ${i + 1}: not a journal entry (${errorText(err)})`);
      }
    });
}

export interface StrategyInputJournalOptions {
  readonly log: Pick<EventLog, 'publish'>;
  readonly subjects: Subjects;
  readonly strategyId: string;
  readonly config: unknown;
  readonly dryRun: boolean;
  readonly balanceStaleAfterMs: number;
  readonly logger: Logger;
  /** Buffered entries go out at least this often. Default 1 s. */
  readonly flushIntervalMs?: number;
  /** A snapshot every this many inputs. Default 1000. */
  readonly snapshotEvery?: number;
}

export interface JournalStats {
  readonly entries: number;
  readonly bytes: number;
  readonly messages: number;
  /** Entries whose publish failed (logged). */
  readonly dropped: number;
}

export class StrategyInputJournal {
  readonly #o: StrategyInputJournalOptions;
  readonly #subject: string;
  /** The config as every snapshot carries it: it never changes, so it is encoded once. */
  readonly #encodedConfig: unknown;
  #run = randomUUID().slice(0, 8);
  #n = 0;
  #sinceSnapshot = 0;
  #batch = 0;
  #buffer: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #stats = { entries: 0, bytes: 0, messages: 0, dropped: 0 };

  constructor(options: StrategyInputJournalOptions) {
    this.#o = options;
    this.#subject = options.subjects.stratJournal(options.strategyId);
    this.#encodedConfig = encodeJournalValue(options.config);
  }

  stats(): JournalStats {
    return { ...this.#stats };
  }

  /** A new run (the stepper began or restored): numbering restarts, a snapshot follows. */
  newRun(): void {
    this.#run = randomUUID().slice(0, 8);
    this.#n = 0;
    this.#sinceSnapshot = 0;
  }

  snapshot(state: SerializedStrategyState, applied: Readonly<Record<string, number>>): void {
    const o = this.#o;
    this.#sinceSnapshot = 0;
    this.#push({
      t: 'snapshot',
      r: this.#run,
      format: JOURNAL_FORMAT,
      n: this.#n,
      strategyId: o.strategyId,
      config: this.#encodedConfig,
      dryRun: o.dryRun,
      balanceStaleAfterMs: o.balanceStaleAfterMs,
      applied: { ...applied },
      state,
    });
  }

  /** Records a consumed input; true when a snapshot is due (the caller takes it). */
  input(
    input: StrategyInput,
    origin: JournalOrigin | undefined,
    decisions: ReadonlyArray<Decision>,
    commands: ReadonlyArray<StrategyCommand>,
  ): boolean {
    this.#push({
      t: 'input',
      r: this.#run,
      n: this.#n++,
      now: input.nowMs,
      ...(origin ? { from: { s: origin.stream, q: origin.seq } } : { in: encodeJournalValue(input) }),
      ...(decisions.length > 0 ? { decisions: decisions.map(journalDecision) } : {}),
      ...(commands.length > 0 ? { commands: commands.map(encodeJournalValue) } : {}),
    });
    this.#sinceSnapshot++;
    return this.#sinceSnapshot >= (this.#o.snapshotEvery ?? 1000);
  }

  #push(entry: JournalEntry): void {
    this.#buffer.push(JSON.stringify(entry));
    this.#stats.entries++;
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.#o.flushIntervalMs ?? 1_000);
    this.#timer.unref?.();
  }

  /** Publishes what is buffered (in order); never throws. */
  flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const lines = this.#buffer;
    this.#buffer = [];
    if (lines.length > 0) {
      const data = new TextEncoder().encode(`${lines.join('\n')}\n`);
      const id = `journal-${this.#o.strategyId}-${this.#run}-${this.#batch++}`;
      this.#flushing = this.#flushing.then(async () => {
        try {
          await this.#o.log.publish({ subject: this.#subject, id, data });
          this.#stats.messages++;
          this.#stats.bytes += data.length;
        } catch (err) {
          this.#stats.dropped += lines.length;
          this.#o.logger.warn(
            { err: errorText(err), strategyId: this.#o.strategyId, entries: lines.length },
            'strategy input journal: publish failed; these entries are lost (replay will stop there)',
          );
        }
      });
    }
    return this.#flushing;
  }
}
