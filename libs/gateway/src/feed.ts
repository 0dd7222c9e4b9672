/**
 * The gateway's live view of the bus: ephemeral tails (no durable consumers, no acks) on
 * the subjects the dashboard shows, each event decoded once and fanned out to the
 * server-sent-event clients.
 *
 * It holds no source of truth: besides the fan-out it keeps only a bounded ring of the
 * most recent strategy decisions (seeded from the tail end of the STRAT stream at start),
 * so a page that opens late still sees what the strategies did lately. Everything else
 * the API answers comes from the services' gRPC at request time.
 */
import type { EventLog, StoredMessage, TailHandle } from '@perpmesh/bus';
import { decodeEnvelope, type PayloadCase, type SubjectKind, type Subjects } from '@perpmesh/contracts';
import type { Logger } from '@perpmesh/runtime';
import { type EventJson, eventJson } from './wire-json.js';

/** Subject kinds the feed tails: funding, venue status, orders and fills, account, strategies. */
export const FEED_SUBJECT_KINDS: readonly SubjectKind[] = [
  'mdFunding',
  'mdStatus',
  'execOrder',
  'execFill',
  'acctBalance',
  'acctPosition',
  'acctFunding',
  'acctDrift',
  'strat',
];

export type FeedListener = (event: EventJson) => void;

export interface StrategySeen {
  readonly strategyId: string;
  readonly lastDecisionMs: number;
  readonly dryRun: boolean;
  readonly decisions: number;
}

export interface EventFeedOptions {
  log: EventLog;
  subjects: Subjects;
  /** Prefix of stream names in a namespace ('' in production). */
  streamPrefix: string;
  /** Size of the recent-decisions ring. */
  recentDecisions: number;
  logger: Logger;
}

export class EventFeed {
  readonly #options: EventFeedOptions;
  readonly #listeners = new Set<FeedListener>();
  readonly #decisions: EventJson[] = [];
  readonly #strategies = new Map<string, StrategySeen>();
  readonly #tails: TailHandle[] = [];
  readonly #counts = new Map<PayloadCase, number>();
  #undecodable = 0;
  #started = false;

  constructor(options: EventFeedOptions) {
    this.#options = options;
  }

  get started(): boolean {
    return this.#started;
  }

  async start(): Promise<void> {
    const { log, subjects, streamPrefix, recentDecisions } = this.#options;
    try {
      for (const kind of FEED_SUBJECT_KINDS) {
        let from: 'new' | { startSeq: number } = 'new';
        if (kind === 'strat') {
          // Seed the ring with the last N records of STRAT (it holds only strat.* subjects).
          const info = await log.streamInfo(`${streamPrefix}STRAT`);
          if (info.lastSeq > 0)
            from = { startSeq: Math.max(1, info.firstSeq, info.lastSeq - recentDecisions + 1) };
        }
        this.#tails.push(
          await log.tail(subjects.filter(kind), { from }, async (msg) => this.#onMessage(msg)),
        );
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.#started = true;
  }

  async stop(): Promise<void> {
    this.#started = false;
    const tails = this.#tails.splice(0);
    await Promise.allSettled(tails.map((t) => t.stop()));
  }

  /** Adds a listener for every event from now on; returns its removal. */
  subscribe(listener: FeedListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** Newest first. */
  recentDecisions(limit = this.#options.recentDecisions): EventJson[] {
    return this.#decisions.slice(-limit).reverse();
  }

  strategies(): StrategySeen[] {
    return [...this.#strategies.values()].sort((a, b) => a.strategyId.localeCompare(b.strategyId));
  }

  stats(): { events: Record<string, number>; undecodable: number; clients: number } {
    return {
      events: Object.fromEntries(this.#counts),
      undecodable: this.#undecodable,
      clients: this.#listeners.size,
    };
  }

  /** Feeds one stored message (the tails call this; tests may too). */
  async #onMessage(msg: StoredMessage): Promise<void> {
    let event: EventJson | undefined;
    try {
      event = eventJson(decodeEnvelope(msg.data), msg.subject, msg.seq);
    } catch (err) {
      // A foreign or newer event must not stop the tail; count it and say so once in a while.
      this.#undecodable += 1;
      if (this.#undecodable === 1 || this.#undecodable % 1000 === 0) {
        this.#options.logger.warn(
          { err, subject: msg.subject, seq: msg.seq, undecodable: this.#undecodable },
          'gateway feed: skipping an event it cannot decode',
        );
      }
      return;
    }
    if (!event) return;
    this.#counts.set(event.kind, (this.#counts.get(event.kind) ?? 0) + 1);
    if (event.kind === 'strategyDecision') this.#remember(event);
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        this.#options.logger.warn({ err }, 'gateway feed: a listener failed');
      }
    }
  }

  #remember(event: EventJson): void {
    this.#decisions.push(event);
    const excess = this.#decisions.length - this.#options.recentDecisions;
    if (excess > 0) this.#decisions.splice(0, excess);
    const strategyId = String(event.payload.strategyId ?? '');
    const prev = this.#strategies.get(strategyId);
    this.#strategies.set(strategyId, {
      strategyId,
      lastDecisionMs: event.tsEventMs,
      dryRun: event.payload.dryRun === true,
      decisions: (prev?.decisions ?? 0) + 1,
    });
  }
}
