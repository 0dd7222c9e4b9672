/**
 * A recorded embedded session as a backtest's market: the md.book and md.funding events of
 * `data/sessions/<id>` (read with the read-only log reader: nothing is created or locked,
 * also while `make run` still holds the session), in the order the session stored them.
 * The backtest puts each on its paper venue (libs/sim tape.ts: the recorded book as the
 * venue's liquidity, the recorded mark and index as its prices) and feeds the strategy the
 * recorded inputs of the markets it reads, as the runtime fed them live.
 */
import { Envelope } from '@perpmesh/contracts';
import { ValidationError } from '@perpmesh/core';
import type { BookInput, FundingInput } from '@perpmesh/strategy';
import { inputFromEnvelope } from '@perpmesh/strategy/runtime';
import { openReplaySource } from '../replay/source.js';

/** One recorded market-data event; the strategy input is decoded when it is fed (bounded memory per event). */
export interface RecordedMarketEvent {
  /** Venue time of the reading (never before the previous event's: the tape's clock only moves forward). */
  readonly atMs: number;
  readonly venue: string;
  readonly instrument: string;
  readonly envelope: Envelope;
}

export interface RecordedMarket {
  /** For reports: `session <dir>`. */
  readonly description: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly events: readonly RecordedMarketEvent[];
}

/** The recorded input of an event, with the `nowMs` it is fed at. */
export function recordedInput(
  event: RecordedMarketEvent,
  nowMs: number,
): BookInput | FundingInput | undefined {
  const input = inputFromEnvelope(event.envelope, { nowMs, balanceStaleAfterMs: 0 });
  return input?.kind === 'book' || input?.kind === 'funding' ? input : undefined;
}

/** Reads the md.book / md.funding events of an embedded session directory (read-only). */
export async function loadSessionTape(dir: string): Promise<RecordedMarket> {
  const source = await openReplaySource({ session: dir });
  try {
    const events: RecordedMarketEvent[] = [];
    let clock = 0;
    for await (const msg of source.reader.read({ stream: `${source.streamPrefix}MD` })) {
      const envelope = Envelope.decode(msg.data);
      const payload = envelope.payload;
      if (payload?.$case !== 'orderBook' && payload?.$case !== 'fundingRate') continue;
      const { venue, instrument, asOfMs } = payload.value;
      clock = Math.max(clock, asOfMs || envelope.tsEvent || msg.timestampMs);
      events.push({ atMs: clock, venue, instrument, envelope });
    }
    const first = events[0];
    const last = events[events.length - 1];
    if (first === undefined || last === undefined || last.atMs <= first.atMs) {
      throw new ValidationError(
        '--tape session',
        `${source.description} has no market data to replay (md.book / md.funding events over more than an instant)`,
      );
    }
    return { description: source.description, startMs: first.atMs, endMs: last.atMs, events };
  } finally {
    await source.close();
  }
}
