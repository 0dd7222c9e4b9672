/**
 * Lighter's REST API over fetch: `GET /api/v1/<path>?<query>` and `POST /api/v1/sendTx`
 * (urlencoded `tx_type`, `tx_info`). Every call takes a token of the account's request budget
 * first and has a deadline. Errors become VenueErrors: a `{ code, message }` refusal by its
 * code (wire.ts), a 429 rate-limited, a timeout or a lost connection on sendTx an unknown
 * outcome (the transaction may have been accepted: ask, never resend), elsewhere a
 * disconnection. Auth tokens travel in the `Authorization` header and never reach an error.
 */
import { errorText } from '@perpmesh/core';
import type { RequestBudget } from '../ccxt/budget.js';
import { RateLimitedError, VenueDisconnectedError, VenueUnknownOutcomeError } from '../errors.js';
import { lighterReplyError } from './wire.js';

export type LighterReply = Record<string, unknown>;

export interface LighterHttpOptions {
  readonly venue: string;
  /** `https://mainnet.zklighter.elliot.ai` or an emulator's `http://127.0.0.1:<port>`. */
  readonly baseUrl: string;
  readonly callTimeoutMs: number;
  readonly budget: RequestBudget;
  /** Told of every answer (the link is up) and every failure to reach the venue. */
  readonly onLink?: (up: boolean, why: string) => void;
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

  private async call(
    method: 'GET' | 'POST',
    pathAndQuery: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<LighterReply> {
    const { venue } = this.options;
    const isTx = method === 'POST';
    await this.options.budget.take();
    const route = pathAndQuery.split('?')[0];
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.options.baseUrl}/api/v1/${pathAndQuery}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(this.options.callTimeoutMs),
      });
      text = await response.text();
    } catch (err) {
      const why = `${method} ${route}: ${errorText(err)}`;
      this.options.onLink?.(false, why);
      throw isTx
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
    const code = reply === undefined ? undefined : Number(reply.code);
    if (response.status === 429) {
      throw new RateLimitedError(venue, `rate-limited: ${method} ${route} answered 429`);
    }
    if (reply !== undefined && code !== undefined && Number.isFinite(code) && code !== 200 && code !== 0) {
      throw lighterReplyError(venue, code, String(reply.message ?? ''));
    }
    if (response.status >= 500 || reply === undefined) {
      const why = `${method} ${route} answered ${response.status}`;
      throw isTx
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
