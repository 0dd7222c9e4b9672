/**
 * What the account service publishes on ACCT: acct.balance, acct.position, acct.funding and
 * acct.drift, in order (one publish chain), counted, and only while the instance is active.
 *
 * Balances and positions are published on change. A change of the marks only (equity,
 * available, unrealized PnL; a position's mark and uPnL) is published at most every
 * `markPublishIntervalMs` per balance / position and is otherwise left "dirty" for the next
 * housekeeping pass; a change of the wallet total or a position's body at once. Facts carry
 * deterministic ids (`factEventId`), so two instances (a standby that took over, a restart)
 * publishing the same fact store it once.
 */
import type { EventLog } from '@perpmesh/bus';
import {
  type Envelope,
  type EnvelopePayload,
  factEventId,
  newEnvelope,
  publishEnvelope,
  type Subjects,
} from '@perpmesh/contracts';
import { type EpochMs, errorText } from '@perpmesh/core';
import type { Logger } from '@perpmesh/runtime';
import type { AccountMetrics } from './metrics.js';
import type { BalanceReading, DriftFact, FundingPaymentFact, PositionReading } from './readings.js';
import { balanceToProto, driftToProto, fundingPaymentToProto, positionToProto } from './wire.js';

export interface AcctPublisherOptions {
  readonly log: EventLog;
  readonly subjects: Subjects;
  /** Producer id on every envelope, e.g. `account/0`. */
  readonly source: string;
  readonly nowMs: () => EpochMs;
  readonly logger: Logger;
  readonly metrics: AccountMetrics;
  readonly markPublishIntervalMs: number;
  /** False on a standby: it publishes nothing. */
  readonly isActive: () => boolean;
}

interface PublishedBalance {
  readonly signature: string;
  readonly total: string;
  readonly publishedAtMs: EpochMs;
}

interface PublishedPosition {
  readonly bodySignature: string;
  readonly markSignature: string;
  readonly publishedAtMs: EpochMs;
}

export class AcctPublisher {
  readonly #o: AcctPublisherOptions;
  #chain: Promise<void> = Promise.resolve();
  /** `venue|account|currency` → what was last published. */
  readonly #balances = new Map<string, PublishedBalance>();
  readonly #dirtyBalances = new Set<string>();
  /** positionKey → what was last published. */
  readonly #positions = new Map<string, PublishedPosition>();
  readonly #dirtyPositions = new Set<string>();

  constructor(options: AcctPublisherOptions) {
    this.#o = options;
  }

  /** Resolves when every event queued so far has been published (or failed). */
  idle(): Promise<void> {
    return this.#chain;
  }

  /** Forgets what was published (back to standby: a takeover republishes current state). */
  reset(): void {
    this.#balances.clear();
    this.#dirtyBalances.clear();
    this.#positions.clear();
    this.#dirtyPositions.clear();
  }

  /**
   * acct.balance when it changed. `flushing` (housekeeping) publishes a held mark-only
   * change once its interval has passed.
   */
  balance(reading: BalanceReading, flushing: boolean): void {
    if (!this.#o.isActive()) return;
    const key = `${reading.venue}|${reading.account}|${reading.currency}`;
    const signature = [reading.total, reading.available, reading.equity, reading.unrealizedPnl]
      .map((d) => d.toFixed())
      .join('|');
    const last = this.#balances.get(key);
    const now = this.#o.nowMs();
    if (last !== undefined) {
      if (last.signature === signature) {
        this.#dirtyBalances.delete(key);
        return;
      }
      const totalMoved = last.total !== reading.total.toFixed();
      if (!totalMoved && now - last.publishedAtMs < this.#o.markPublishIntervalMs) {
        if (!flushing) this.#dirtyBalances.add(key);
        return;
      }
    }
    this.#dirtyBalances.delete(key);
    this.#balances.set(key, { signature, total: reading.total.toFixed(), publishedAtMs: now });
    this.publish(
      { $case: 'balance', value: balanceToProto(reading) },
      reading.asOfMs,
      factEventId(
        reading.asOfMs,
        `balance|${reading.venue}|${reading.account}|${reading.currency}|${signature}`,
      ),
    );
  }

  /** Currencies of (venue, account) whose mark-only change is waiting for its interval. */
  dirtyBalanceCurrencies(venue: string, account: string): string[] {
    const prefix = `${venue}|${account}|`;
    return [...this.#dirtyBalances].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  }

  /** acct.position when it changed; a `mark` change at most every interval (else held as dirty). */
  position(key: string, reading: PositionReading, reason: 'change' | 'mark'): void {
    if (!this.#o.isActive()) return;
    const bodySignature = [
      reading.size,
      reading.entryPrice ?? '',
      reading.tradingPnl,
      reading.fees,
      reading.funding,
    ]
      .map(String)
      .join('|');
    const markSignature = `${reading.markPrice ?? ''}|${reading.unrealizedPnl}`;
    const last = this.#positions.get(key);
    if (last !== undefined && last.bodySignature === bodySignature) {
      if (last.markSignature === markSignature) return;
      if (reason === 'mark' && this.#o.nowMs() - last.publishedAtMs < this.#o.markPublishIntervalMs) {
        this.#dirtyPositions.add(key);
        return;
      }
    }
    this.#dirtyPositions.delete(key);
    this.#positions.set(key, { bodySignature, markSignature, publishedAtMs: this.#o.nowMs() });
    this.publish(
      { $case: 'position', value: positionToProto(reading) },
      reading.asOfMs,
      factEventId(reading.asOfMs, `position|${key}|${bodySignature}|${markSignature}`),
    );
  }

  /** Position keys held back whose interval has passed (no longer dirty: publish them now). */
  takeDuePositions(nowMs: EpochMs): string[] {
    const due: string[] = [];
    for (const key of [...this.#dirtyPositions]) {
      const last = this.#positions.get(key);
      if (last === undefined || nowMs - last.publishedAtMs >= this.#o.markPublishIntervalMs) {
        this.#dirtyPositions.delete(key);
        due.push(key);
      }
    }
    return due;
  }

  /** acct.funding, id from (venue, account, instrument, funding time): reported twice, stored once. */
  fundingPayment(fact: FundingPaymentFact): void {
    const { fundingTimeMs } = fact;
    this.publish(
      { $case: 'fundingPayment', value: fundingPaymentToProto(fact) },
      fundingTimeMs,
      factEventId(fundingTimeMs, `funding|${fact.venue}|${fact.account}|${fact.instrument}|${fundingTimeMs}`),
    );
  }

  /** acct.drift (as of the venue's reading; each report is its own event). */
  drift(fact: DriftFact): void {
    this.publish(
      { $case: 'accountDrift', value: driftToProto(fact) },
      Math.max(fact.venueAsOfMs, 1),
      undefined,
      this.#o.nowMs(),
    );
  }

  /** Queues one event on the chain; failures are logged and counted, never thrown. */
  publish(payload: EnvelopePayload, tsEventMs: EpochMs, id?: string, tsInitMs?: EpochMs): void {
    if (!this.#o.isActive()) return;
    const { log, subjects, source, logger, metrics } = this.#o;
    const type = payload.$case;
    let envelope: Envelope;
    try {
      envelope = newEnvelope({
        source,
        tsEventMs: Math.max(1, tsEventMs),
        tsInitMs: Math.max(1, tsInitMs ?? this.#o.nowMs()),
        id,
        payload,
      });
    } catch (err) {
      metrics.publishFailures.inc({ type });
      logger.error({ type, err: errorText(err) }, 'cannot build event');
      return;
    }
    this.#chain = this.#chain.then(async () => {
      try {
        await publishEnvelope(log, envelope, subjects);
        metrics.published.inc({ type });
      } catch (err) {
        metrics.publishFailures.inc({ type });
        logger.error({ type, id: envelope.id, err: errorText(err) }, 'publish failed');
        // Positions are state: the next change or mark republishes; forget what we thought was out.
        if (type === 'position') this.#positions.clear();
      }
    });
  }
}
