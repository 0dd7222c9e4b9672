/**
 * Our client order id in each venue's own format. Ours is 1-36 characters of
 * `A-Z a-z 0-9 _ -` (core/ids.ts); venues want other forms:
 *
 * - Binance USD-M `newClientOrderId`: ≤ 36 of `[A-Za-z0-9._-]` — ours as is.
 * - OKX `clOrdId`: ≤ 32 alphanumerics — ours as is when it already is one (≤ 31 long),
 *   else `H` + 31 hex characters of its SHA-256.
 * - Hyperliquid `cloid`: 16 bytes as `0x` + 32 hex — ids of ≤ 15 characters are packed
 *   (byte 0 = length, then the ASCII), longer ones hashed (SHA-256, byte 0 with the top bit
 *   set, so the two forms never meet).
 * - Lighter client order index: an integer below 2^48 — ours as is when it is a plain
 *   number below 2^47, else 47 bits of its SHA-256 + 2^47.
 * - Paper: ours as is.
 *
 * Every encoding is a pure function of our id, so a lookup by our id (fetchOrder, the
 * idempotency of a resend) re-encodes it and finds the venue's order. `decode` gives our id
 * back where the form is reversible; for hashed forms the adapter remembers what it encoded
 * (ClientOrderIdMap) to name our order on a fill or an order update.
 */
import { createHash } from 'node:crypto';
import { type ClientOrderId, isClientOrderId } from '@perpmesh/core';
import { BINANCEUSDM_KIND } from '../binanceusdm/config.js';
import { HYPERLIQUID_KIND } from '../hyperliquid/config.js';
import { LIGHTER_KIND } from '../lighter/config.js';
import { OKX_KIND } from '../okx/config.js';

export interface ClientOrderIdCodec {
  /** What the venue accepts, for messages. */
  readonly format: string;
  /** Our id in the venue's format; deterministic. */
  encode(id: ClientOrderId): string;
  /** Our id back from the venue's, when that form is reversible; else `undefined`. */
  decode(venueId: string): ClientOrderId | undefined;
}

function sha256(id: string): Buffer {
  return createHash('sha256').update(id, 'utf8').digest();
}

/** Ours unchanged (paper, Binance USD-M). */
export const identityClientOrderIdCodec: ClientOrderIdCodec = {
  format: 'our client order id',
  encode: (id) => id,
  decode: (venueId) => (isClientOrderId(venueId) ? venueId : undefined),
};

const BINANCE_CLIENT_ORDER_ID = /^[A-Za-z0-9._-]{1,36}$/;
export const binanceClientOrderIdCodec: ClientOrderIdCodec = {
  format: '1-36 characters of [A-Za-z0-9._-]',
  // Ours is a subset of Binance's form.
  encode: (id) => id,
  decode: (venueId) =>
    BINANCE_CLIENT_ORDER_ID.test(venueId) && isClientOrderId(venueId) ? venueId : undefined,
};

const OKX_PLAIN = /^[A-Za-z0-9]{1,31}$/;
const OKX_HASHED_LENGTH = 32;
export const okxClientOrderIdCodec: ClientOrderIdCodec = {
  format: '1-32 alphanumerics',
  encode: (id) =>
    OKX_PLAIN.test(id)
      ? id
      : `H${sha256(id)
          .toString('hex')
          .slice(0, OKX_HASHED_LENGTH - 1)}`,
  // A 32-character clOrdId is a hash of ours; shorter ones are ours unchanged.
  decode: (venueId) => (OKX_PLAIN.test(venueId) ? venueId : undefined),
};

const CLOID_BYTES = 16;
const CLOID = /^0x[0-9a-f]{32}$/;
const CLOID_PACKED_MAX = CLOID_BYTES - 1;
export const hyperliquidClientOrderIdCodec: ClientOrderIdCodec = {
  format: '0x + 32 lowercase hex characters (16 bytes)',
  encode: (id) => {
    const bytes = Buffer.alloc(CLOID_BYTES);
    if (id.length <= CLOID_PACKED_MAX) {
      bytes[0] = id.length;
      bytes.write(id, 1, 'ascii');
    } else {
      sha256(id).copy(bytes, 0, 0, CLOID_BYTES);
      bytes[0] = (bytes[0] as number) | 0x80;
    }
    return `0x${bytes.toString('hex')}`;
  },
  decode: (venueId) => {
    if (!CLOID.test(venueId)) return undefined;
    const bytes = Buffer.from(venueId.slice(2), 'hex');
    const length = bytes[0] as number;
    if (length === 0 || length > CLOID_PACKED_MAX) return undefined;
    if (bytes.subarray(1 + length).some((b) => b !== 0)) return undefined;
    const id = bytes.subarray(1, 1 + length).toString('ascii');
    return isClientOrderId(id) ? id : undefined;
  },
};

const LIGHTER_HASHED_BASE = 2n ** 47n;
const LIGHTER_PLAIN = /^(0|[1-9][0-9]{0,14})$/;
export const lighterClientOrderIdCodec: ClientOrderIdCodec = {
  format: 'an integer client order index below 2^48',
  encode: (id) => {
    if (LIGHTER_PLAIN.test(id) && BigInt(id) < LIGHTER_HASHED_BASE) return id;
    const bits = sha256(id).readBigUInt64BE(0) & (LIGHTER_HASHED_BASE - 1n);
    return (LIGHTER_HASHED_BASE + bits).toString();
  },
  decode: (venueId) =>
    LIGHTER_PLAIN.test(venueId) && BigInt(venueId) < LIGHTER_HASHED_BASE ? venueId : undefined,
};

const CODECS: Readonly<Record<string, ClientOrderIdCodec>> = {
  [BINANCEUSDM_KIND]: binanceClientOrderIdCodec,
  [OKX_KIND]: okxClientOrderIdCodec,
  [HYPERLIQUID_KIND]: hyperliquidClientOrderIdCodec,
  [LIGHTER_KIND]: lighterClientOrderIdCodec,
};

/** The codec of a venue kind (`binanceusdm`, `okx`, ...); ours unchanged for any other kind. */
export function clientOrderIdCodec(kind: string): ClientOrderIdCodec {
  return CODECS[kind] ?? identityClientOrderIdCodec;
}

/**
 * Our ids by the venue's, for an adapter whose codec hashes: remembers what it encoded (the
 * newest `capacity` ids) so a fill or order update names our order. An id it never encoded
 * (placed before a restart) is found by the caller re-encoding ours (`toVenue`).
 */
export class ClientOrderIdMap {
  readonly #codec: ClientOrderIdCodec;
  readonly #capacity: number;
  readonly #ours = new Map<string, ClientOrderId>();

  constructor(codec: ClientOrderIdCodec, capacity = 100_000) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    }
    this.#codec = codec;
    this.#capacity = capacity;
  }

  toVenue(id: ClientOrderId): string {
    const venueId = this.#codec.encode(id);
    this.#ours.delete(venueId);
    this.#ours.set(venueId, id);
    if (this.#ours.size > this.#capacity) {
      const oldest = this.#ours.keys().next().value as string;
      this.#ours.delete(oldest);
    }
    return venueId;
  }

  /** Our id for the venue's; `undefined` when neither reversible nor remembered. */
  fromVenue(venueId: string): ClientOrderId | undefined {
    return this.#ours.get(venueId) ?? this.#codec.decode(venueId);
  }
}
