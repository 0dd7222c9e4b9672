/**
 * Venue credentials in config: `{ env: NAME }` or `{ file: path }` references, checked
 * for shape when the config is parsed but RESOLVED only when a process opens the venue
 * for trading (`access: 'trading'`). A process that only reads market data never reads
 * the key, so it need not be given the environment variable or the mounted file at all.
 *
 * Resolution is runtime's `secretSchema` (process env, files relative to the working
 * directory), so the rules and messages are the ones every other secret of the config has.
 */
import { ValidationError } from '@perpmesh/core';
import { SECRET_LITERAL_MESSAGE, type Secret, secretSchema } from '@perpmesh/runtime';
import { z } from 'zod';

/** Where a credential comes from; resolving it reads the env var or the file. */
export class CredentialRef {
  readonly #ref: { env: string } | { file: string };

  constructor(ref: { env: string } | { file: string }) {
    this.#ref = 'env' in ref ? { env: ref.env } : { file: ref.file };
  }

  /** Safe to log: the env var's name or the file's path, never the value. */
  get source(): string {
    return 'env' in this.#ref ? `env ${this.#ref.env}` : `file ${this.#ref.file}`;
  }

  /** Reads the credential; a ValidationError naming `field` when it is missing or empty. */
  resolve(field: string): Secret {
    const result = secretSchema.safeParse(this.#ref);
    if (result.success) return result.data;
    throw new ValidationError(field, result.error.issues.map((i) => i.message).join('; '));
  }

  toJSON(): string {
    return this.source;
  }
}

/** A credential field of a venue kind's config: a reference, never the value inline. */
export const credentialSchema = z.unknown().transform((input, ctx): CredentialRef => {
  const fail = (message: string): never => {
    // No `input` on the issue: an inline value must never reach an error object.
    ctx.issues.push({ code: 'custom', message, input: undefined });
    return z.NEVER as never;
  };
  if (input === undefined) return fail('required: { env: VAR_NAME } or { file: /path/to/file }');
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    return fail(SECRET_LITERAL_MESSAGE);
  const ref = input as { env?: unknown; file?: unknown };
  if (Object.keys(input).length !== 1 || (ref.env === undefined && ref.file === undefined)) {
    return fail('expected exactly one of { env: VAR_NAME } or { file: /path/to/file }');
  }
  if (ref.env !== undefined) {
    if (typeof ref.env !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(ref.env)) {
      return fail('env: expected an environment variable name such as PERPMESH_OKX_SECRET');
    }
    return new CredentialRef({ env: ref.env });
  }
  if (typeof ref.file !== 'string' || ref.file === '') return fail('file: expected a file path');
  return new CredentialRef({ file: ref.file });
});
