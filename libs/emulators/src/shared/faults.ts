/**
 * Fault injection of an emulator, by config or by a test at run time. A rule matches
 * requests by method and path and fires on the next `count` of them; a book sequence gap
 * is a one-shot trigger the emulator consumes (a websocket drop is
 * `EmulatorServer.dropWebSockets`).
 */
export type HttpFaultKind =
  /** Answer 429 with the venue's rate-limit payload; the request is not processed. */
  | 'rate-limit'
  /** Answer 5xx; the request is not processed. */
  | 'server-error'
  /** Process the request (an order is really placed), then never answer: the client times out. */
  | 'timeout-after-accept';

export interface HttpFaultRule {
  readonly kind: HttpFaultKind;
  /** `GET`, `POST`, ...; any when absent. */
  readonly method?: string;
  /** Matches when the request path ends with this (`/fapi/v1/order`); any when absent. */
  readonly path?: string;
  /** How many matching requests it hits; default 1. */
  readonly count?: number;
}

export interface FaultConfig {
  /** Added before every HTTP answer. */
  readonly latencyMs?: number;
  readonly http?: readonly HttpFaultRule[];
}

interface ArmedRule extends HttpFaultRule {
  remaining: number;
}

export class Faults {
  latencyMs: number;
  private readonly rules: ArmedRule[] = [];
  private readonly skipDeltas = new Map<string, number>();

  constructor(config: FaultConfig = {}) {
    this.latencyMs = config.latencyMs ?? 0;
    for (const rule of config.http ?? []) this.inject(rule);
  }

  inject(rule: HttpFaultRule): void {
    this.rules.push({ ...rule, remaining: rule.count ?? 1 });
  }

  /** The fault for this request, if a rule matches (and is used up by it). */
  take(method: string, path: string): HttpFaultKind | undefined {
    const rule = this.rules.find(
      (r) =>
        r.remaining > 0 &&
        (r.method === undefined || r.method === method) &&
        (r.path === undefined || path.endsWith(r.path)),
    );
    if (rule === undefined) return undefined;
    rule.remaining -= 1;
    return rule.kind;
  }

  /** The next `count` book deltas of the venue symbol are not sent (a sequence gap). */
  skipBookDeltas(symbol: string, count = 1): void {
    this.skipDeltas.set(symbol, (this.skipDeltas.get(symbol) ?? 0) + count);
  }

  takeBookDeltaSkip(symbol: string): boolean {
    const left = this.skipDeltas.get(symbol) ?? 0;
    if (left <= 0) return false;
    this.skipDeltas.set(symbol, left - 1);
    return true;
  }
}
