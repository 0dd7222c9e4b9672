/**
 * Starts a service's components in order and stops them in reverse order, on
 * SIGINT/SIGTERM or `stop()`. Signals, exit and time limits are injected so tests drive
 * the whole sequence without touching the test process.
 *
 * State (one way, no restarts):
 *   'idle'     constructed, `start()` not called yet;
 *   'starting' components starting in order;
 *   'running'  every component started;
 *   'stopping' components stopping in reverse order (after a stop request or a failed start);
 *   'stopped'  every started component was asked to stop (check the StopReport for failures);
 *   'failed'   a component failed to start; those already started were stopped.
 */
import { PerpmeshError } from '@perpmesh/core';
import type { HealthRegistry } from './health.js';
import type { Logger } from './logger.js';

export type ServiceState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface ServiceComponent {
  readonly name: string;
  /** Resolves once the component works. `signal` aborts when a stop is requested meanwhile. */
  start(signal: AbortSignal): Promise<void> | void;
  /** Releases everything `start` took. Called only if `start` resolved. */
  stop(): Promise<void> | void;
  /** Overrides the service-wide stop timeout for this component. */
  readonly stopTimeoutMs?: number;
}

export type ShutdownSignal = 'SIGINT' | 'SIGTERM';

/** What `process` offers for signals; tests pass an EventEmitter. */
export interface SignalSource {
  on(signal: ShutdownSignal, listener: () => void): unknown;
  off(signal: ShutdownSignal, listener: () => void): unknown;
}

export interface StopReport {
  /** True when every started component stopped within its timeout without throwing. */
  readonly ok: boolean;
  readonly failures: ReadonlyArray<{ readonly component: string; readonly reason: string }>;
}

export interface ServiceLifecycleOptions {
  name: string;
  logger: Logger;
  components: readonly ServiceComponent[];
  /** When given, a `lifecycle` component is not ready until every component started. */
  health?: HealthRegistry;
  /** Per-component stop limit (default 10 s); a component past it is abandoned, not awaited. */
  stopTimeoutMs?: number;
  /** Default `process`. */
  signals?: SignalSource;
  /** Default `process.exit`. Called by `run()` only. */
  exit?: (code: number) => void;
}

export const DEFAULT_STOP_TIMEOUT_MS = 10_000;
export const LIFECYCLE_HEALTH_COMPONENT = 'lifecycle';

/** Exit codes by convention: 128 + signal number when a second signal forces the exit. */
const FORCED_EXIT_CODE: Record<ShutdownSignal, number> = { SIGINT: 130, SIGTERM: 143 };

export class ServiceStartError extends PerpmeshError {
  readonly component: string;
  constructor(service: string, component: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super('SERVICE_START_FAILED', `${service}: component ${component} failed to start: ${why}`, { cause });
    this.component = component;
  }
}

export class ServiceLifecycle {
  readonly name: string;
  readonly #options: ServiceLifecycleOptions;
  readonly #logger: Logger;
  readonly #abort = new AbortController();
  readonly #started: ServiceComponent[] = [];
  #state: ServiceState = 'idle';
  #startFailed = false;
  #startSettled: Promise<void> = Promise.resolve();
  #shutdown: Promise<StopReport> | undefined;
  #stopRequest: Promise<StopReport> | undefined;

  constructor(options: ServiceLifecycleOptions) {
    this.name = options.name;
    this.#options = options;
    this.#logger = options.logger.child({ component: 'lifecycle' });
    const names = new Set<string>();
    for (const component of options.components) {
      if (names.has(component.name)) throw new TypeError(`duplicate component name: ${component.name}`);
      names.add(component.name);
    }
  }

  get state(): ServiceState {
    return this.#state;
  }

  /**
   * Starts every component in order. If one fails, the ones already started are stopped
   * in reverse order and this throws `ServiceStartError` (state 'failed'). If `stop()` is
   * called meanwhile, no further component starts and this resolves once stopped.
   */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`${this.name}: start() called in state ${this.#state}`);
    this.#state = 'starting';
    let settle!: () => void;
    this.#startSettled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const { components, health } = this.#options;
    health?.register(LIFECYCLE_HEALTH_COMPONENT, `${this.name}: starting`);
    let failure: { component: string; cause: unknown } | undefined;
    for (const [index, component] of components.entries()) {
      if (this.#abort.signal.aborted) break;
      const step = `${index + 1}/${components.length}`;
      health?.notReady(LIFECYCLE_HEALTH_COMPONENT, `${this.name}: starting ${component.name} (${step})`);
      this.#logger.info({ component: component.name, step }, 'starting component');
      const t0 = performance.now();
      try {
        await component.start(this.#abort.signal);
      } catch (cause) {
        this.#logger.error({ component: component.name, err: cause }, 'component failed to start');
        failure = { component: component.name, cause };
        break;
      }
      this.#started.push(component);
      this.#logger.info(
        { component: component.name, durationMs: Math.round(performance.now() - t0) },
        'component started',
      );
    }
    settle();
    if (failure) {
      this.#startFailed = true;
      await this.#stopStarted(`start of ${failure.component} failed`);
      throw new ServiceStartError(this.name, failure.component, failure.cause);
    }
    if (this.#abort.signal.aborted) {
      await this.#stopRequest;
      return;
    }
    this.#state = 'running';
    health?.ready(LIFECYCLE_HEALTH_COMPONENT, { components: components.length });
    this.#logger.info({ components: components.length }, 'service running');
  }

  /** Stops started components in reverse order. Idempotent: later calls get the same report. */
  stop(reason = 'stop requested'): Promise<StopReport> {
    if (!this.#stopRequest) {
      this.#logger.info({ reason }, 'stop requested');
      if (this.#state === 'running') this.#state = 'stopping';
      // A start in progress finishes its current component first, then nothing more starts.
      this.#stopRequest = this.#startSettled.then(() => this.#stopStarted(reason));
      this.#abort.abort();
    }
    return this.#stopRequest;
  }

  /**
   * The whole life of a service process: handles SIGINT/SIGTERM, starts, waits for a
   * stop, then calls `exit` with 0 (clean stop), 1 (a start failed, or a stop failed or
   * timed out), or 130/143 when a second signal forces the exit.
   */
  async run(): Promise<number> {
    const signals = this.#options.signals ?? process;
    const exit = this.#options.exit ?? ((code: number) => process.exit(code));
    const handlers = new Map<ShutdownSignal, () => void>();
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const handler = () => {
        if (!this.#stopRequest) {
          this.#logger.info({ signal }, 'signal received, stopping');
          void this.stop(`signal ${signal}`);
          return;
        }
        this.#logger.warn({ signal, state: this.#state }, 'second signal, forcing exit');
        exit(FORCED_EXIT_CODE[signal]);
      };
      handlers.set(signal, handler);
      signals.on(signal, handler);
    }
    let code: number;
    try {
      await this.start();
      const report = await this.#whenStopRequested();
      code = report.ok ? 0 : 1;
    } catch (err) {
      if (!(err instanceof ServiceStartError)) this.#logger.error({ err }, 'service failed');
      code = 1;
    } finally {
      for (const [signal, handler] of handlers) signals.off(signal, handler);
    }
    this.#logger.info({ exitCode: code, state: this.#state }, 'service exiting');
    exit(code);
    return code;
  }

  /** Resolves with the stop report once someone (a signal, a caller) requests a stop. */
  #whenStopRequested(): Promise<StopReport> {
    if (this.#stopRequest) return this.#stopRequest;
    return new Promise<StopReport>((resolve) => {
      this.#abort.signal.addEventListener('abort', () => void this.#stopRequest?.then(resolve), {
        once: true,
      });
    });
  }

  #stopStarted(reason: string): Promise<StopReport> {
    this.#shutdown ??= this.#runShutdown(reason);
    return this.#shutdown;
  }

  async #runShutdown(reason: string): Promise<StopReport> {
    const { health } = this.#options;
    if (this.#state === 'idle') {
      this.#state = 'stopped';
      return { ok: true, failures: [] };
    }
    this.#state = 'stopping';
    health?.notReady(LIFECYCLE_HEALTH_COMPONENT, `${this.name}: stopping (${reason})`);
    const failures: Array<{ component: string; reason: string }> = [];
    for (const component of [...this.#started].reverse()) {
      const timeoutMs = component.stopTimeoutMs ?? this.#options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
      this.#logger.info({ component: component.name, timeoutMs }, 'stopping component');
      const t0 = performance.now();
      const outcome = await stopWithTimeout(component, timeoutMs);
      const durationMs = Math.round(performance.now() - t0);
      if (outcome.ok) {
        this.#logger.info({ component: component.name, durationMs }, 'component stopped');
      } else {
        this.#logger.error(
          { component: component.name, durationMs, reason: outcome.reason },
          'component stop failed',
        );
        failures.push({ component: component.name, reason: outcome.reason });
      }
    }
    this.#started.length = 0;
    this.#state = this.#startFailed ? 'failed' : 'stopped';
    health?.notReady(LIFECYCLE_HEALTH_COMPONENT, `${this.name}: ${this.#state} (${reason})`);
    this.#logger.info({ state: this.#state, failures: failures.length }, 'service stopped');
    return { ok: failures.length === 0, failures };
  }
}

/** `new ServiceLifecycle(options).run()`: the body of a service's main.ts. */
export function runService(options: ServiceLifecycleOptions): Promise<number> {
  return new ServiceLifecycle(options).run();
}

async function stopWithTimeout(
  component: ServiceComponent,
  timeoutMs: number,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ ok: false; reason: string }>((resolve) => {
    // Not unref'd: while a stop is pending the process must stay up to finish the shutdown.
    timer = setTimeout(
      () => resolve({ ok: false, reason: `did not stop within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  const stopped = (async () => {
    try {
      await component.stop();
      return { ok: true } as const;
    } catch (err) {
      return { ok: false, reason: err instanceof Error ? err.message : String(err) } as const;
    }
  })();
  try {
    return await Promise.race([stopped, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
