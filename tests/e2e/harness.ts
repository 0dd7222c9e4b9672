/**
 * Process harness for the end-to-end tests: every perpmesh service as a real child process
 * (`node --import tsx --conditions=@perpmesh/source services/<name>/src/main.ts`) on the real
 * NATS and Redis, isolated by a unique `namespace` and free ports.
 *
 * - `ServiceProcess`: start, wait for /readyz 200 (a timeout prints the last /readyz body,
 *   the process's stderr and its last log lines, never a bare timeout), stop with SIGTERM and
 *   check the clean exit, kill -9, restart; JSON log lines collected.
 * - `E2eStack`: one namespace, one config file, the four services' ports, the clients a test
 *   needs, and the cleanup of the namespace's streams and Redis keys.
 * - Every child is killed when the test process exits, even after a failed test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { credentials, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { NatsEventLog, type TailHandle } from '@perpmesh/bus';
import {
  AccountServiceClient,
  decodeEnvelope,
  type Envelope,
  ExecutionServiceClient,
  type Fill,
  MarketDataServiceClient,
  namespaceFor,
  type OrderEvent,
  OrderEventKind,
  OrderType,
  type PlaceOrderRequest,
  type PlaceOrderResponse,
  Side,
  Subjects,
  TimeInForce,
} from '@perpmesh/contracts';
import { errorText, sleep } from '@perpmesh/core';
import { bearerAuthInterceptor, Secret } from '@perpmesh/runtime';
import { eventually, freePort, natsUrlForTests, redisUrlForTests, uniqueTestName } from '@perpmesh/testing';
import { PaperVenueClient } from '@perpmesh/venues';
import { Redis } from 'ioredis';

export const REPO_ROOT = new URL('../../', import.meta.url).pathname;
/** The env var the services read the bearer token from (config `auth.token: { env }`). */
export const TOKEN_ENV = 'PERPMESH_E2E_TOKEN';

export type ServiceName = 'paper-venue' | 'market-data' | 'execution' | 'account';

// ---- bounded waiting ---------------------------------------------------------------------------

/**
 * `eventually` (libs/testing) for a probe that answers undefined until it holds; on timeout
 * the error also says, from `explain`, what was seen last.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  options: { timeoutMs?: number; intervalMs?: number; explain?: () => string } = {},
): Promise<T> {
  try {
    return await eventually(what, probe, {
      timeoutMs: options.timeoutMs ?? 15_000,
      intervalMs: options.intervalMs ?? 50,
    });
  } catch (err) {
    if (!options.explain) throw err;
    throw new Error(`${errorText(err)}\nlast seen: ${options.explain()}`, { cause: err });
  }
}

// ---- one service process -----------------------------------------------------------------------

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

export interface ReadyzComponent {
  name: string;
  ready: boolean;
  reason: string | null;
  since: number;
  detail?: unknown;
}

export interface ReadyzBody {
  ready: boolean;
  components: ReadyzComponent[];
}

export interface ReadyzObservation {
  status: number;
  body: ReadyzBody;
  atMs: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<ChildProcess>();
const killAll = (): void => {
  for (const child of live) child.kill('SIGKILL');
};
// Children never outlive the test process: normal exit, a failed test, or a signal to it.
process.on('exit', killAll);
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(code);
  });
}

export interface ServiceProcessOptions {
  service: ServiceName;
  /** Instance label in messages (`execution-b`); default the service name. */
  label?: string;
  configPath: string;
  httpPort: number;
  /** Entry file relative to services/<service>/src (or an absolute path); default `main.ts`. */
  entry?: string;
  env?: Record<string, string>;
  /**
   * Run the compiled entry (services/<service>/dist/<entry>.js, plain node, the libraries'
   * dist) instead of the sources through tsx: no transpiling at every start. Only for an
   * entry under services/<service>/src, and only when the caller checked that the build is
   * current (scripts/build-stamp.mjs `buildIsCurrent`): else the sources run.
   */
  compiled?: boolean;
}

export class ServiceProcess {
  readonly label: string;
  readonly httpUrl: string;
  readonly logs: LogLine[] = [];
  /** Distinct /readyz answers seen by `waitReady`, in order (status + not-ready components). */
  readonly readyzHistory: ReadyzObservation[] = [];
  #child: ChildProcess | undefined;
  #stderr = '';
  #exited: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null });
  #exitInfo: ExitInfo | undefined;
  /** Set once the test asked for the exit (stop, kill9): any other exit is a crash. */
  #exitAsked = false;
  #lastReadyz: ReadyzObservation | undefined;

  constructor(readonly options: ServiceProcessOptions) {
    this.label = options.label ?? options.service;
    this.httpUrl = `http://127.0.0.1:${options.httpPort}`;
  }

  /** Spawns the process (again, after a stop or kill: logs accumulate, stderr restarts). */
  start(overrides: { entry?: string; env?: Record<string, string> } = {}): this {
    if (this.#child && this.#exitInfo === undefined) throw new Error(`${this.label} is already running`);
    const file = overrides.entry ?? this.options.entry ?? 'main.ts';
    const compiled = this.options.compiled === true && !isAbsolute(file);
    const entry = isAbsolute(file)
      ? file
      : compiled
        ? join(REPO_ROOT, 'services', this.options.service, 'dist', file.replace(/\.ts$/, '.js'))
        : join(REPO_ROOT, 'services', this.options.service, 'src', file);
    // Only our own PERPMESH_* settings reach the child: a developer's env must not leak in.
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && !k.startsWith('PERPMESH')) env[k] = v;
    }
    Object.assign(env, this.options.env, overrides.env, { PERPMESH_CONFIG: this.options.configPath });
    const child = spawn(
      process.execPath,
      compiled ? [entry] : ['--import', import.meta.resolve('tsx'), '--conditions=@perpmesh/source', entry],
      { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    this.#exitInfo = undefined;
    this.#exitAsked = false;
    this.#stderr = '';
    live.add(child);
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
        const text = buffered.slice(0, at);
        buffered = buffered.slice(at + 1);
        try {
          this.logs.push(JSON.parse(text) as LogLine);
        } catch {
          this.logs.push({ msg: text, level: 'raw' });
        }
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString('utf8');
    });
    this.#exited = new Promise<ExitInfo>((resolve) => {
      child.on('exit', (code, signal) => {
        live.delete(child);
        this.#exitInfo = { code, signal };
        resolve(this.#exitInfo);
      });
    });
    return this;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#exitInfo === undefined;
  }

  get exited(): Promise<ExitInfo> {
    return this.#exited;
  }

  stderr(): string {
    return this.#stderr;
  }

  /** What a failure message needs: exit state, last /readyz, stderr, the last log lines. */
  describe(lastLines = 15): string {
    const state = this.#exitInfo
      ? `exited (code ${String(this.#exitInfo.code)}, signal ${String(this.#exitInfo.signal)})`
      : 'running';
    const lines = this.logs
      .slice(-lastLines)
      .map(
        (l) =>
          `  ${String(l.level)} ${String(l.component ?? '')} ${String(l.msg)}${l.err ? ` err=${JSON.stringify(l.err)}` : ''}`,
      )
      .join('\n');
    return [
      `${this.label} (pid ${String(this.pid)}) ${state}`,
      `last /readyz: ${this.#lastReadyz ? `${this.#lastReadyz.status} ${JSON.stringify(this.#lastReadyz.body)}` : 'none answered'}`,
      `stderr: ${this.#stderr.trim().slice(-3000) || '(empty)'}`,
      `last log lines:\n${lines}`,
    ].join('\n');
  }

  /** One GET /readyz; undefined when nothing answers yet. */
  async readyz(): Promise<ReadyzObservation | undefined> {
    let res: Response;
    try {
      res = await fetch(`${this.httpUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
    } catch {
      return undefined;
    }
    const observation = { status: res.status, body: (await res.json()) as ReadyzBody, atMs: Date.now() };
    this.#lastReadyz = observation;
    return observation;
  }

  /**
   * Polls /readyz until 200, recording each distinct answer in `readyzHistory`. Fails at once
   * when the process exits, and after `timeoutMs` with the last body, stderr and log lines.
   */
  async waitReady(options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<ReadyzObservation> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    let lastKey = '';
    while (Date.now() < deadline) {
      if (!this.running) {
        await this.#exited;
        throw new Error(`${this.label} exited before it was ready\n${this.describe(30)}`);
      }
      const seen = await this.readyz();
      if (seen) {
        const key = JSON.stringify([
          seen.status,
          seen.body.components.filter((c) => !c.ready).map((c) => [c.name, c.reason]),
        ]);
        if (key !== lastKey) this.readyzHistory.push(seen);
        lastKey = key;
        if (seen.status === 200) return seen;
      }
      await sleep(options.intervalMs ?? 25);
    }
    throw new Error(`${this.label} not ready after ${timeoutMs} ms\n${this.describe(30)}`);
  }

  /** Resolves with the first log line (from now or already seen) matching `match`. */
  waitForLog(what: string, match: (line: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
    return waitUntil(`${this.label} to log ${what}`, () => this.logs.find(match), {
      timeoutMs,
      explain: () => this.describe(),
    });
  }

  /**
   * SIGTERM and a clean exit (code 0) within `timeoutMs`; throws with the logs otherwise.
   * A process that had already exited on its own, non-zero or by a signal, before anyone
   * asked it to stop crashed: that throws too (a test expecting the crash restarts it or
   * calls kill9 first).
   */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (!this.#child) return;
    const gone = this.#exitInfo;
    if (gone) {
      if (this.#exitAsked || (gone.code === 0 && gone.signal === null)) return;
      throw new Error(
        `${this.label} had already exited with ${JSON.stringify(gone)} before stop was asked: it crashed\n${this.describe(30)}`,
      );
    }
    this.#exitAsked = true;
    this.#child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const info = await Promise.race([
      this.#exited,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (info === undefined) {
      this.#child?.kill('SIGKILL');
      await this.#exited;
      throw new Error(`${this.label} did not exit within ${timeoutMs} ms of SIGTERM\n${this.describe(30)}`);
    }
    if (info.code !== 0) {
      throw new Error(
        `${this.label} exited with ${JSON.stringify(info)} after SIGTERM, not 0\n${this.describe(30)}`,
      );
    }
  }

  /** kill -9; resolves once the process is gone. */
  async kill9(): Promise<ExitInfo> {
    this.#exitAsked = true;
    if (this.running) this.#child?.kill('SIGKILL');
    return this.#exited;
  }
}

// ---- the stack: namespace, config, ports, clients, cleanup -------------------------------------

export interface StackOptions {
  /** Execution processes, each with its own ports and instance name (default 1). */
  executionReplicas?: number;
  /** Balance freshness bound of the account service (default 3 s). */
  balanceStaleAfter?: string;
  /** Account poll of venue balances (default 300 ms). */
  accountPollInterval?: string;
  /** Where execution and the other services reach the paper venue (default: the paper-venue service). */
  paperAddress?: string;
  seed?: number;
}

export interface StackPorts {
  paperVenue: { grpc: number; http: number };
  marketData: { grpc: number; http: number };
  account: { grpc: number; http: number };
  execution: Array<{ grpc: number; http: number }>;
}

export const BTC = 'BTC-USDC-PERP';
export const ACCOUNT = 'main';
export const LIGHTER_API_KEY = '4';

export type ExecutionClient = InstanceType<typeof ExecutionServiceClient>;
export type AccountClient = InstanceType<typeof AccountServiceClient>;
export type MarketDataClient = InstanceType<typeof MarketDataServiceClient>;

/**
 * One isolated deployment for a test file: a unique namespace (streams, subjects, Redis
 * keys), a config file, free ports, the service processes (not started), and clients.
 */
export class E2eStack {
  readonly name: string;
  readonly token: string;
  readonly subjects: Subjects;
  readonly dir: string;
  readonly configPath: string;
  readonly paperVenue: ServiceProcess;
  readonly marketData: ServiceProcess;
  readonly account: ServiceProcess;
  readonly executions: ServiceProcess[];
  #closers: Array<() => Promise<void> | void> = [];

  private constructor(
    readonly ports: StackPorts,
    readonly natsUrl: string,
    readonly redisUrl: string,
    options: StackOptions,
  ) {
    this.name = uniqueTestName('E2E');
    this.token = `e2e-${this.name}-token`;
    this.subjects = new Subjects({ root: namespaceFor(this.name).subjectRoot });
    this.dir = mkdtempSync(join(tmpdir(), 'perpmesh-e2e-'));
    this.configPath = join(this.dir, 'perpmesh.yaml');
    writeFileSync(this.configPath, JSON.stringify(this.#config(options), null, 2));
    const env = { [TOKEN_ENV]: this.token, NATS_URL: natsUrl, REDIS_URL: redisUrl };
    const proc = (service: ServiceName, http: number, label?: string) =>
      new ServiceProcess({
        service,
        configPath: this.configPath,
        httpPort: http,
        env,
        ...(label ? { label } : {}),
      });
    this.paperVenue = proc('paper-venue', ports.paperVenue.http);
    this.marketData = proc('market-data', ports.marketData.http);
    this.account = proc('account', ports.account.http);
    this.executions = ports.execution.map((p, i) => {
      // One config file for all: each replica gets its ports and instance name from env overrides.
      const label = i === 0 ? 'execution' : `execution-${i}`;
      return new ServiceProcess({
        service: 'execution',
        label,
        configPath: this.configPath,
        httpPort: p.http,
        env: {
          ...env,
          PERPMESH__EXECUTION__GRPC_PORT: String(p.grpc),
          PERPMESH__EXECUTION__HTTP__PORT: String(p.http),
          PERPMESH__EXECUTION__INSTANCE: `e2e-${i}`,
        },
      });
    });
  }

  static async create(options: StackOptions = {}): Promise<E2eStack> {
    const pair = async () => ({ grpc: await freePort(), http: await freePort() });
    const ports: StackPorts = {
      paperVenue: await pair(),
      marketData: await pair(),
      account: await pair(),
      execution: [],
    };
    for (let i = 0; i < (options.executionReplicas ?? 1); i++) ports.execution.push(await pair());
    return new E2eStack(ports, await natsUrlForTests(), await redisUrlForTests(), options);
  }

  get execution(): ServiceProcess {
    return this.executions[0] as ServiceProcess;
  }

  /** The namespaced name of a stream (`EXEC` -> `E2E_..._EXEC`). */
  stream(name: 'MD' | 'EXEC' | 'ACCT' | 'STRAT'): string {
    return `${namespaceFor(this.name).prefix}${name}`;
  }

  /** `<root>.<tail>`: a subject filter under this namespace, e.g. `exec.>`. */
  filter(tail: string): string {
    return `${this.subjects.root}.${tail}`;
  }

  get paperAddress(): string {
    return `127.0.0.1:${this.ports.paperVenue.grpc}`;
  }

  #config(options: StackOptions): Record<string, unknown> {
    const local = (p: { grpc: number; http: number }) => ({
      grpcHost: '127.0.0.1',
      grpcPort: p.grpc,
      http: { host: '127.0.0.1', port: p.http },
    });
    const first = this.ports.execution[0] ?? { grpc: 0, http: 0 };
    // YAML is a superset of JSON: the file is written as JSON.
    return {
      mode: 'distributed',
      namespace: this.name,
      log: { level: 'info' },
      auth: { token: { env: TOKEN_ENV } },
      paper: {
        seed: options.seed ?? 11,
        stepInterval: '100ms',
        address: options.paperAddress ?? this.paperAddress,
      },
      venues: {
        paper: { kind: 'paper', instruments: [BTC], accounts: { [ACCOUNT]: { paperDeposit: '100000' } } },
        'paper-lighter': {
          kind: 'paper',
          instruments: [BTC],
          accounts: { [ACCOUNT]: { apiKeyId: LIGHTER_API_KEY, paperDeposit: '100000' } },
        },
      },
      paperVenue: local(this.ports.paperVenue),
      marketData: local(this.ports.marketData),
      account: {
        ...local(this.ports.account),
        pollInterval: options.accountPollInterval ?? '300ms',
        balanceStaleAfter: options.balanceStaleAfter ?? '3s',
        housekeepingInterval: '200ms',
        venueCallTimeout: '2s',
      },
      execution: { ...local(first), instance: 'e2e-0', venueCallTimeout: '5s' },
    };
  }

  /** Registers something to close in `close()` (clients, tails, venues), last first. */
  onClose(fn: () => Promise<void> | void): void {
    this.#closers.push(fn);
  }

  #interceptors(token = this.token) {
    return { interceptors: [bearerAuthInterceptor(new Secret(token))] };
  }

  executionClient(replica = 0, token?: string): ExecutionClient {
    const port = this.ports.execution[replica]?.grpc;
    const c = new ExecutionServiceClient(
      `127.0.0.1:${port}`,
      credentials.createInsecure(),
      this.#interceptors(token),
    );
    this.onClose(() => c.close());
    return c;
  }

  /**
   * One client over every execution replica, calls spread round-robin by grpc-js (as a
   * Kubernetes headless Service or a client-side balancer spreads them).
   */
  roundRobinExecutionClient(): ExecutionClient {
    const targets = this.ports.execution.map((p) => `127.0.0.1:${p.grpc}`).join(',');
    const c = new ExecutionServiceClient(`ipv4:${targets}`, credentials.createInsecure(), {
      ...this.#interceptors(),
      'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
    });
    this.onClose(() => c.close());
    return c;
  }

  accountClient(): AccountClient {
    const c = new AccountServiceClient(
      `127.0.0.1:${this.ports.account.grpc}`,
      credentials.createInsecure(),
      this.#interceptors(),
    );
    this.onClose(() => c.close());
    return c;
  }

  marketDataClient(): MarketDataClient {
    const c = new MarketDataServiceClient(
      `127.0.0.1:${this.ports.marketData.grpc}`,
      credentials.createInsecure(),
      this.#interceptors(),
    );
    this.onClose(() => c.close());
    return c;
  }

  /** The venue port of one of our accounts, straight to the paper-venue service (what the venue holds). */
  async venue(venue: 'paper' | 'paper-lighter'): Promise<PaperVenueClient> {
    const port = await PaperVenueClient.connect({
      address: this.paperAddress,
      venue,
      account: ACCOUNT,
      apiKeyId: venue === 'paper-lighter' ? LIGHTER_API_KEY : 'default',
      callTimeoutMs: 5_000,
      readinessPollMs: 0,
      authToken: new Secret(this.token),
    });
    this.onClose(() => port.close());
    return port;
  }

  /** Every envelope on `filter` (a subject under this namespace), from the stream's start. */
  async events(filter: string): Promise<EventRecorder> {
    const recorder = await EventRecorder.open(this.natsUrl, filter);
    this.onClose(() => recorder.close());
    return recorder;
  }

  /**
   * Kills every process still running, closes clients, deletes the namespace's streams and
   * Redis keys and the temp dir. Safe to call twice; never throws over a cleanup step.
   */
  async close(): Promise<void> {
    const closers = this.#closers.splice(0).reverse();
    for (const close of closers) await Promise.resolve(close()).catch(() => undefined);
    await Promise.all(
      [this.paperVenue, this.marketData, this.account, ...this.executions].map((p) => p.kill9()),
    );
    await cleanupNamespace(this.name, this.natsUrl, this.redisUrl).catch((err: unknown) => {
      process.stderr.write(`e2e cleanup of ${this.name} failed: ${String(err)}\n`);
    });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Deletes the streams named `<prefix>*` and the Redis keys `pm:<subjectRoot>:*` of a namespace. */
export async function cleanupNamespace(name: string, natsUrl: string, redisUrl: string): Promise<void> {
  const ns = namespaceFor(name);
  const nc = await natsConnect({ servers: natsUrl, name: 'e2e-cleanup' });
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const stream of jsm.streams.names()) if (stream.startsWith(ns.prefix)) names.push(stream);
    for (const stream of names) await jsm.streams.delete(stream);
  } finally {
    await nc.close();
  }
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `pm:${ns.subjectRoot}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

// ---- events on the log -------------------------------------------------------------------------

export interface RecordedEvent {
  seq: number;
  subject: string;
  envelope: Envelope;
}

/** Tails a namespaced subject filter from the start of its stream and keeps every decoded envelope. */
export class EventRecorder {
  readonly events: RecordedEvent[] = [];
  readonly errors: unknown[] = [];
  #handle: TailHandle | undefined;

  private constructor(
    private readonly log: NatsEventLog,
    readonly filter: string,
  ) {}

  static async open(natsUrl: string, filter: string): Promise<EventRecorder> {
    const log = await NatsEventLog.connect({ servers: natsUrl, name: 'e2e-recorder' });
    const recorder = new EventRecorder(log, filter);
    try {
      recorder.#handle = await log.tail(filter, { from: { startSeq: 1 } }, async (msg) => {
        try {
          recorder.events.push({ seq: msg.seq, subject: msg.subject, envelope: decodeEnvelope(msg.data) });
        } catch (err) {
          recorder.errors.push(err);
        }
      });
      return recorder;
    } catch (err) {
      await log.close();
      throw err;
    }
  }

  /** The recorded envelopes matching `match`. */
  where(match: (e: Envelope) => boolean): Envelope[] {
    return this.events.map((r) => r.envelope).filter(match);
  }

  /** Waits until `count(events)` reaches `atLeast`; returns the matching envelopes. */
  async waitFor(
    what: string,
    match: (e: Envelope) => boolean,
    atLeast = 1,
    timeoutMs = 15_000,
  ): Promise<Envelope[]> {
    return waitUntil(
      `${atLeast} event(s): ${what} on ${this.filter}`,
      () => {
        const found = this.where(match);
        return found.length >= atLeast ? found : undefined;
      },
      {
        timeoutMs,
        explain: () =>
          `${this.events.length} events: ${this.events
            .slice(-10)
            .map((r) => `${r.envelope.payload?.$case}@${r.subject}`)
            .join(
              ', ',
            )}${this.errors.length ? `; decode errors: ${this.errors.map(String).join('; ')}` : ''}`,
      },
    );
  }

  /**
   * Waits until every event `stream` held when this was called has been recorded, so counts
   * taken afterwards are exact for everything published so far.
   */
  async caughtUp(stream: string, timeoutMs = 10_000): Promise<void> {
    const { lastSeq } = await this.log.streamInfo(stream);
    await waitUntil(
      `the recorder of ${this.filter} to reach ${stream} seq ${lastSeq}`,
      () => (this.events.some((r) => r.seq >= lastSeq) || lastSeq === 0 ? true : undefined),
      { timeoutMs, explain: () => `last recorded seq ${String(this.events.at(-1)?.seq ?? 0)}` },
    );
  }

  async close(): Promise<void> {
    await this.#handle?.stop().catch(() => undefined);
    await this.log.close();
  }
}

// ---- gRPC calls --------------------------------------------------------------------------------

/** A unary call as a promise: `call(client.placeOrder.bind(client), request)`. */
export function call<Req, Res>(
  fn: (req: Req, cb: (err: ServiceError | null, res?: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res as Res))));
}

export interface CallStatus {
  code: number;
  details: string;
  /** The `perpmesh-field` trailer (the bad field of an INVALID_ARGUMENT). */
  field: string | undefined;
}

export function statusOf(err: unknown): CallStatus {
  const e = err as ServiceError & { metadata?: Metadata };
  const field = e.metadata?.get('perpmesh-field')[0];
  return { code: e.code, details: e.details, field: typeof field === 'string' ? field : undefined };
}

// ---- orders ------------------------------------------------------------------------------------

let cidCounter = 0;
/** A client order id unique to this run: `<prefix>-<time36>-<n>`. */
export function newClientOrderId(prefix: string): string {
  cidCounter += 1;
  return `${prefix}-${Date.now().toString(36)}-${cidCounter}`;
}

/** A PlaceOrder request; default a resting limit buy far below the market on `paper`. */
export function orderRequest(patch: Partial<PlaceOrderRequest> = {}): PlaceOrderRequest {
  return {
    clientOrderId: newClientOrderId('e2e'),
    venue: 'paper',
    account: ACCOUNT,
    instrument: BTC,
    side: Side.SIDE_BUY,
    type: OrderType.ORDER_TYPE_LIMIT,
    timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
    price: '40000',
    size: '0.01',
    reduceOnly: false,
    correlationId: '',
    ...patch,
  };
}

/** A market IOC order (fills at once on the paper venue). */
export function marketOrder(patch: Partial<PlaceOrderRequest> = {}): PlaceOrderRequest {
  return orderRequest({
    type: OrderType.ORDER_TYPE_MARKET,
    timeInForce: TimeInForce.TIME_IN_FORCE_IOC,
    price: '',
    ...patch,
  });
}

export function placeOrder(client: ExecutionClient, req: PlaceOrderRequest): Promise<PlaceOrderResponse> {
  return call<PlaceOrderRequest, PlaceOrderResponse>(client.placeOrder.bind(client), req);
}

/** The order lifecycle events of one client order id, as recorded (in log order). */
export function orderEventsOf(recorder: EventRecorder, clientOrderId: string): OrderEvent[] {
  return recorder.events.flatMap((r) =>
    r.envelope.payload?.$case === 'orderEvent' &&
    r.envelope.payload.value.order?.clientOrderId === clientOrderId
      ? [r.envelope.payload.value]
      : [],
  );
}

/** The fill events of one client order id, as recorded. */
export function fillsOf(recorder: EventRecorder, clientOrderId: string): Fill[] {
  return recorder.events.flatMap((r) =>
    r.envelope.payload?.$case === 'fill' && r.envelope.payload.value.clientOrderId === clientOrderId
      ? [r.envelope.payload.value]
      : [],
  );
}

/** `OrderEventKind` numbers as names (`ACCEPTED`), for readable assertions. */
export function kindNames(events: readonly OrderEvent[]): string[] {
  return events.map((e) => OrderEventKind[e.kind].replace('ORDER_EVENT_KIND_', ''));
}
