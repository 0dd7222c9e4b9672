/**
 * BookMirror: a consumer-side copy of one venue book, built from a snapshot and kept
 * current by deltas. It refuses a delta whose prevSeq is not its seq (a gap or a
 * replay), which is what a venue adapter must do before resyncing from a new snapshot.
 */
import { type Decimal, PerpmeshError } from '@perpmesh/core';
import type { BookDeltaEvent, BookLevel, BookSnapshot } from './events.js';

export class BookSequenceError extends PerpmeshError {
  constructor(
    readonly expectedPrevSeq: number,
    readonly gotPrevSeq: number,
  ) {
    super('BOOK_SEQUENCE_GAP', `book delta prevSeq ${gotPrevSeq} does not follow seq ${expectedPrevSeq}`);
  }
}

export class BookMirror {
  private readonly bids = new Map<string, BookLevel>();
  private readonly asks = new Map<string, BookLevel>();
  private seqValue: number;

  constructor(snapshot: BookSnapshot) {
    this.seqValue = snapshot.seq;
    for (const l of snapshot.bids) this.bids.set(l.price.toFixed(), l);
    for (const l of snapshot.asks) this.asks.set(l.price.toFixed(), l);
  }

  get seq(): number {
    return this.seqValue;
  }

  /** Applies one delta; throws BookSequenceError on a gap, leaving the mirror unchanged. */
  apply(delta: Pick<BookDeltaEvent, 'seq' | 'prevSeq' | 'bids' | 'asks'>): void {
    if (delta.prevSeq !== this.seqValue) throw new BookSequenceError(this.seqValue, delta.prevSeq);
    for (const l of delta.bids) set(this.bids, l);
    for (const l of delta.asks) set(this.asks, l);
    this.seqValue = delta.seq;
  }

  /** Best first. */
  levels(side: 'bids' | 'asks', depth = Number.POSITIVE_INFINITY): BookLevel[] {
    const all = [...(side === 'bids' ? this.bids : this.asks).values()];
    all.sort((a, b) => (side === 'bids' ? b.price.comparedTo(a.price) : a.price.comparedTo(b.price)));
    return all.slice(0, depth);
  }

  best(side: 'bids' | 'asks'): Decimal | undefined {
    let best: Decimal | undefined;
    for (const l of (side === 'bids' ? this.bids : this.asks).values()) {
      if (best === undefined || (side === 'bids' ? l.price.gt(best) : l.price.lt(best))) best = l.price;
    }
    return best;
  }
}

function set(levels: Map<string, BookLevel>, level: BookLevel): void {
  const key = level.price.toFixed();
  if (level.size.isZero()) levels.delete(key);
  else levels.set(key, level);
}
