/**
 * JetStream publish-acks over ONE reply subscription. Each publish is a plain NATS publish
 * with a `Nats-Msg-Id` header and the reply subject `<inbox>.<token>`; the server's ack on
 * that subject settles it, and one timer checks the ack deadlines of all of them. On the
 * wire this is exactly what nats.js `js.publish` sends and receives; what it leaves out is
 * nats.js's per-request machinery: a request object with a timer of its own and, for every
 * *successful* request, a `RequestError` with a stack trace built to reject a promise that
 * is already resolved (execution profile: `js.publish` 3.3 % and the ack's resolver 1.9 % of
 * its busy CPU, 1.7 % of it that error; docs/performance.md).
 *
 * Failures are the errors `classifyPublishError` (nats.ts) already sorts: `TimeoutError` (no
 * ack within the timeout: the message may have landed, resend with the same id),
 * `NoRespondersError` (no stream listens on the subject), `JetStreamApiError` (the server
 * refused it) and `ClosedConnectionError`. One difference: a publish the server refuses
 * for lack of permission on the subject (an async `-ERR` that nats.js hands to the matching
 * request) is seen here as no ack, i.e. timeouts and retries until `PublishFailedError`.
 */
import type { JetStreamApiError } from '@nats-io/jetstream';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { PublishAck } from './eventlog.js';
// nats.js loaded on first use (nats-modules.ts): an embedded start never loads it.
import { jetstreamApi, transportApi } from './nats-modules.js';

/** The JetStream header that carries the message id (de-duplication). */
const MSG_ID_HEADER = 'Nats-Msg-Id';

/** How often the ack deadlines are checked while publishes wait (a deadline fires up to this late). */
export const ACK_DEADLINE_CHECK_MS = 50;

interface Waiting {
  readonly subject: string;
  readonly deadline: number;
  readonly resolve: (ack: PublishAck) => void;
  readonly reject: (err: unknown) => void;
}

const utf8 = new TextDecoder();

/**
 * A server reply on an ack subject, as an ack or the error it stands for. Pure: the
 * mapping nats.js applies to a JetStream publish's answer.
 */
export function publishAckOf(subject: string, reply: Pick<Msg, 'data' | 'headers'>): PublishAck | Error {
  // "No responders": a status message without data (no stream listens on the subject).
  if (reply.data.length === 0 && reply.headers?.code === 503)
    return new (transportApi().NoRespondersError)(subject);
  let answer: { stream?: unknown; seq?: unknown; duplicate?: unknown; error?: unknown };
  try {
    answer = JSON.parse(utf8.decode(reply.data)) as typeof answer;
  } catch {
    return new Error(`invalid JetStream ack for a message on ${subject}: not JSON`);
  }
  if (answer.error && typeof answer.error === 'object') {
    return new (jetstreamApi().JetStreamApiError)(
      answer.error as ConstructorParameters<typeof JetStreamApiError>[0],
    );
  }
  if (typeof answer.stream !== 'string' || answer.stream === '' || typeof answer.seq !== 'number') {
    return new Error(`invalid JetStream ack for a message on ${subject}: no stream and sequence`);
  }
  return { stream: answer.stream, seq: answer.seq, duplicate: answer.duplicate === true };
}

export class PublishAcks {
  readonly #nc: NatsConnection;
  /** `<inbox>.`: a reply subject is this plus the publish's token. */
  readonly #replyPrefix: string;
  readonly #subscription: Subscription;
  readonly #waiting = new Map<string, Waiting>();
  #nextToken = 0;
  #deadlineCheck: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
    const inbox = transportApi().createInbox();
    this.#replyPrefix = `${inbox}.`;
    this.#subscription = nc.subscribe(`${inbox}.*`, { callback: (err, msg) => this.#onReply(err, msg) });
    // The connection closed (or the subscription ended): nothing waiting can be answered.
    void this.#subscription.closed.then(
      () => this.close(),
      () => this.close(),
    );
  }

  /** Publishes and resolves with the ack; rejects after `timeoutMs` without one (TimeoutError). */
  publish(
    subject: string,
    data: Uint8Array,
    msgId: string,
    timeoutMs: number,
    headers?: Readonly<Record<string, string>>,
  ): Promise<PublishAck> {
    if (this.#closed) return Promise.reject(new (transportApi().ClosedConnectionError)());
    const h = transportApi().headers();
    if (headers) for (const [k, v] of Object.entries(headers)) h.set(k, v);
    h.set(MSG_ID_HEADER, msgId);
    const token = (this.#nextToken++).toString(36);
    return new Promise<PublishAck>((resolve, reject) => {
      this.#waiting.set(token, { subject, deadline: performance.now() + timeoutMs, resolve, reject });
      try {
        this.#nc.publish(subject, data, { reply: this.#replyPrefix + token, headers: h });
      } catch (err) {
        this.#waiting.delete(token);
        reject(err);
        return;
      }
      this.#deadlineCheck ??= setInterval(() => this.#expire(), ACK_DEADLINE_CHECK_MS).unref();
    });
  }

  /** Publishes waiting for an ack. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Rejects whatever still waits (ClosedConnectionError) and stops listening. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopDeadlineCheck();
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of waiting) w.reject(new (transportApi().ClosedConnectionError)());
    try {
      this.#subscription.unsubscribe();
    } catch {
      // the connection is closed already
    }
  }

  #onReply(err: Error | null, msg: Msg): void {
    const token = msg.subject.slice(this.#replyPrefix.length);
    const w = this.#waiting.get(token);
    if (!w) return; // answered after its deadline: that attempt was already given up
    this.#waiting.delete(token);
    if (err) {
      w.reject(err);
      return;
    }
    const outcome = publishAckOf(w.subject, msg);
    if (outcome instanceof Error) w.reject(outcome);
    else w.resolve(outcome);
  }

  #expire(): void {
    const now = performance.now();
    for (const [token, w] of this.#waiting) {
      if (w.deadline > now) continue;
      this.#waiting.delete(token);
      w.reject(new (transportApi().TimeoutError)());
    }
    if (this.#waiting.size === 0) this.#stopDeadlineCheck();
  }

  #stopDeadlineCheck(): void {
    if (this.#deadlineCheck) clearInterval(this.#deadlineCheck);
    this.#deadlineCheck = undefined;
  }
}
