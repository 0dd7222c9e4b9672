/**
 * Extended's REST API: `{baseUrl}/api/v1/<path>`, every request with the User-Agent the
 * venue requires, private ones with the account's `X-Api-Key` (never logged, never in an
 * error). Each call first takes a token of the account's request budget and has a
 * deadline; failures become named VenueErrors (errors.ts). No retries: the caller decides.
 */
import { errorText } from '@perpmesh/core';
import type { RequestBudget } from '../ccxt/budget.js';
import type { VenueClock } from '../shared/venue-clock.js';
import { type ExtendedCallKind, extendedAnswerError, extendedTransportError } from './errors.js';
import { okData } from './parse.js';

/** The User-Agent we send: the venue refuses requests without one. */
export const EXTENDED_USER_AGENT = 'perpmesh/0.1 (+extended adapter)';

export interface ExtendedHttpOptions {
  readonly venue: string;
  /** The REST root (`https://api.starknet.extended.exchange`, or an emulator's `http://127.0.0.1:<port>`). */
  readonly baseUrl: string;
  /** The account's API key; absent on a public port. */
  readonly apiKey?: string;
  readonly timeoutMs: number;
  readonly budget: RequestBudget;
  /** Fed every answer's `Date` header: the venue's clock offset from ours. */
  readonly clock?: VenueClock;
}

export type QueryValue = string | number | boolean | readonly string[] | undefined;

export interface ExtendedRequest {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, QueryValue>>;
  readonly body?: unknown;
  /** Sends the API key. */
  readonly private?: boolean;
  /** `create`: a lost answer is an unknown outcome. Default `other`. */
  readonly kind?: ExtendedCallKind;
}

export interface ExtendedAnswer {
  readonly status: number;
  readonly body: unknown;
}

export class ExtendedHttp {
  constructor(private readonly options: ExtendedHttpOptions) {}

  /** The venue's answer whatever its status (transport failures throw). */
  async send(request: ExtendedRequest): Promise<ExtendedAnswer> {
    const { venue, baseUrl, apiKey, timeoutMs, budget } = this.options;
    const what = `${request.method} ${request.path}`;
    const kind = request.kind ?? 'other';
    const url = new URL(`${baseUrl.replace(/\/+$/, '')}/api/v1/${request.path}`);
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(v));
    }
    const headers: Record<string, string> = { 'User-Agent': EXTENDED_USER_AGENT, Accept: 'application/json' };
    if (request.private) {
      if (apiKey === undefined) throw new Error(`${venue}: ${what} needs the account's API key`);
      headers['X-Api-Key'] = apiKey;
    }
    if (request.body !== undefined) headers['Content-Type'] = 'application/json';
    await budget.take();
    let response: Response;
    let text: string;
    try {
      const sentAtMs = Date.now();
      response = await fetch(url, {
        method: request.method,
        headers,
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      this.options.clock?.observeDateHeader(response.headers.get('date'), sentAtMs, Date.now());
      text = await response.text();
    } catch (err) {
      const cause =
        (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : errorText(err);
      throw extendedTransportError(venue, what, cause, kind);
    }
    let body: unknown = text;
    try {
      body = text === '' ? '' : JSON.parse(text);
    } catch {
      // Not JSON (an empty or plain-text answer): kept as text.
    }
    return { status: response.status, body };
  }

  /** The `data` of an OK answer; any other answer is its VenueError. */
  dataOf(request: ExtendedRequest, answer: ExtendedAnswer): unknown {
    this.doneOf(request, answer);
    return okData(answer.body, `${request.method} ${request.path}`);
  }

  /** Checks an answer that carries no data (`{status: "OK"}` or an empty body): any error is its VenueError. */
  doneOf(request: ExtendedRequest, answer: ExtendedAnswer): void {
    if (answer.status < 200 || answer.status >= 300 || isError(answer.body)) {
      const what = `${request.method} ${request.path}`;
      throw extendedAnswerError(
        this.options.venue,
        what,
        answer.status,
        answer.body,
        request.kind ?? 'other',
      );
    }
  }
}

function isError(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { status?: unknown }).status === 'ERROR';
}
