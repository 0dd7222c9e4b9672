/**
 * A gRPC proxy in front of the paper-venue service that records every CreateOrder the venue
 * receives (venue, client order id, nonce): the nonces the execution replicas really sent
 * are then checked, not inferred. Bytes are forwarded untouched (identity serializers), so
 * both sides speak to the real service; only the bearer token and the deadline are carried
 * over.
 *
 * It also injects venue faults on demand (`inject`; the rules are venue-faults.ts): rate
 * limits and 5xx answered without reaching the venue, writes carried out whose answer is
 * dropped, cut streams, book sequence gaps, and a skewed venue clock (`clockSkewMs`). With
 * no fault in force and no skew it is the plain pass-through.
 */
import {
  type Client,
  credentials,
  type handleServerStreamingCall,
  type handleUnaryCall,
  Metadata,
  makeGenericClientConstructor,
  Server,
  ServerCredentials,
  type ServerErrorResponse,
  type ServerWritableStream,
  type ServiceDefinition,
  status as Status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  PaperVenueServiceCreateOrderRequest,
  PaperVenueServiceCreateOrdersRequest,
  PaperVenueServiceService,
} from '@perpmesh/contracts';
import { VENUE_ERROR_METADATA } from '@perpmesh/venues';
import {
  dropsBookDelta,
  shiftVenueTimes,
  streamDrop,
  unaryAction,
  type VenueFault,
  type VenueFaultKind,
} from './venue-faults.js';

export interface SentOrder {
  venue: string;
  apiKeyId: string;
  clientOrderId: string;
  /** '' when the request carried none. */
  nonce: string;
}

export interface VenueProxyOptions {
  /** Per venue id: how far its clock runs ahead of ours, ms (negative: behind). */
  clockSkewMs?: Readonly<Record<string, number>>;
}

/** How long a rate-limited caller is told to wait. */
export const RATE_LIMIT_RETRY_AFTER_MS = 500;
/** A dropped answer with no caller deadline is given up after this long. */
const DROPPED_ANSWER_HOLD_MS = 5_000;

const identity = (b: Buffer): Buffer => b;
type Method = ServiceDefinition[string];

function faultStatus(code: Status, details: string, trailers?: Record<string, string>): ServerErrorResponse {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(trailers ?? {})) metadata.set(k, v);
  return Object.assign(new Error(details), { code, details, metadata });
}

export class RecordingVenueProxy {
  /** Every CreateOrder that reached the venue (not those a fault answered in its place). */
  readonly sent: SentOrder[] = [];
  /** Calls a venue fault acted on, by `<kind> <venue>` (book gaps: deltas dropped). */
  readonly faultHits = new Map<string, number>();
  readonly #active: VenueFault[] = [];
  /** Open streams, so a stream drop can cut them. */
  readonly #streams = new Set<{ venue: string; cut: (err: ServerErrorResponse) => void }>();
  readonly #skew: Readonly<Record<string, number>>;

  private constructor(
    private readonly server: Server,
    private readonly upstream: Client,
    readonly address: string,
    options: VenueProxyOptions,
  ) {
    this.#skew = { ...(options.clockSkewMs ?? {}) };
  }

  /** Listens on 127.0.0.1:`port` and forwards to `target` (the paper-venue gRPC address). */
  static async start(
    target: string,
    port: number,
    options: VenueProxyOptions = {},
  ): Promise<RecordingVenueProxy> {
    const methods = PaperVenueServiceService as unknown as Record<string, Method>;
    const passthrough: ServiceDefinition = Object.fromEntries(
      Object.entries(methods).map(([name, m]) => [
        name,
        {
          ...m,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
        },
      ]),
    );
    const Upstream = makeGenericClientConstructor({}, 'PaperVenueProxyUpstream');
    const upstream = new Upstream(target, credentials.createInsecure());
    const server = new Server();
    const proxy = new RecordingVenueProxy(server, upstream, `127.0.0.1:${port}`, options);
    const impl: UntypedServiceImplementation = {};
    for (const [name, m] of Object.entries(methods)) {
      impl[name] = m.responseStream ? proxy.#streamHandler(m) : proxy.#unaryHandler(m);
    }
    server.addService(passthrough, impl);
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(proxy.address, ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    return proxy;
  }

  /** The venue's clock skew in force, ms. */
  clockSkewMs(venue: string): number {
    return this.#skew[venue] ?? 0;
  }

  /**
   * Puts `fault` in force until the returned function is called. A stream drop cuts the
   * venue's open streams now and refuses new ones while it lasts.
   */
  inject(fault: VenueFault): () => void {
    this.#active.push(fault);
    if (fault.kind === 'stream_drop') {
      for (const stream of [...this.#streams]) {
        if (stream.venue !== fault.venue) continue;
        this.#hit(fault);
        stream.cut(faultStatus(Status.UNAVAILABLE, `${fault.venue}: stream dropped (venue fault)`));
      }
    }
    return () => {
      const at = this.#active.indexOf(fault);
      if (at >= 0) this.#active.splice(at, 1);
    };
  }

  #hit(fault: { kind: VenueFaultKind; venue: string }): void {
    const key = `${fault.kind} ${fault.venue}`;
    this.faultHits.set(key, (this.faultHits.get(key) ?? 0) + 1);
  }

  /** Decodes, shifts by the venue's skew and encodes again; the bytes untouched without skew. */
  #skewed(bytes: Buffer, venue: string, direction: 'answer' | 'request', m: Method): Buffer {
    const skew = this.clockSkewMs(venue);
    if (skew === 0) return bytes;
    const decode = direction === 'answer' ? m.responseDeserialize : m.requestDeserialize;
    const encode = direction === 'answer' ? m.responseSerialize : m.requestSerialize;
    return encode(shiftVenueTimes(decode(bytes), skew, direction)) as Buffer;
  }

  #unaryHandler(m: Method): handleUnaryCall<Buffer, Buffer> {
    const method = m.path.slice(m.path.lastIndexOf('/') + 1);
    return (call, callback) => {
      const venue = String((m.requestDeserialize(call.request) as { venue?: string }).venue ?? '');
      const action = unaryAction(method, venue, this.#active);
      if (action.do === 'rate_limit') {
        this.#hit(action.fault);
        callback(
          faultStatus(Status.RESOURCE_EXHAUSTED, `${venue}: too many requests (venue fault)`, {
            [VENUE_ERROR_METADATA.code]: 'RATE_LIMITED',
            [VENUE_ERROR_METADATA.venue]: venue,
            [VENUE_ERROR_METADATA.retryAfterMs]: String(RATE_LIMIT_RETRY_AFTER_MS),
          }),
        );
        return;
      }
      if (action.do === 'unavailable') {
        this.#hit(action.fault);
        callback(faultStatus(Status.UNAVAILABLE, `${venue}: 503 service unavailable (venue fault)`));
        return;
      }
      if (method === 'CreateOrder') {
        const req = PaperVenueServiceCreateOrderRequest.decode(call.request);
        this.sent.push({
          venue: req.venue,
          apiKeyId: req.apiKeyId,
          clientOrderId: req.clientOrderId,
          nonce: req.nonce,
        });
      }
      if (method === 'CreateOrders') {
        // A batch: each of its orders reached the venue (in the batch's venue and key).
        const req = PaperVenueServiceCreateOrdersRequest.decode(call.request);
        for (const order of req.orders) {
          this.sent.push({
            venue: req.venue,
            apiKeyId: req.apiKeyId,
            clientOrderId: order.clientOrderId,
            nonce: order.nonce,
          });
        }
      }
      const deadline = call.getDeadline();
      this.upstream.makeUnaryRequest(
        m.path,
        identity,
        identity,
        this.#skewed(call.request, venue, 'request', m),
        forwardMetadata(call.metadata),
        { deadline },
        (err, res) => {
          if (action.do === 'drop_answer') {
            // The venue acted; the answer never arrives: the caller's deadline passes.
            this.#hit(action.fault);
            const until = deadline instanceof Date ? deadline.getTime() : Number(deadline);
            const hold = Number.isFinite(until)
              ? Math.min(DROPPED_ANSWER_HOLD_MS, until - Date.now())
              : DROPPED_ANSWER_HOLD_MS;
            setTimeout(
              () => callback(faultStatus(Status.DEADLINE_EXCEEDED, `${venue}: answer lost (venue fault)`)),
              Math.max(0, hold),
            ).unref();
            return;
          }
          if (err || !res) callback(err ?? faultStatus(Status.INTERNAL, 'no answer'));
          else callback(null, this.#skewed(res, venue, 'answer', m));
        },
      );
    };
  }

  #streamHandler(m: Method): handleServerStreamingCall<Buffer, Buffer> {
    const market = m.path.endsWith('/WatchMarket');
    return (call: ServerWritableStream<Buffer, Buffer>) => {
      const venue = String((m.requestDeserialize(call.request) as { venue?: string }).venue ?? '');
      const dropping = streamDrop(venue, this.#active);
      if (dropping) {
        this.#hit(dropping);
        call.emit('error', faultStatus(Status.UNAVAILABLE, `${venue}: stream refused (venue fault)`));
        return;
      }
      const up = this.upstream.makeServerStreamRequest(
        m.path,
        identity,
        identity,
        call.request,
        forwardMetadata(call.metadata),
        { deadline: call.getDeadline() },
      );
      let ended = false;
      const entry = {
        venue,
        cut: (err: ServerErrorResponse) => {
          if (ended) return;
          ended = true;
          this.#streams.delete(entry);
          up.cancel();
          call.emit('error', err);
        },
      };
      this.#streams.add(entry);
      let deltas = 0;
      // The client may count the stream as open on its headers: pass them on at once.
      up.on('metadata', (md: Metadata) => call.sendMetadata(md));
      up.on('data', (chunk: Buffer) => {
        if (ended) return;
        if (market && this.#active.some((f) => f.venue === venue && f.kind === 'book_gap')) {
          const event = (m.responseDeserialize(chunk) as { event?: { $case: string } }).event;
          if (event?.$case === 'delta') deltas += 1;
          if (dropsBookDelta(event, venue, this.#active, deltas)) {
            this.#hit({ kind: 'book_gap', venue });
            return;
          }
        }
        call.write(this.#skewed(chunk, venue, 'answer', m));
      });
      up.on('end', () => {
        if (ended) return;
        ended = true;
        this.#streams.delete(entry);
        call.end();
      });
      up.on('error', (err) => {
        if (ended) return;
        ended = true;
        this.#streams.delete(entry);
        call.emit('error', err);
      });
      call.on('cancelled', () => {
        ended = true;
        this.#streams.delete(entry);
        up.cancel();
      });
    };
  }

  async close(): Promise<void> {
    this.upstream.close();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1_000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function forwardMetadata(incoming: Metadata): Metadata {
  const md = new Metadata();
  for (const value of incoming.get('authorization')) md.add('authorization', value);
  return md;
}
