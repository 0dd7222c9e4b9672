/**
 * Per-book sync and recovery, with no I/O: one venue order book kept from the venue's
 * snapshot + deltas, and what to do when it cannot be trusted. The feed tells it what
 * happened (a snapshot or delta on the stream, the fetched resync snapshot or its failure,
 * the retry delay passed, the port's market stream down or back, the time now) and it
 * answers with actions: publish the book, resync it from a fresh snapshot, retry later,
 * and whether it became ready or not ready (with the reason a person reads).
 *
 * - A sequence gap, a delta before any snapshot, a malformed event or a book crossed after
 *   a delta: resync at once from a fresh snapshot; never a silently wrong book.
 * - Deltas that arrive while the snapshot is fetched are buffered (oldest dropped beyond
 *   `maxBufferedDeltas`) and replayed on top of it; those it already covers are skipped,
 *   so a busy book does not fall into a loop of gaps and resyncs.
 * - A crossed snapshot, or a failed fetch: not trusted, retried after the feed's delay.
 * - While the port's market stream is down no deltas follow a snapshot: it is kept but
 *   not trusted; when the stream is back an untrusted book resyncs.
 * - Stale: a trusted book whose last update is older than `staleAfterMs` (by the time
 *   the feed passes in) is shown as stale; it needs no action, a newer update clears it.
 */
import {
  type EpochMs,
  errorText,
  type InstrumentId,
  OrderBook,
  readingAgeMs,
  type VenueId,
} from '@perpmesh/core';
import type { BookDelta, BookSnapshot } from '@perpmesh/venues';

export type BookSyncAction =
  /** The book's levels changed: publish it (the feed conflates, and publishes only a trusted book). */
  | { readonly do: 'publish' }
  /** Fetch a fresh snapshot now; report it with `resyncSnapshot` or `resyncFailed`. */
  | { readonly do: 'resync'; readonly why: string }
  /** Call `retryDue` after the retry delay (one pending retry per book is enough). */
  | { readonly do: 'retry_later'; readonly why: string }
  /** The book became trusted. */
  | { readonly do: 'ready' }
  /** The book is not trusted (or the reason changed). */
  | { readonly do: 'not_ready'; readonly reason: string };

export interface BookSyncOptions {
  readonly venue: VenueId;
  readonly instrument: InstrumentId;
  /** Deltas kept while a resync snapshot is on its way; the oldest are dropped beyond it. */
  readonly maxBufferedDeltas: number;
  /** A trusted book whose last update is older than this is stale. */
  readonly staleAfterMs: number;
  /**
   * Our clock, to date each applied update as received: ages then count from it (core
   * `readingAgeMs`), not from the venue's clock. Without it they count from the venue's time.
   */
  readonly nowMs?: () => EpochMs;
}

export interface BookFreshness {
  /** False while there is no trusted book (no snapshot yet, resyncing, stream down, crossed). */
  readonly synced: boolean;
  /** Not synced, or older than `staleAfterMs`: never trade on it. */
  readonly stale: boolean;
  /** Why it is not synced or stale; '' when fine. */
  readonly reason: string;
  readonly asOfMs: number;
  /** Our clock when the last applied update was received; 0 when not known. */
  readonly observedAtMs: number;
  /** `nowMs` minus when the last update was received (else its event time); 0 before any update. */
  readonly ageMs: number;
}

export class BookSync {
  readonly venue: VenueId;
  readonly instrument: InstrumentId;
  readonly #book: OrderBook;
  readonly #maxBufferedDeltas: number;
  readonly #staleAfterMs: number;
  #synced = false;
  #reason: string;
  #resyncing = false;
  /** Deltas received while a resync snapshot is on its way. */
  #buffer: BookDelta[] = [];
  #streamDown = false;
  #asOfMs = 0;
  #observedAtMs = 0;
  readonly #nowMs: (() => EpochMs) | undefined;
  /** Actions of the input being handled. */
  #actions: BookSyncAction[] = [];

  constructor(options: BookSyncOptions) {
    this.venue = options.venue;
    this.instrument = options.instrument;
    this.#maxBufferedDeltas = options.maxBufferedDeltas;
    this.#staleAfterMs = options.staleAfterMs;
    this.#nowMs = options.nowMs;
    this.#book = new OrderBook({ name: `${options.venue} ${options.instrument}` });
    this.#reason = this.#label('no snapshot yet');
  }

  /** Trusted: synced from a snapshot, every delta since applied, stream up, not crossed. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Why it is not trusted; '' when it is. */
  get reason(): string {
    return this.#reason;
  }

  /** A resync snapshot is on its way. */
  get resyncing(): boolean {
    return this.#resyncing;
  }

  /** Event time of the last applied snapshot or delta; 0 before any. */
  get asOfMs(): number {
    return this.#asOfMs;
  }

  /** Deltas waiting for the resync snapshot. */
  get bufferedDeltas(): number {
    return this.#buffer.length;
  }

  /** The best `depth` levels a side, and the venue sequence they are at. */
  top(depth: number): ReturnType<OrderBook['top']> {
    return this.#book.top(depth);
  }

  freshness(nowMs: number): BookFreshness {
    const ageMs =
      this.#asOfMs > 0 ? readingAgeMs({ asOfMs: this.#asOfMs, observedAtMs: this.#observedAtMs }, nowMs) : 0;
    const tooOld = this.#synced && ageMs > this.#staleAfterMs;
    return {
      synced: this.#synced,
      stale: !this.#synced || tooOld,
      reason: this.#synced
        ? tooOld
          ? this.#label(`last update ${ageMs} ms ago (stale after ${this.#staleAfterMs} ms)`)
          : ''
        : this.#reason,
      asOfMs: this.#asOfMs,
      observedAtMs: this.#observedAtMs,
      ageMs,
    };
  }

  // ---- inputs ------------------------------------------------------------------------------------

  /** A snapshot on the market stream. */
  snapshot(snapshot: BookSnapshot): BookSyncAction[] {
    return this.#handle(() => this.#applySnapshot(snapshot, 'stream'));
  }

  /** A delta on the market stream. */
  delta(delta: BookDelta): BookSyncAction[] {
    return this.#handle(() => this.#applyDelta(delta));
  }

  /** The snapshot fetched for a `resync` action: applied, then the buffered deltas on top. */
  resyncSnapshot(snapshot: BookSnapshot): BookSyncAction[] {
    return this.#handle(() => {
      this.#resyncing = false;
      const buffered = this.#buffer;
      this.#buffer = [];
      // The stream may have delivered a newer snapshot meanwhile; keep the newer one.
      if (!(this.#synced && this.#book.seq >= snapshot.seq)) {
        if (!this.#applySnapshot(snapshot, 'resync')) return;
      }
      if (this.#book.needsResync) return;
      for (let i = 0; i < buffered.length; i++) {
        this.#applyDelta(buffered[i] as BookDelta);
        if (this.#resyncing) {
          // A gap in the buffer started another resync: what followed the gap waits for it too.
          this.#buffer.push(...buffered.slice(i + 1));
          return;
        }
      }
    });
  }

  /** Fetching the snapshot for a `resync` action failed. */
  resyncFailed(error: string): BookSyncAction[] {
    return this.#handle(() => this.#resyncFailed(error));
  }

  /** The delay of a `retry_later` action passed: resync if the book is still not trusted. */
  retryDue(why: string): BookSyncAction[] {
    return this.#handle(() => {
      if (!this.#synced) this.#startResync(why);
    });
  }

  /** The port says its market stream is down: no deltas follow, the book is not trusted. */
  streamDown(reason: string): BookSyncAction[] {
    return this.#handle(() => {
      this.#streamDown = true;
      this.#markUnsynced(this.#label(reason));
    });
  }

  /** The port's market stream is back: an untrusted book resyncs. */
  streamUp(): BookSyncAction[] {
    return this.#handle(() => {
      this.#streamDown = false;
      if (!this.#synced) this.#startResync('market stream reconnected');
    });
  }

  // ---- rules -------------------------------------------------------------------------------------

  /** Runs one input; answers its actions, with one ready/not_ready when trust or its reason changed. */
  #handle(fn: () => void): BookSyncAction[] {
    const before = { synced: this.#synced, reason: this.#reason };
    this.#actions = [];
    fn();
    const actions = this.#actions;
    this.#actions = [];
    if (before.synced !== this.#synced || before.reason !== this.#reason) {
      actions.push(this.#synced ? { do: 'ready' } : { do: 'not_ready', reason: this.#reason });
    }
    return actions;
  }

  #act(action: BookSyncAction): void {
    if (action.do === 'publish' && this.#actions.some((a) => a.do === 'publish')) return;
    this.#actions.push(action);
  }

  /** An update was applied: its venue time, and when we received it (on our clock, when we have one). */
  #updatedAt(tsEventMs: EpochMs): void {
    this.#asOfMs = tsEventMs;
    this.#observedAtMs = this.#nowMs?.() ?? 0;
  }

  /** Our clock when the last applied update was received; 0 when not known. */
  get observedAtMs(): number {
    return this.#observedAtMs;
  }

  /** False when the snapshot was malformed (already handled). */
  #applySnapshot(snapshot: BookSnapshot, from: 'stream' | 'resync'): boolean {
    let result: { crossed: boolean };
    try {
      result = this.#book.applySnapshot({ seq: snapshot.seq, bids: snapshot.bids, asks: snapshot.asks });
    } catch (err) {
      // A malformed snapshot leaves the book as it was; it never half-applies.
      if (from === 'resync') this.#resyncFailed(errorText(err));
      else this.#startResync(`bad snapshot: ${errorText(err)}`);
      return false;
    }
    this.#updatedAt(snapshot.tsEventMs);
    if (result.crossed) {
      this.#book.invalidate();
      this.#markUnsynced(this.#label('snapshot is crossed'));
      this.#act({ do: 'retry_later', why: 'crossed snapshot' });
      return true;
    }
    this.#act({ do: 'publish' });
    // While the port says its stream is down no deltas follow this snapshot: keep it, do
    // not trust it; the stream coming back resyncs it.
    if (this.#streamDown) return true;
    if (!this.#synced) {
      this.#synced = true;
      this.#reason = '';
    }
    return true;
  }

  #applyDelta(delta: BookDelta): void {
    if (this.#resyncing) {
      this.#buffer.push(delta);
      if (this.#buffer.length > this.#maxBufferedDeltas) this.#buffer.shift();
      return;
    }
    let result: ReturnType<OrderBook['applyDelta']>;
    try {
      result = this.#book.applyDelta(delta);
    } catch (err) {
      this.#startResync(`bad delta: ${errorText(err)}`);
      return;
    }
    switch (result.status) {
      case 'applied':
        this.#updatedAt(delta.tsEventMs);
        this.#act({ do: 'publish' });
        if (result.crossed) {
          this.#book.invalidate();
          this.#startResync('book crossed after a delta');
        }
        return;
      case 'stale':
        return;
      case 'gap':
        this.#startResync(result.error.message, delta);
        return;
      case 'unsynced':
        this.#startResync('delta before any snapshot', delta);
        return;
    }
  }

  /** `pending` is the delta that revealed the need (it may be newer than the snapshot to come). */
  #startResync(why: string, pending?: BookDelta): void {
    if (this.#resyncing) {
      if (pending) this.#buffer.push(pending);
      return;
    }
    this.#resyncing = true;
    this.#buffer = pending ? [pending] : [];
    this.#markUnsynced(this.#label(`resyncing (${why})`));
    this.#act({ do: 'resync', why });
  }

  #resyncFailed(error: string): void {
    this.#resyncing = false;
    this.#buffer = [];
    this.#markUnsynced(this.#label(`resync failed: ${error}`));
    this.#act({ do: 'retry_later', why: 'retry after a failed resync' });
  }

  #markUnsynced(reason: string): void {
    this.#synced = false;
    this.#reason = reason;
  }

  #label(what: string): string {
    return `order book ${this.instrument} on ${this.venue}: ${what}`;
  }
}
