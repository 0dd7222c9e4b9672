/**
 * Lighter's REST API over fetch: `GET /api/v1/<path>?<query>`, `POST /api/v1/sendTx`
 * (urlencoded `tx_type`, `tx_info`) and `POST /api/v1/sendTxBatch` (`tx_types`, `tx_infos`). Every call takes a token of the account's request budget
 * first and has a deadline. Errors become VenueErrors: a `{ code, message }` refusal by its
 * code (wire.ts), a 429 rate-limited, a timeout or a lost connection on sendTx an unknown
 * outcome (the transaction may have been accepted: ask, never resend), elsewhere a
 * disconnection. Auth tokens travel in the `Authorization` header and never reach an error.
 */
import { errorText } from '@perpmesh/core';
import type { RequestBudget } from '../ccxt/budget.js';
import { RateLimitedError, VenueDisconnectedError, VenueUnknownOutcomeError } from '../errors.js';
import type { VenueClock } from '../shared/venue-clock.js';
import { lighterReplyError } from './wire.js';

export type LighterReply = Record<string, unknown>;

/** What `sendTxBatch` answered. */
export interface LighterBatchReply {
  readonly reply: LighterReply;
  /**
   * How many transactions, from the first, the venue took; `undefined` when a refusal does not
   * say (then each one's fate is unknown).
   */
  readonly taken: number | undefined;
  /** The refusal of transaction `taken` (the ones after it were not looked at); absent when all were taken. */
  readonly refusal?: Error;
}

export interface LighterHttpOptions {
  readonly venue: string;
  /** `https://mainnet.zklighter.elliot.ai` or an emulator's `http://127.0.0.1:<port>`. */
  readonly baseUrl: string;
  readonly callTimeoutMs: number;
  readonly budget: RequestBudget;
  /** Told of every answer (the link is up) and every failure to reach the venue. */
  readonly onLink?: (up: boolean, why: string) => void;
  /** Fed every answer's `Date` header: the venue's clock offset from ours. */
  readonly clock?: VenueClock;
}

/** One request's answer before it is judged. */
interface LighterExchange {
  readonly response: Response;
  readonly text: string;
  readonly reply: LighterReply | undefined;
  readonly code: number | undefined;
}

export class LighterHttp {
  constructor(private readonly options: LighterHttpOptions) {}

  get(
    path: string,
    query: Record<string, string | number | undefined>,
    authToken?: string,
  ): Promise<LighterReply> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return this.call(
      'GET',
      `${path}${qs ? `?${qs}` : ''}`,
      authToken === undefined ? {} : { authorization: authToken },
    );
  }

  sendTx(txType: number, txInfo: string): Promise<LighterReply> {
    const body = new URLSearchParams({ tx_type: String(txType), tx_info: txInfo, price_protection: 'true' });
    return this.call(
      'POST',
      'sendTx',
      { 'content-type': 'application/x-www-form-urlencoded' },
      body.toString(),
    );
  }

  /**
   * `POST sendTxBatch` (urlencoded `tx_types` and `tx_infos`, each a JSON array; one request of
   * the budget for the whole batch). The venue takes the transactions in order: a refusal names
   * one code for the batch, and `tx_hash` lists the transactions taken before it (the refused
   * one is the next, the ones after it were not looked at). A refusal without `tx_hash` leaves
   * which ones were taken unknown (`taken: undefined`); a lost answer throws an unknown outcome.
   */
  async sendTxBatch(txTypes: readonly number[], txInfos: readonly string[]): Promise<LighterBatchReply> {
    const body = new URLSearchParams({
      tx_types: JSON.stringify(txTypes),
      tx_infos: JSON.stringify(txInfos),
    });
    const answer = await this.exchange(
      'POST',
      'sendTxBatch',
      { 'content-type': 'application/x-www-form-urlencoded' },
      body.toString(),
    );
    const { reply, code } = answer;
    const hashes = Array.isArray(reply?.tx_hash) ? (reply.tx_hash as unknown[]).map(String) : undefined;
    if (this.isRefusal(code)) {
      const refusal = lighterReplyError(this.options.venue, code as number, String(reply?.message ?? ''));
      return { reply: reply as LighterReply, taken: hashes?.length, refusal };
    }
    // Answered without a refusal: every transaction was taken.
    return { reply: this.check('POST', 'sendTxBatch', answer), taken: txInfos.length };
  }

  private isRefusal(code: number | undefined): boolean {
    return code !== undefined && Number.isFinite(code) && code !== 200 && code !== 0;
  }

  private async call(
    method: 'GET' | 'POST',
    pathAndQuery: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<LighterReply> {
    const answer = await this.exchange(method, pathAndQuery, headers, body);
    return this.check(method, pathAndQuery.split('?')[0] as string, answer);
  }

  /** One request: budget, deadline, the link told; a transaction's lost answer is an unknown outcome. */
  private async exchange(
    method: 'GET' | 'POST',
    pathAndQuery: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<LighterExchange> {
    const { venue } = this.options;
    await this.options.budget.take();
    const route = pathAndQuery.split('?')[0];
    let response: Response;
    let text: string;
    try {
      const sentAtMs = Date.now();
      response = await fetch(`${this.options.baseUrl}/api/v1/${pathAndQuery}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(this.options.callTimeoutMs),
      });
      this.options.clock?.observeDateHeader(response.headers.get('date'), sentAtMs, Date.now());
      text = await response.text();
    } catch (err) {
      const why = `${method} ${route}: ${errorText(err)}`;
      this.options.onLink?.(false, why);
      throw method === 'POST'
        ? new VenueUnknownOutcomeError(
            venue,
            `transaction outcome unknown (${why}); resolve by client order id`,
          )
        : new VenueDisconnectedError(venue, why);
    }
    this.options.onLink?.(true, `${method} ${route} answered`);
    let reply: LighterReply | undefined;
    try {
      reply = JSON.parse(text) as LighterReply;
    } catch {
      reply = undefined;
    }
    if (response.status === 429) {
      throw new RateLimitedError(venue, `rate-limited: ${method} ${route} answered 429`);
    }
    const code = reply === undefined ? undefined : Number(reply.code);
    return { response, text, reply, code };
  }

  /** A reply's refusal code, a 5xx or an unreadable body, an HTTP error: as VenueErrors. */
  private check(
    method: 'GET' | 'POST',
    route: string,
    { response, text, reply, code }: LighterExchange,
  ): LighterReply {
    const { venue } = this.options;
    if (reply !== undefined && this.isRefusal(code)) {
      throw lighterReplyError(venue, code as number, String(reply.message ?? ''));
    }
    if (response.status >= 500 || reply === undefined) {
      const why = `${method} ${route} answered ${response.status}`;
      throw method === 'POST'
        ? new VenueUnknownOutcomeError(
            venue,
            `transaction outcome unknown (${why}); resolve by client order id`,
          )
        : new VenueDisconnectedError(venue, why);
    }
    if (response.status >= 400)
      throw lighterReplyError(venue, response.status, `${method} ${route}: ${text.slice(0, 200)}`);
    return reply;
  }
}
