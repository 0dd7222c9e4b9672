/** An in-memory EventLogReader for unit tests of the replay pieces: envelopes by stream. */
import type { EventLogReader, ReadOptions, StoredMessage, StreamState } from '@perpmesh/bus';
import { StreamNotFoundError, subjectMatches } from '@perpmesh/bus';
import { type Envelope, encodeEnvelope } from '@perpmesh/contracts';

export class MemoryReader implements EventLogReader {
  readonly #streams = new Map<string, StoredMessage[]>();

  /** Appends an envelope to a stream (the subject is for filters only). */
  add(stream: string, subject: string, envelope: Envelope): number {
    return this.addRaw(stream, subject, envelope.id, encodeEnvelope(envelope), envelope.tsInit);
  }

  /** A stream with no events yet. */
  ensure(stream: string): void {
    if (!this.#streams.has(stream)) this.#streams.set(stream, []);
  }

  /** Appends raw bytes (journal messages). */
  addRaw(stream: string, subject: string, id: string, data: Uint8Array, timestampMs: number): number {
    const list = this.#streams.get(stream) ?? [];
    list.push({
      stream,
      seq: list.length + 1,
      subject,
      id,
      data,
      timestampMs,
      redelivered: false,
      deliveryCount: 1,
    });
    this.#streams.set(stream, list);
    return list.length;
  }

  async streamNames(): Promise<string[]> {
    return [...this.#streams.keys()].sort();
  }

  async streamInfo(stream: string): Promise<StreamState> {
    const list = this.#streams.get(stream);
    if (!list) throw new StreamNotFoundError(stream);
    return { firstSeq: list.length ? 1 : 0, lastSeq: list.length, messages: list.length };
  }

  read(opts: ReadOptions): AsyncIterable<StoredMessage> {
    const list = this.#streams.get(opts.stream);
    return {
      async *[Symbol.asyncIterator]() {
        if (!list) throw new StreamNotFoundError(opts.stream);
        for (const m of list) {
          if (opts.fromSeq !== undefined && m.seq < opts.fromSeq) continue;
          if (opts.toSeq !== undefined && m.seq > opts.toSeq) return;
          if (opts.filterSubject && !subjectMatches(opts.filterSubject, m.subject)) continue;
          yield m;
        }
      },
    };
  }

  async close(): Promise<void> {}
}
