/**
 * Who may act (cancel-all, trading state) through the gateway:
 * - a token is configured: the request must carry `Authorization: Bearer <token>`
 *   (compared in constant time), else 401;
 * - no token: refused (403) unless `gateway.allowUnauthenticatedActions` is true.
 * Reading (GET) needs no token: it changes nothing and the page must load without one.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { bearerToken, Secret } from '@perpmesh/runtime';
import { ActionRefusedError } from './errors.js';

export interface ActionPolicy {
  /** The token actions demand; read per request (the embedded process creates it at start). */
  readonly token: () => Secret | undefined;
  readonly allowUnauthenticated: boolean;
}

/** Throws ActionRefusedError (401/403) unless the request may act. */
export function authorizeAction(policy: ActionPolicy, authorization: string | undefined): void {
  const token = policy.token();
  if (token === undefined) {
    if (policy.allowUnauthenticated) return;
    throw new ActionRefusedError(
      403,
      'actions are disabled: no token is configured. Set auth.token (e.g. PERPMESH_TOKEN), ' +
        'or gateway.allowUnauthenticatedActions: true on a trusted network',
    );
  }
  const sent = bearerToken(authorization);
  if (sent === undefined)
    throw new ActionRefusedError(401, 'this action needs the token: send Authorization: Bearer <token>');
  if (!token.equals(sent)) throw new ActionRefusedError(401, 'the token does not match');
}

/**
 * The embedded process's action token when none is configured: read from `path`, or
 * generated (32 random bytes, base64url) and written there readable by the owner only.
 * Kept across restarts so an open dashboard tab keeps working. Delete the file to rotate.
 */
export function loadOrCreateTokenFile(path: string): Secret {
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8').trim();
    if (text.length >= 16) return new Secret(text, `file ${path}`);
  }
  mkdirSync(dirname(path), { recursive: true });
  const token = randomBytes(32).toString('base64url');
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // an existing (too short) file kept its old mode
  return new Secret(token, `file ${path}`);
}
