/**
 * The alarm webhook: forwards the strategies' alarm decisions (`alarm_<name>` raised,
 * `alarm_cleared`, and `circuit_breaker_tripped` / `_reset`) as JSON POSTs to the
 * configured URL (`strategy.alarms.webhook`), so Slack / Telegram / Discord bridges plug
 * in.
 *
 * - One message per incident: the decider already decides once per incident; the sender
 *   also drops a repeat of the same incident and state (a decision re-published after a
 *   restart), remembering a bounded number of them.
 * - `queued` counts messages waiting; the one being delivered is not among them.
 * - Never blocks the strategy: `offer` only queues. The queue is bounded (the oldest
 *   message is dropped, and counted, when it is full); one worker delivers in order.
 * - A failed delivery (network error, timeout, 5xx, 429) is retried with capped
 *   exponential backoff up to `maxAttempts`; another 4xx is not retried.
 * - The URL and the token are secrets (a webhook URL often carries its token): they are
 *   never logged, and a transport error is logged by its code only.
 */
import { backoffDelayMs, sleep, ValidationError } from '@perpmesh/core';
import { durationMs, type Logger, type Secret, secretSchema } from '@perpmesh/runtime';
import { z } from 'zod';
import type { StrategyDecisionRecord } from '../model.js';

export const ALARM_WEBHOOK_DEFAULTS = {
  timeoutMs: 5_000,
  maxQueue: 100,
  maxAttempts: 5,
  retryInitialMs: 1_000,
  retryMaxMs: 60_000,
} as const;

/** `strategy.alarms`: where alarms go besides the decision log. */
export const alarmsSectionSchema = z
  .strictObject({
    webhook: z
      .strictObject({
        /** `{ env: NAME }` or `{ file: path }`: a webhook URL usually carries its token. */
        url: secretSchema,
        /** Sent as `authorization: Bearer <token>` when set. */
        token: secretSchema.optional(),
        timeout: durationMs.default(ALARM_WEBHOOK_DEFAULTS.timeoutMs),
        /** Messages waiting at most; beyond it the oldest is dropped. */
        maxQueue: z.int().min(1).max(100_000).default(ALARM_WEBHOOK_DEFAULTS.maxQueue),
        /** Delivery attempts per message (the first included). */
        maxAttempts: z.int().min(1).max(100).default(ALARM_WEBHOOK_DEFAULTS.maxAttempts),
        /** Backoff before the first retry; doubles per retry up to retryMax. */
        retryInitial: durationMs.default(ALARM_WEBHOOK_DEFAULTS.retryInitialMs),
        retryMax: durationMs.default(ALARM_WEBHOOK_DEFAULTS.retryMaxMs),
      })
      .optional(),
  })
  .prefault({});
export type AlarmsSection = z.output<typeof alarmsSectionSchema>;
export type AlarmWebhookSection = NonNullable<AlarmsSection['webhook']>;

/** What one POST carries. `text` is a one-line summary for chat bridges. */
export interface AlarmMessage {
  readonly source: 'perpmesh';
  readonly strategyId: string;
  /** `one_legged`, `liquidation_distance`, ..., or `circuit_breaker`. */
  readonly alarm: string;
  /** `raised`, `cleared`, `tripped` or `reset`. */
  readonly state: string;
  /** The incident (arb, venue, alarm). */
  readonly key: string;
  readonly message: string;
  readonly text: string;
  readonly decisionId: string;
  readonly atMs: number;
  readonly dryRun: boolean;
  readonly inputs: Record<string, string>;
}

/** The webhook message of an alarm decision; undefined for every other decision. */
export function alarmMessageOf(record: StrategyDecisionRecord): AlarmMessage | undefined {
  const code = record.reasonCode;
  let alarm: string;
  let state: string;
  let key: string;
  if (code === 'alarm_cleared') {
    alarm = record.inputs.alarm ?? 'alarm';
    state = 'cleared';
    key = record.inputs.alarm_key ?? alarm;
  } else if (code.startsWith('alarm_')) {
    alarm = code.slice('alarm_'.length);
    state = 'raised';
    key = record.inputs.alarm_key ?? alarm;
  } else if (code === 'circuit_breaker_tripped' || code === 'circuit_breaker_reset') {
    alarm = 'circuit_breaker';
    state = code === 'circuit_breaker_tripped' ? 'tripped' : 'reset';
    key = 'circuit_breaker';
  } else {
    return undefined;
  }
  return {
    source: 'perpmesh',
    strategyId: record.strategyId,
    alarm,
    state,
    key,
    message: record.reason,
    text: `[perpmesh${record.dryRun ? ' DRY-RUN' : ''}] ${record.strategyId}: ${alarm} ${state}: ${record.reason}`,
    decisionId: record.decisionId,
    atMs: record.decidedAtMs,
    dryRun: record.dryRun,
    inputs: record.inputs,
  };
}

export interface AlarmWebhookOptions {
  readonly url: Secret;
  readonly token?: Secret | undefined;
  readonly timeoutMs: number;
  readonly maxQueue: number;
  readonly maxAttempts: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  readonly logger: Logger;
  /** Default: global fetch. */
  readonly fetch?: typeof fetch;
}

export interface AlarmWebhookStats {
  readonly queued: number;
  readonly delivered: number;
  /** Given up after maxAttempts, or refused with a 4xx. */
  readonly failed: number;
  /** Dropped because the queue was full. */
  readonly dropped: number;
  /** Repeats of an incident already sent. */
  readonly duplicates: number;
  readonly retries: number;
}

/**
 * One incident in one state: its strategy, key and the time it was raised (a raise is
 * decided at that time, a clear carries how long it lasted), so the same condition raised
 * again later is a new incident while a re-published decision is not. Breaker changes are
 * told apart by their decision.
 */
function incidentId(record: StrategyDecisionRecord, message: AlarmMessage): string {
  let since: string;
  if (message.state === 'raised') since = String(record.decidedAtMs);
  else if (message.state === 'cleared')
    since = String(record.decidedAtMs - Number(record.inputs.duration_ms ?? 0));
  else since = record.decisionId;
  return `${message.strategyId}|${message.key}|${since}|${message.state}`;
}

/** Incidents remembered for de-duplication (oldest forgotten first). */
const MAX_REMEMBERED_INCIDENTS = 10_000;

/** The `strategy.alarms.webhook` section as sender options (the URL is checked here, without echoing it). */
export function alarmWebhookOptions(
  section: AlarmWebhookSection,
  logger: Logger,
  field = 'strategy.alarms.webhook',
): AlarmWebhookOptions {
  let url: URL | undefined;
  try {
    url = new URL(section.url.reveal());
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ValidationError(`${field}.url`, `must be an http(s) URL (from ${section.url.source})`);
  }
  if (section.retryMax < section.retryInitial) {
    throw new ValidationError(`${field}.retryMax`, 'must not be less than retryInitial');
  }
  return {
    url: section.url,
    token: section.token,
    timeoutMs: section.timeout,
    maxQueue: section.maxQueue,
    maxAttempts: section.maxAttempts,
    retryInitialMs: section.retryInitial,
    retryMaxMs: section.retryMax,
    logger,
  };
}

export class AlarmWebhook {
  readonly #o: AlarmWebhookOptions;
  readonly #fetch: typeof fetch;
  readonly #queue: AlarmMessage[] = [];
  /** Incidents and states already queued or sent (incidentId). */
  readonly #seen = new Set<string>();
  #stats = { delivered: 0, failed: 0, dropped: 0, duplicates: 0, retries: 0 };
  #worker: Promise<void> | undefined;
  #closed = false;
  #stop!: () => void;
  readonly #stopped = new Promise<void>((resolve) => {
    this.#stop = resolve;
  });

  constructor(options: AlarmWebhookOptions) {
    this.#o = options;
    this.#fetch = options.fetch ?? fetch;
  }

  /** Queues the decision if it is an alarm not sent yet; returns at once. */
  offer(record: StrategyDecisionRecord): void {
    if (this.#closed) return;
    const message = alarmMessageOf(record);
    if (!message) return;
    const id = incidentId(record, message);
    if (this.#seen.has(id)) {
      this.#stats.duplicates += 1;
      return;
    }
    this.#seen.add(id);
    if (this.#seen.size > MAX_REMEMBERED_INCIDENTS) this.#seen.delete(this.#seen.values().next().value!);
    if (this.#queue.length >= this.#o.maxQueue) {
      const lost = this.#queue.shift()!;
      this.#stats.dropped += 1;
      this.#o.logger.warn(
        { strategyId: lost.strategyId, alarm: lost.alarm, state: lost.state, maxQueue: this.#o.maxQueue },
        'alarm webhook: queue full, oldest alarm dropped',
      );
    }
    this.#queue.push(message);
    this.#worker ??= this.#drain().finally(() => {
      this.#worker = undefined;
    });
  }

  stats(): AlarmWebhookStats {
    return { queued: this.#queue.length, ...this.#stats };
  }

  /**
   * Stops taking alarms, gives what is queued up to `graceMs` to be delivered, then stops:
   * what is left is dropped (a retry wait ends at once).
   */
  async close(graceMs = 0): Promise<void> {
    if (graceMs > 0 && this.#worker) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.#worker,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    this.#closed = true;
    this.#stop();
    await this.#worker;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && !this.#closed) await this.#deliver(this.#queue.shift()!);
  }

  async #deliver(message: AlarmMessage): Promise<void> {
    const log = { strategyId: message.strategyId, alarm: message.alarm, state: message.state };
    for (let attempt = 1; attempt <= this.#o.maxAttempts && !this.#closed; attempt++) {
      const outcome = await this.#post(message);
      if (outcome.ok) {
        this.#stats.delivered += 1;
        return;
      }
      const final = !outcome.retry || attempt === this.#o.maxAttempts;
      if (final) {
        this.#stats.failed += 1;
        this.#o.logger.warn(
          { ...log, attempts: attempt, why: outcome.why },
          'alarm webhook: alarm not delivered',
        );
        return;
      }
      // Attempt 1 failed -> the first retry waits retryInitial, then x2 per retry up to retryMax.
      const waitMs = backoffDelayMs(attempt - 1, this.#o.retryInitialMs, this.#o.retryMaxMs);
      this.#stats.retries += 1;
      this.#o.logger.info(
        { ...log, attempt, why: outcome.why, retryInMs: waitMs },
        'alarm webhook: retrying',
      );
      await sleep(waitMs, { stop: this.#stopped, unref: true });
    }
  }

  async #post(message: AlarmMessage): Promise<{ ok: true } | { ok: false; retry: boolean; why: string }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#o.token) headers.authorization = `Bearer ${this.#o.token.reveal()}`;
    try {
      const res = await this.#fetch(this.#o.url.reveal(), {
        method: 'POST',
        headers,
        body: JSON.stringify(message),
        signal: AbortSignal.timeout(this.#o.timeoutMs),
        redirect: 'error',
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.ok) return { ok: true };
      return { ok: false, retry: res.status >= 500 || res.status === 429, why: `HTTP ${res.status}` };
    } catch (err) {
      return { ok: false, retry: true, why: transportErrorCode(err) };
    }
  }
}

/**
 * A transport failure by its code only (ECONNREFUSED, TimeoutError): fetch's messages and
 * causes can quote the address, and the address is a secret here.
 */
function transportErrorCode(err: unknown): string {
  const e = err as { name?: unknown; code?: unknown; cause?: { code?: unknown; name?: unknown } };
  const code = e?.cause?.code ?? e?.code ?? e?.cause?.name ?? e?.name;
  return typeof code === 'string' && /^[A-Za-z_]{1,40}$/.test(code) ? code : 'transport error';
}
