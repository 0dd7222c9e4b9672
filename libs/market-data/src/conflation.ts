/**
 * Pure: when the conflated md.* publishes (a book's top-N, a funding reading) go out. The
 * feed runs the timer and publishes; this decides, from the times it is given.
 *
 * Per key (one book, one funding reading), with a leading edge:
 * - a change to a key whose last publish is at least its interval old is due at once;
 * - changes inside the interval coalesce into ONE trailing publish at the interval's end.
 *   The feed publishes the key's state as it is then, so the latest state goes out and
 *   the last change is never lost;
 * - keys are independent: a busy book never delays a quiet one;
 * - memory is bounded: one "last published" time per key and at most one pending entry.
 *
 * An interval of 0 publishes every change (changes due at the same time, e.g. the deltas of
 * one venue message applied in one turn of the event loop, leave together).
 */
import { PerpmeshError } from '@perpmesh/core';

export class Conflator<K> {
  readonly #intervalMsOf: (key: K) => number;
  readonly #lastPublishedAtMs = new Map<K, number>();
  /** Keys with a change not published yet, and when they are due (insertion order = order of changes). */
  readonly #dueAtMs = new Map<K, number>();

  /** `intervalMsOf(key)`: the minimum time between two publishes of the key (>= 0). */
  constructor(intervalMsOf: (key: K) => number) {
    this.#intervalMsOf = intervalMsOf;
  }

  /**
   * The key changed at `nowMs`. Answers when its publish is due (`<= nowMs`: at once), or
   * undefined when a publish of it is already pending (the change rides along with it).
   */
  changed(key: K, nowMs: number): number | undefined {
    if (this.#dueAtMs.has(key)) return undefined;
    const last = this.#lastPublishedAtMs.get(key);
    const dueAtMs = last === undefined ? nowMs : Math.max(nowMs, last + this.#intervalMsOf(key));
    this.#dueAtMs.set(key, dueAtMs);
    return dueAtMs;
  }

  /** The pending keys due at `nowMs`, in the order they changed; each counts as published at `nowMs`. */
  takeDue(nowMs: number): K[] {
    const due: K[] = [];
    for (const [key, dueAtMs] of this.#dueAtMs) if (dueAtMs <= nowMs) due.push(key);
    for (const key of due) this.#published(key, nowMs);
    return due;
  }

  /** Every pending key, due or not (stop, an explicit flush); each counts as published at `nowMs`. */
  takeAll(nowMs: number): K[] {
    const all = [...this.#dueAtMs.keys()];
    for (const key of all) this.#published(key, nowMs);
    return all;
  }

  /** The earliest due time of a pending key; undefined when nothing is pending. */
  nextDueAtMs(): number | undefined {
    let next: number | undefined;
    for (const dueAtMs of this.#dueAtMs.values()) if (next === undefined || dueAtMs < next) next = dueAtMs;
    return next;
  }

  /** Keys with an unpublished change (at most one entry per key). */
  get pending(): number {
    return this.#dueAtMs.size;
  }

  #published(key: K, nowMs: number): void {
    this.#dueAtMs.delete(key);
    this.#lastPublishedAtMs.set(key, nowMs);
  }
}

/** A book publish interval other than the default for one venue, or one instrument on it. */
export interface BookPublishIntervalOverride {
  venue: string;
  /** Unset: every instrument of the venue. */
  instrument?: string;
  intervalMs: number;
}

/**
 * The publish interval of each book: the most specific override (venue + instrument, then
 * venue), else the default. Refuses a negative or fractional interval and an override given
 * twice, naming the field.
 */
export function bookPublishIntervals(
  defaultMs: number,
  overrides: readonly BookPublishIntervalOverride[],
  field = 'bookPublishIntervalOverrides',
): (venue: string, instrument: string) => number {
  const byPair = new Map<string, number>();
  overrides.forEach((o, i) => {
    if (!Number.isSafeInteger(o.intervalMs) || o.intervalMs < 0) {
      throw new PerpmeshError(
        'INVALID_ARGUMENT',
        `${field}[${i}].intervalMs: must be a whole number >= 0, got ${String(o.intervalMs)}`,
      );
    }
    const key = pairKey(o.venue, o.instrument);
    if (byPair.has(key)) {
      throw new PerpmeshError(
        'INVALID_ARGUMENT',
        `${field}[${i}]: ${o.venue}${o.instrument ? ` ${o.instrument}` : ''} is given twice`,
      );
    }
    byPair.set(key, o.intervalMs);
  });
  return (venue, instrument) =>
    byPair.get(pairKey(venue, instrument)) ?? byPair.get(pairKey(venue, undefined)) ?? defaultMs;
}

function pairKey(venue: string, instrument: string | undefined): string {
  return instrument === undefined ? `${venue}|*` : `${venue}|${instrument}`;
}
