/**
 * What the fault-injecting venue proxy (venue-proxy.ts) does to one call, as pure functions:
 * which answer a unary call gets while a venue fault is in force, whether a stream may open,
 * which market-data events a book gap drops, and how a skewed venue clock shifts the times
 * in requests and answers. The proxy holds the state (the faults in force, its counters);
 * venue-faults.unit.test.ts proves each rule.
 */

/**
 * A venue's misbehaviour, as a real exchange shows it:
 * - `rate_limit`: every REST call answered with the 429 equivalent (RESOURCE_EXHAUSTED,
 *   `RATE_LIMITED` with a retry-after), nothing reaches the venue;
 * - `unavailable`: every REST call answered with the 5xx equivalent (UNAVAILABLE, no venue
 *   trailer), nothing reaches the venue;
 * - `accepted_timeout`: a write (order, cancel) reaches the venue and is carried out, but
 *   its answer is dropped: the caller sees a timeout and must settle by client order id;
 * - `stream_drop`: the order/fill and market-data streams are cut, and refused while the
 *   fault lasts;
 * - `book_gap`: market-data book deltas are dropped (every third), a sequence gap each.
 * Clock skew is not a window but a venue's constant: see `shiftVenueTimes`.
 */
export const VENUE_FAULT_KINDS = [
  'rate_limit',
  'unavailable',
  'accepted_timeout',
  'stream_drop',
  'book_gap',
] as const;
export type VenueFaultKind = (typeof VENUE_FAULT_KINDS)[number];

/** A venue fault in force on one venue of the paper-venue service. */
export interface VenueFault {
  kind: VenueFaultKind;
  venue: string;
}

/** The writes of the venue API: their answer may be lost after the venue acted. */
const WRITES: ReadonlySet<string> = new Set([
  'CreateOrder',
  'CreateOrders',
  'CancelOrder',
  'CancelAllOrders',
]);

/** What the proxy does with one unary call. */
export type UnaryAction =
  | { do: 'forward' }
  | { do: 'rate_limit'; fault: VenueFault }
  | { do: 'unavailable'; fault: VenueFault }
  /** Forward, let the venue act, then drop the answer (the caller's deadline passes). */
  | { do: 'drop_answer'; fault: VenueFault };

/** The rule for a unary `method` (short name, `CreateOrder`) on `venue` under `active` faults. */
export function unaryAction(method: string, venue: string, active: readonly VenueFault[]): UnaryAction {
  const on = active.filter((f) => f.venue === venue);
  // A refusal before the venue wins over a lost answer: the venue never saw the call.
  const refused = on.find((f) => f.kind === 'rate_limit') ?? on.find((f) => f.kind === 'unavailable');
  if (refused) return { do: refused.kind as 'rate_limit' | 'unavailable', fault: refused };
  const lost = on.find((f) => f.kind === 'accepted_timeout');
  if (lost && WRITES.has(method)) return { do: 'drop_answer', fault: lost };
  return { do: 'forward' };
}

/** The fault that cuts (and refuses) the streams of `venue`, if one is in force. */
export function streamDrop(venue: string, active: readonly VenueFault[]): VenueFault | undefined {
  return active.find((f) => f.venue === venue && f.kind === 'stream_drop');
}

/** A book gap drops every this-many-th delta of a market-data stream while it lasts. */
export const BOOK_GAP_EVERY = 3;

/**
 * Whether a market-data event is dropped: a book delta while a `book_gap` fault is in force
 * on `venue`, every `BOOK_GAP_EVERY`-th one by `deltaIndex` (the stream's count of deltas).
 */
export function dropsBookDelta(
  event: { $case: string } | undefined,
  venue: string,
  active: readonly VenueFault[],
  deltaIndex: number,
): boolean {
  if (event?.$case !== 'delta') return false;
  if (!active.some((f) => f.venue === venue && f.kind === 'book_gap')) return false;
  return deltaIndex % BOOK_GAP_EVERY === 0;
}

/** Venue times in the answers (ms since epoch; `0` = not set, left alone). */
const ANSWER_TIMES: ReadonlySet<string> = new Set(['tsEventMs', 'nextFundingTimeMs']);
/** Venue times in the requests: a caller asks "since" in the venue's clock. */
const REQUEST_TIMES: ReadonlySet<string> = new Set(['sinceMs']);

/**
 * A venue whose clock runs `skewMs` ahead of ours (behind when negative): every time it
 * answers with is shifted by `skewMs`, and every time a caller sends it (read from an answer)
 * is shifted back, as the venue would read it. Walks the decoded message in place.
 */
export function shiftVenueTimes<T>(message: T, skewMs: number, direction: 'answer' | 'request'): T {
  if (skewMs === 0) return message;
  const fields = direction === 'answer' ? ANSWER_TIMES : REQUEST_TIMES;
  const delta = direction === 'answer' ? skewMs : -skewMs;
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return;
    const record = value as Record<string, unknown>;
    for (const [key, field] of Object.entries(record)) {
      if (fields.has(key) && typeof field === 'number') {
        if (field > 0) record[key] = Math.max(1, field + delta);
      } else walk(field);
    }
  };
  walk(message);
  return message;
}

/** One emulator request rule (libs/emulators `HttpFaultRule`, restated: tests/e2e stays apart). */
export interface EmulatorHttpFault {
  kind: 'rate-limit' | 'server-error' | 'timeout-after-accept';
  method?: string;
  path?: string;
  count?: number;
}

/** What an emulator offers to the venue faults: its order write route and its book symbol. */
export interface EmulatorRoutes {
  /** The order write (`POST /fapi/v1/order`): a lost answer hits the next one. */
  orders: { method: string; path: string };
  /** The venue symbol whose book deltas can be skipped; none when its books are snapshots. */
  bookSymbol?: string;
}

/** How many requests an emulator's rate limit or 5xx answers per fault window. */
export const EMULATOR_FAULT_REQUESTS = 5;

/**
 * A venue fault as the emulators' own fault injection (libs/emulators shared/faults.ts)
 * arms it at the window's start: counted requests, not a time window; `undefined` when
 * the emulator cannot show it (a book gap on snapshot-only books).
 */
export function emulatorFaultAction(
  kind: VenueFaultKind,
  routes: EmulatorRoutes,
):
  | { do: 'http'; rule: EmulatorHttpFault }
  | { do: 'drop_websockets' }
  | { do: 'skip_book_delta'; symbol: string }
  | undefined {
  switch (kind) {
    case 'rate_limit':
      return { do: 'http', rule: { kind: 'rate-limit', count: EMULATOR_FAULT_REQUESTS } };
    case 'unavailable':
      return { do: 'http', rule: { kind: 'server-error', count: EMULATOR_FAULT_REQUESTS } };
    case 'accepted_timeout':
      return { do: 'http', rule: { kind: 'timeout-after-accept', ...routes.orders, count: 1 } };
    case 'stream_drop':
      return { do: 'drop_websockets' };
    case 'book_gap':
      return routes.bookSymbol === undefined
        ? undefined
        : { do: 'skip_book_delta', symbol: routes.bookSymbol };
  }
}
