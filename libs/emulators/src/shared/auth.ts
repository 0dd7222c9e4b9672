/** Signing checks shared by the HMAC venues (Binance, OKX). */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function hmacSha256(secret: string, text: string, encoding: 'hex' | 'base64'): string {
  return createHmac('sha256', secret).update(text).digest(encoding);
}

/** Constant-time comparison of two signatures as text. */
export function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
