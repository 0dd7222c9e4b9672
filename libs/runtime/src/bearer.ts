/**
 * The one reading of an `authorization` value as a bearer token (RFC 6750 §2.1), shared by
 * the gRPC servers' interceptor and the gateway's HTTP actions so both accept the same.
 * The scheme is case-insensitive ("Bearer", "bearer", "BEARER"); spaces or tabs separate it
 * from the token, and whitespace around the whole value is ignored. The token is one run of
 * non-whitespace characters: an empty token or one with whitespace inside is no token.
 */
const BEARER = /^bearer[ \t]+(\S+)$/i;

/** The token of `Bearer <token>`, or undefined when the value is absent or not that form. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  return BEARER.exec(authorization.trim())?.[1];
}
