/**
 * A redis-server or nats-server of a test's own (free port, temp dir; never the shared ones)
 * that can be frozen (SIGSTOP) and thawed (SIGCONT): the process keeps its listening socket and
 * its connections open but answers nothing, as a paused VM or a partition that drops packets.
 * The kernel still accepts new connections into the backlog, so a client sees a server that
 * connects and then never speaks: the case a kill (connection closed) does not cover.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './eventually.js';
import { freePort } from './ports.js';

export class FrozenServer {
  readonly #child: ChildProcess;
  readonly #dir: string;
  #frozen = false;

  private constructor(
    readonly url: string,
    child: ChildProcess,
    dir: string,
  ) {
    this.#child = child;
    this.#dir = dir;
  }

  /** Starts `kind` on a free port and waits until it accepts connections. */
  static async start(kind: 'redis' | 'nats'): Promise<FrozenServer> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), `pm-frozen-${kind}-`));
    const [command, args, url] =
      kind === 'redis'
        ? ([
            'redis-server',
            ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
            `redis://127.0.0.1:${port}`,
          ] as const)
        : ([
            'nats-server',
            ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir],
            `nats://127.0.0.1:${port}`,
          ] as const);
    const child = spawn(command, [...args], { stdio: 'ignore' });
    const server = new FrozenServer(url, child, dir);
    await eventually(`${command} accepting on port ${port}`, () => portAccepts(port), 20_000);
    return server;
  }

  /** Stops the process and waits until the kernel says it is stopped (a signal is not instant). */
  async freeze(): Promise<void> {
    this.#child.kill('SIGSTOP');
    this.#frozen = true;
    await eventually(`${this.url} frozen`, () => this.#state() === 'T', 10_000);
  }

  async thaw(): Promise<void> {
    this.#child.kill('SIGCONT');
    this.#frozen = false;
    await eventually(`${this.url} running again`, () => this.#state() !== 'T', 10_000);
  }

  /** The process state letter from /proc (`T` = stopped). */
  #state(): string | undefined {
    const stat = readFileSync(`/proc/${this.#child.pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      const exited = new Promise((resolve) => this.#child.once('exit', resolve));
      if (this.#frozen) this.#child.kill('SIGCONT');
      this.#child.kill('SIGKILL');
      await exited;
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
