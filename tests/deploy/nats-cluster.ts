/**
 * A 3-node JetStream cluster of Debian's nats-server (2.9.10 here) on loopback ports, for
 * tests: the shape of deploy/k8s/base/nats-cluster.conf (2.9 has no sync_interval). Every
 * client it hands out has a bounded reconnect budget, and `close()` ends them and the
 * nodes, so a failed test fails fast instead of hanging on reconnects to dead nodes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type EventLog, NatsEventLog } from '@perpmesh/bus';
import type { StreamSpec } from '@perpmesh/contracts';
import { errorText } from '@perpmesh/core';
import { eventually, freePort } from '@perpmesh/testing';
import { commandAvailable } from './tools.js';

export const natsServerAvailable = (): boolean => commandAvailable('nats-server');

export interface ClusterNode {
  readonly name: string;
  readonly clientPort: number;
  readonly routePort: number;
  readonly url: string;
  process?: ChildProcess;
}

/** How long a client keeps reconnecting before it gives up: ~10 s, past any leader election. */
const RECONNECT = { maxReconnectAttempts: 40, reconnectTimeWait: 250 } as const;

export class NatsCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'perpmesh-nats-r3-'));
  readonly #connections = new Set<NatsConnection>();

  private constructor(readonly nodes: ClusterNode[]) {}

  static async start(size = 3): Promise<NatsCluster> {
    const nodes: ClusterNode[] = [];
    for (let i = 1; i <= size; i++) {
      const clientPort = await freePort();
      nodes.push({
        name: `n${i}`,
        clientPort,
        routePort: await freePort(),
        url: `nats://127.0.0.1:${clientPort}`,
      });
    }
    const cluster = new NatsCluster(nodes);
    for (const node of nodes) cluster.#spawn(node);
    return cluster;
  }

  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  #spawn(node: ClusterNode): void {
    const routes = this.nodes.filter((n) => n !== node).map((n) => `nats-route://127.0.0.1:${n.routePort}`);
    const conf = join(this.dir, `${node.name}.conf`);
    writeFileSync(
      conf,
      [
        `server_name: ${node.name}`,
        `listen: 127.0.0.1:${node.clientPort}`,
        `jetstream { store_dir: "${join(this.dir, node.name)}" }`,
        `cluster { name: perpmesh-test, listen: 127.0.0.1:${node.routePort}, routes: [${routes.join(', ')}] }`,
      ].join('\n'),
    );
    node.process = spawn('nats-server', ['-c', conf, '-l', join(this.dir, `${node.name}.log`)], {
      stdio: 'ignore',
    });
  }

  /**
   * A connection to any live node (or first to `seed`, learning the others from it), reconnecting
   * for ~10 s at most; closed by `close()`.
   */
  async connect(name: string, seed?: ClusterNode): Promise<NatsConnection> {
    const servers = seed ? [seed.url] : this.urls;
    const nc = await eventually(
      'a cluster node accepts connections',
      () => connect({ servers, name, noAsyncTraces: true, ...RECONNECT }).catch(() => undefined),
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    this.#connections.add(nc);
    return nc;
  }

  /**
   * Waits until JetStream answers on `nc` (a meta leader is elected). Creating an R3 stream
   * right after can still answer "no suitable peers for placement, peer offline" until the
   * meta leader has heard every node's JetStream stats: retry it (`createStreams`).
   */
  async waitJetStream(nc: NatsConnection): Promise<JetStreamManager> {
    return eventually(
      'JetStream answers',
      () => jetstreamManager(nc, { timeout: 2_000 }).catch(() => undefined),
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  }

  /** An event log on a connection of `connect(name)`, once JetStream answers (close the log; the cluster closes the connection). */
  async eventLog(name: string, seed?: ClusterNode): Promise<NatsEventLog> {
    const nc = await this.connect(name, seed);
    await this.waitJetStream(nc);
    return NatsEventLog.connect({ connection: nc });
  }

  /** The node that leads `stream`, once it has a leader and every other replica is current. */
  async streamLeader(jsm: JetStreamManager, stream: string): Promise<ClusterNode> {
    const replicasCurrent = this.nodes.length - 1;
    const leader = await eventually(
      `${stream} has a leader and ${replicasCurrent} current replicas`,
      async () => {
        const i = await jsm.streams.info(stream);
        return i.cluster?.leader && i.cluster.replicas?.filter((r) => r.current).length === replicasCurrent
          ? i.cluster.leader
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const node = this.nodes.find((n) => n.name === leader);
    if (!node) throw new Error(`${stream}'s leader ${leader} is not one of ${this.nodes.map((n) => n.name)}`);
    return node;
  }

  /**
   * Creates (or updates) `specs` at the cluster's size in replicas, retrying placement while
   * the cluster settles; returns the placement errors seen on the way (diagnostics).
   */
  async createStreams(log: EventLog, specs: readonly StreamSpec[]): Promise<string[]> {
    const seen: string[] = [];
    const replicas = this.nodes.length;
    await eventually(
      `streams created with ${replicas} replicas`,
      () =>
        log
          .ensureStreams(specs.map((s) => ({ ...s, replicas })))
          .then(() => true)
          .catch((err: unknown) => {
            seen.push(errorText(err));
            throw err;
          }),
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    return seen;
  }

  kill(node: ClusterNode): void {
    node.process?.kill('SIGKILL');
  }

  /** Closes every connection handed out, kills the nodes, removes the store (KEEP_NATS_TEST_DIR keeps it). */
  async close(): Promise<void> {
    for (const nc of this.#connections) {
      await nc.close().catch((err: unknown) => process.stderr.write(`nats close: ${errorText(err)}\n`));
    }
    for (const n of this.nodes) n.process?.kill('SIGKILL');
    if (!process.env.KEEP_NATS_TEST_DIR) rmSync(this.dir, { recursive: true, force: true });
  }
}
