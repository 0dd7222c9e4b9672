/**
 * A pass-through gRPC proxy in front of the paper-venue service that records every
 * CreateOrder it forwards (venue, client order id, nonce): the nonces the execution
 * replicas really sent are then checked, not inferred. Bytes are forwarded untouched
 * (identity serializers), so both sides speak to the real service; only the bearer token
 * and the deadline are carried over.
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
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { PaperVenueServiceCreateOrderRequest, PaperVenueServiceService } from '@perpmesh/contracts';

export interface SentOrder {
  venue: string;
  apiKeyId: string;
  clientOrderId: string;
  /** '' when the request carried none. */
  nonce: string;
}

const identity = (b: Buffer): Buffer => b;

export class RecordingVenueProxy {
  readonly sent: SentOrder[] = [];

  private constructor(
    private readonly server: Server,
    private readonly upstream: Client,
    readonly address: string,
  ) {}

  /** Listens on 127.0.0.1:`port` and forwards to `target` (the paper-venue gRPC address). */
  static async start(target: string, port: number): Promise<RecordingVenueProxy> {
    const methods = PaperVenueServiceService as unknown as Record<string, ServiceDefinition[string]>;
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
    const proxy = new RecordingVenueProxy(server, upstream, `127.0.0.1:${port}`);
    const forwardMetadata = (incoming: Metadata): Metadata => {
      const md = new Metadata();
      for (const value of incoming.get('authorization')) md.add('authorization', value);
      return md;
    };
    const impl: UntypedServiceImplementation = {};
    for (const [name, m] of Object.entries(passthrough)) {
      if (m.responseStream) {
        const handler: handleServerStreamingCall<Buffer, Buffer> = (call) => {
          const up = upstream.makeServerStreamRequest(
            m.path,
            identity,
            identity,
            call.request,
            forwardMetadata(call.metadata),
            {
              deadline: call.getDeadline(),
            },
          );
          // The client may count the stream as open on its headers: pass them on at once.
          up.on('metadata', (md: Metadata) => call.sendMetadata(md));
          up.on('data', (chunk: Buffer) => call.write(chunk));
          up.on('end', () => call.end());
          up.on('error', (err) => call.emit('error', err));
          call.on('cancelled', () => up.cancel());
        };
        impl[name] = handler;
      } else {
        const handler: handleUnaryCall<Buffer, Buffer> = (call, callback) => {
          if (m.path.endsWith('/CreateOrder')) {
            const req = PaperVenueServiceCreateOrderRequest.decode(call.request);
            proxy.sent.push({
              venue: req.venue,
              apiKeyId: req.apiKeyId,
              clientOrderId: req.clientOrderId,
              nonce: req.nonce,
            });
          }
          upstream.makeUnaryRequest(
            m.path,
            identity,
            identity,
            call.request,
            forwardMetadata(call.metadata),
            { deadline: call.getDeadline() },
            (err, res) => (err ? callback(err) : callback(null, res)),
          );
        };
        impl[name] = handler;
      }
    }
    server.addService(passthrough, impl);
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(proxy.address, ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    return proxy;
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
