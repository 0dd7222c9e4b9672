/**
 * `perpmesh start` (the embedded system) as a real child process, for the e2e and browser
 * tests of libs/cli and libs/gateway: every gRPC and HTTP port 0 on 127.0.0.1, no config
 * file, and the addresses read from its ready line. It runs the CLI's source by path (no
 * package dependency on libs/cli, so this lib stays below the service libs).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { eventually } from './eventually.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const READY =
  /perpmesh is ready in [\d.]+ s: health http:\/\/localhost:(\d+)\/readyz, gRPC execution (\S+), account (\S+), market-data (\S+);/;
/** How long a SIGTERM'd process gets before it is killed (a clean stop takes far less). */
const STOP_GRACE_MS = 20_000;

export interface PerpmeshProcessOptions {
  /** The process's `dataDir` (the caller creates and removes it). */
  readonly dataDir: string;
  /** Environment on top of this process's (PERPMESH_CONFIG is cleared: no config file). */
  readonly env?: Readonly<Record<string, string>>;
  /** More `--set key=value` overrides, applied after the test defaults (a later one wins). */
  readonly settings?: readonly string[];
  /**
   * Node arguments that start the embedded system (the `--set` overrides follow). Default:
   * `perpmesh start` from its TypeScript source through tsx.
   */
  readonly command?: readonly string[];
}

export interface PerpmeshProcess {
  readonly child: ChildProcess;
  /** Port of the HTTP listener (health, metrics, gateway) on 127.0.0.1. */
  readonly httpPort: number;
  /** host:port of each gRPC API. */
  readonly execution: string;
  readonly account: string;
  readonly marketData: string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after a grace period; resolves with the exit code (at once if it had exited). */
  stop(): Promise<number | null>;
}

/** Starts `perpmesh start` and waits for its ready line; fails (the process killed) if it exits or never gets ready. */
export async function startPerpmeshProcess(options: PerpmeshProcessOptions): Promise<PerpmeshProcess> {
  const settings = [
    `dataDir=${options.dataDir}`,
    'log.level=warn',
    'gateway.http.port=0',
    'gateway.http.host=127.0.0.1',
    ...['execution', 'account', 'marketData', 'strategy'].flatMap((s) => [
      `${s}.grpcPort=0`,
      `${s}.grpcHost=127.0.0.1`,
    ]),
    ...(options.settings ?? []),
  ];
  const command = options.command ?? [
    '--import',
    'tsx',
    '--conditions=@perpmesh/source',
    join(ROOT, 'libs/cli/src/bin.ts'),
    'start',
  ];
  const child = spawn(process.execPath, [...command, ...settings.flatMap((kv) => ['--set', kv])], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PERPMESH_CONFIG: '', ...options.env },
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const stop = () =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve(child.exitCode);
        return;
      }
      const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      child.once('exit', (code) => {
        clearTimeout(killer);
        resolve(code);
      });
      child.kill('SIGTERM');
    });
  // The ready line, or the process's end (no use waiting out the deadline then).
  const ready = await eventually(
    'the ready line',
    () => READY.exec(err) ?? (child.exitCode !== null ? ('exited' as const) : undefined),
    { timeoutMs: 60_000, intervalMs: 100 },
  ).catch(() => 'timed out' as const);
  if (typeof ready === 'string') {
    child.kill('SIGKILL');
    assert.fail(`perpmesh start did not become ready (${ready}); stderr:\n${err}`);
  }
  return {
    child,
    httpPort: Number(ready[1]),
    execution: ready[2]!,
    account: ready[3]!,
    marketData: ready[4]!,
    stderr: () => err,
    stop,
  };
}
