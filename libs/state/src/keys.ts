/**
 * Every key name the state store uses, built here and nowhere else (the table is in
 * libs/state/README.md). The embedded store uses the same names for its maps and files.
 *
 *   {prefix}nonce:{venue}:{account}:{apiKeyId}   string  next nonce, decimal text
 *   {prefix}idem:{scope}:{key}                   string  claim value, expires (PX ttl)
 *   {prefix}proj:{name}                          hash    fields `state`, `applied` (JSON)
 *
 * Components are URI-encoded, so a `:` inside an id cannot make two keys collide
 * (venue "a:b" + account "c" vs venue "a" + account "b:c").
 */
import { ValidationError } from '@perpmesh/core';
import type { NonceKey } from './statestore.js';

export const DEFAULT_KEY_PREFIX = 'pm:';

const PREFIX_TEXT = /^[A-Za-z0-9_.:-]{1,128}$/;

export function checkKeyPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || !PREFIX_TEXT.test(prefix) || !prefix.endsWith(':')) {
    throw new ValidationError(
      'keyPrefix',
      `must be 1-128 characters of [A-Za-z0-9_.:-] ending with ":", got ${JSON.stringify(prefix)}`,
    );
  }
  return prefix;
}

const part = (value: string): string => encodeURIComponent(value);

export interface StateKeys {
  readonly prefix: string;
  nonce(key: NonceKey): string;
  idempotency(scope: string, key: string): string;
  projection(name: string): string;
  /** A Redis SCAN/KEYS pattern matching every key under this prefix (tests' cleanup). */
  readonly allPattern: string;
}

export function stateKeys(prefix: string = DEFAULT_KEY_PREFIX): StateKeys {
  checkKeyPrefix(prefix);
  return {
    prefix,
    nonce: (key) => `${prefix}nonce:${part(key.venue)}:${part(key.account)}:${part(key.apiKeyId)}`,
    idempotency: (scope, key) => `${prefix}idem:${part(scope)}:${part(key)}`,
    projection: (name) => `${prefix}proj:${part(name)}`,
    // The prefix charset has no glob characters, so it needs no escaping.
    allPattern: `${prefix}*`,
  };
}
