/** gRPC helpers for tests (typed structurally: libs/testing does not depend on grpc-js). */

/**
 * One unary call of a grpc-js client method as a promise: pass the method bound to its
 * client (`client.placeOrder.bind(client)`); the call's error rejects.
 */
export function unary<Req, Res>(
  fn: (req: Req, cb: (err: Error | null, res: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise<Res>((resolveCall, reject) => {
    fn(req, (err, res) => (err ? reject(err) : resolveCall(res)));
  });
}
