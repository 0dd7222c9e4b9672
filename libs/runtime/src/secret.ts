/**
 * A credential (API key, bearer token, private key) that cannot be printed by accident.
 *
 * The value sits in a private field, so it is not an own enumerable property: spreading,
 * `JSON.stringify`, `util.inspect`, template strings and pino all see `[REDACTED]`.
 * Only `.reveal()` hands the value out, and a grep for `reveal(` finds every place that does.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';

export const REDACTED = '[REDACTED]';

export class Secret {
  readonly #value: string;
  /** Where the value came from (`env PERPMESH_TOKEN`, `file /run/secrets/x`): safe to log. */
  readonly source: string;

  constructor(value: string, source = 'code') {
    this.#value = value;
    this.source = source;
  }

  /** The credential itself. Pass it straight to the signer or the wire; never to a log. */
  reveal(): string {
    return this.#value;
  }

  /**
   * Constant-time comparison with a candidate (e.g. a bearer token from a request).
   * Both sides are hashed first so neither the length nor the content leaks through timing.
   */
  equals(candidate: string | Secret): boolean {
    const other = candidate instanceof Secret ? candidate.reveal() : candidate;
    const a = createHash('sha256').update(this.#value, 'utf8').digest();
    const b = createHash('sha256').update(other, 'utf8').digest();
    return timingSafeEqual(a, b);
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

export function isSecret(value: unknown): value is Secret {
  return value instanceof Secret;
}
