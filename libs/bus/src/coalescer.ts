/**
 * Publishes that callers make in the same turn of the event loop leave as ONE
 * `publishBatch` (one outbox write, one journal append on the embedded log, one pipelined
 * round of publish-acks on NATS), while each caller still awaits ITS message's ack and gets
 * ITS message's error: durability per message is exactly that of `publish`.
 *
 * Nothing is ordered between callers (as with concurrent `publish` calls); a caller that
 * needs an order between two of its messages awaits the first before publishing the second.
 * A turn with a single message uses `publish` (the path of one order at a time is unchanged).
 */
import { PublishBatchError } from './errors.js';
import type { EventLog, OutgoingMessage, PublishAck } from './eventlog.js';
import { TurnBatcher } from './turn-batcher.js';

/** Default bound of one batch: a larger turn is split (the rest goes in the next batch). */
export const DEFAULT_COALESCE_MAX_BATCH = 256;

interface Waiting {
  readonly msg: OutgoingMessage;
  readonly resolve: (ack: PublishAck) => void;
  readonly reject: (err: unknown) => void;
}

export class PublishCoalescer {
  readonly #log: Pick<EventLog, 'publish' | 'publishBatch'>;
  readonly #onFlush: ((messages: number) => void) | undefined;
  readonly #turns: TurnBatcher<Waiting>;

  constructor(
    log: Pick<EventLog, 'publish' | 'publishBatch'>,
    options: {
      maxBatch?: number;
      /** Told how many messages each call to the log carried (a metric of how much is shared). */
      onFlush?: (messages: number) => void;
    } = {},
  ) {
    this.#log = log;
    this.#onFlush = options.onFlush;
    this.#turns = new TurnBatcher(options.maxBatch ?? DEFAULT_COALESCE_MAX_BATCH, (batch) => {
      this.#onFlush?.(batch.length);
      void this.#send(batch);
    });
  }

  /** Resolves with this message's ack once stored; rejects with this message's failure. */
  publish(msg: OutgoingMessage): Promise<PublishAck> {
    return new Promise<PublishAck>((resolve, reject) => this.#turns.add({ msg, resolve, reject }));
  }

  /** Never throws: whatever the log does (also a synchronous throw) settles the callers. */
  async #send(batch: readonly Waiting[]): Promise<void> {
    if (batch.length === 1) {
      const only = batch[0] as Waiting;
      try {
        only.resolve(await this.#log.publish(only.msg));
      } catch (err) {
        only.reject(err);
      }
      return;
    }
    let acks: PublishAck[];
    try {
      acks = await this.#log.publishBatch(batch.map((w) => w.msg));
    } catch (err) {
      settleFailedBatch(batch, err);
      return;
    }
    for (const [i, w] of batch.entries()) w.resolve(acks[i] as PublishAck);
  }
}

/** A failed batch: the stored messages' callers get their acks, the others their own error. */
function settleFailedBatch(batch: readonly Waiting[], err: unknown): void {
  if (!(err instanceof PublishBatchError)) {
    for (const w of batch) w.reject(err);
    return;
  }
  const failed = new Map(err.failures.map((f) => [f.index, f.error]));
  batch.forEach((w, i) => {
    const ack = err.acks[i];
    if (ack && !failed.has(i)) w.resolve(ack);
    else w.reject(failed.get(i) ?? err);
  });
}
