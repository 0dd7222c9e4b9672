/** The raw gRPC floor the benches compare against: one grpc.health.v1.Health/Check round trip. */
import type { Client } from '@grpc/grpc-js';

const identity = (b: Buffer): Buffer => b;

/** One Health/Check round trip (an empty HealthCheckRequest is zero bytes). */
export function healthCheck(client: Client): Promise<void> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest('/grpc.health.v1.Health/Check', identity, identity, Buffer.alloc(0), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
}
