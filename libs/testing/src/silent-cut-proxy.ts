/**
 * A TCP proxy in front of a server of a test's own that can cut connections silently:
 * `partition()` stops forwarding on every open connection for good (no FIN, no RST: a
 * half-open connection, as after a partition that outlived the connection's state) and holds
 * new ones silent until `heal()`; connections made after `heal()` work. Only a client that
 * checks its connection (pings, a command timeout) leaves a dead one: a test that passes the
 * heal proves the client replaced its connection, because the old one never speaks again.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class SilentCutProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut = new Set<Socket>();
  #partitioned = false;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** A proxy on a free loopback port to `upstreamPort`; `url` is `<scheme>://127.0.0.1:<port>`. */
  static async start(upstreamPort: number, scheme: string): Promise<{ proxy: SilentCutProxy; url: string }> {
    const server = createServer();
    const proxy = new SilentCutProxy(server);
    server.on('connection', (client) => proxy.#pair(client, upstreamPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { proxy, url: `${scheme}://127.0.0.1:${(server.address() as { port: number }).port}` };
  }

  #pair(client: Socket, upstreamPort: number): void {
    const upstream = connect(upstreamPort, '127.0.0.1');
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.#sockets.add(from);
      from.on('error', () => undefined);
      from.on('data', (bytes) => {
        if (!this.#cut.has(client)) to.write(bytes);
      });
      from.on('close', () => to.destroy());
    }
    if (this.#partitioned) this.#cut.add(client);
  }

  partition(): void {
    this.#partitioned = true;
    this.#cut = new Set([...this.#sockets]);
  }

  heal(): void {
    this.#partitioned = false;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
