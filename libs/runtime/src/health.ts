/**
 * Readiness and liveness of one service, reported by its components.
 *
 * Readiness (`/readyz`, gRPC health): every registered component that decides readiness is
 * ready. A component that is not ready says why, in a sentence an operator can act on
 * ("order book BTC-USDC-PERP@paper: no snapshot yet"), never just "not ready". An
 * informational component (`report(name, { informational: true, ... })`, e.g. a venue's
 * request budget running low) is listed with its state and reason but never flips readiness.
 * Liveness (`/healthz`): the process answers and no liveness check reports it stuck.
 */
import { ValidationError } from '@perpmesh/core';

export interface ComponentStatus {
  readonly name: string;
  readonly ready: boolean;
  /**
   * Why the component is not ready; undefined while ready, unless the component reported a
   * note with its ready state (`report`: "auth token expires in 3m, renewing").
   */
  readonly reason: string | undefined;
  /** Epoch ms when the component entered its current state (ready or not). */
  readonly since: number;
  /** Optional structured detail (counts, sequence numbers, last error code). No secrets. */
  readonly detail: Readonly<Record<string, unknown>> | undefined;
  /** Present (true) only on an informational component: shown, never deciding readiness. */
  readonly informational?: true;
}

/** One component's state as `HealthRegistry.report` takes it. */
export interface ComponentReport {
  readonly ready: boolean;
  /** Required when not ready; on a ready component a note (what it has, what comes next). */
  readonly reason?: string;
  /** Shown with its reason but never flips readiness. Default false. */
  readonly informational?: boolean;
  readonly detail?: Record<string, unknown>;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly components: readonly ComponentStatus[];
}

export interface LivenessReport {
  readonly alive: boolean;
  readonly failures: ReadonlyArray<{ readonly name: string; readonly reason: string }>;
}

/** Returns undefined when alive, or a sentence saying what is stuck. */
export type LivenessCheck = () => string | undefined;

export type ReadinessListener = (report: ReadinessReport) => void;

export interface HealthRegistryOptions {
  /** Clock for `since`; default `Date.now`. */
  nowMs?: () => number;
}

export class HealthRegistry {
  readonly #components = new Map<string, ComponentStatus>();
  readonly #liveness = new Map<string, LivenessCheck>();
  readonly #listeners = new Set<ReadinessListener>();
  readonly #nowMs: () => number;
  #lastReady: boolean | undefined;

  constructor(options: HealthRegistryOptions = {}) {
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** Declares a component, not ready until it says so. Re-registering keeps its state. */
  register(name: string, initialReason = `${name}: starting`): void {
    requireText('name', name);
    if (!this.#components.has(name)) this.#set(name, false, initialReason, undefined);
  }

  ready(name: string, detail?: Record<string, unknown>): void {
    requireText('name', name);
    this.#set(name, true, undefined, detail);
  }

  /** `reason` is required: a sentence saying what is missing and for what. */
  notReady(name: string, reason: string, detail?: Record<string, unknown>): void {
    requireText('name', name);
    requireText('reason', reason);
    this.#set(name, false, reason, detail);
  }

  /**
   * Sets a component's whole state at once: ready or not, an optional note on a ready one,
   * and whether it only informs (shown, never deciding readiness).
   */
  report(name: string, status: ComponentReport): void {
    requireText('name', name);
    if (!status.ready) requireText('reason', status.reason);
    const reason = status.reason === undefined || status.reason.trim() === '' ? undefined : status.reason;
    this.#set(name, status.ready, reason, status.detail, status.informational === true);
  }

  /** Removes a component (e.g. an instrument no longer traded). */
  unregister(name: string): void {
    if (this.#components.delete(name)) this.#notify();
  }

  /** True when every registered component that decides readiness is ready. */
  isReady(): boolean {
    for (const status of this.#components.values()) if (!status.ready && !status.informational) return false;
    return true;
  }

  readiness(): ReadinessReport {
    const components = [...this.#components.values()].sort((a, b) => a.name.localeCompare(b.name));
    return { ready: components.every((c) => c.ready || c.informational === true), components };
  }

  component(name: string): ComponentStatus | undefined {
    return this.#components.get(name);
  }

  /** Adds a liveness check; keep it cheap and non-blocking (it runs on every probe). */
  addLivenessCheck(name: string, check: LivenessCheck): () => void {
    requireText('name', name);
    this.#liveness.set(name, check);
    return () => {
      if (this.#liveness.get(name) === check) this.#liveness.delete(name);
    };
  }

  liveness(): LivenessReport {
    const failures: Array<{ name: string; reason: string }> = [];
    for (const [name, check] of this.#liveness) {
      let reason: string | undefined;
      try {
        reason = check();
      } catch (err) {
        reason = `liveness check threw: ${err instanceof Error ? err.message : String(err)}`;
      }
      if (reason !== undefined) failures.push({ name, reason });
    }
    return { alive: failures.length === 0, failures };
  }

  /** Called with the report whenever overall readiness flips (ready <-> not ready). */
  onReadinessChange(listener: ReadinessListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #set(
    name: string,
    ready: boolean,
    reason: string | undefined,
    detail: Record<string, unknown> | undefined,
    informational = false,
  ): void {
    const previous = this.#components.get(name);
    // `since` marks the last transition, so a component re-reporting "ready" keeps its age.
    const since = previous && previous.ready === ready ? previous.since : this.#nowMs();
    this.#components.set(name, {
      name,
      ready,
      reason,
      since,
      detail: detail ? { ...detail } : undefined,
      ...(informational ? { informational: true as const } : {}),
    });
    this.#notify();
  }

  #notify(): void {
    const ready = this.isReady();
    if (ready === this.#lastReady) return;
    this.#lastReady = ready;
    const report = this.readiness();
    for (const listener of this.#listeners) listener(report);
  }
}

function requireText(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError(field, `expected a non-empty sentence, got ${JSON.stringify(value)}`);
  }
}
