/**
 * Sharding of market data across market-data replicas (README.md, "Sharding").
 *
 * Replica `index` of `count` follows exactly the (venue, instrument) pairs whose shard is
 * `index`, where
 *
 *   shard(venue, instrument) = fmix32(fnv1a32(utf8(`${venue}|${instrument}`))) mod count
 *
 * FNV-1a (32-bit) is tiny, has no dependency, and is the same on every machine and Node
 * version, so every replica computes the same split from the same config without talking
 * to the others. Its low bits are weak (the lowest is just the parity of the odd bytes, so
 * `mod 2` split real instrument lists 6:0), hence murmur3's fmix32 finalizer on top. Every
 * pair has exactly one shard, so the replicas together follow every configured instrument
 * once. Changing `count` moves pairs between shards: roll every replica with the new count
 * together.
 */
import { type InstrumentId, ValidationError, type VenueId } from '@perpmesh/core';
import { fmix32, fnv1a32 } from '@perpmesh/state';

export interface ShardSpec {
  /** This replica's shard, 0 <= index < count. */
  readonly index: number;
  /** Number of market-data replicas splitting the instruments. */
  readonly count: number;
}

export const SINGLE_SHARD: ShardSpec = { index: 0, count: 1 };

export { fmix32, fnv1a32 } from '@perpmesh/state';

export function validateShard(shard: ShardSpec, field = 'shard'): ShardSpec {
  const { index, count } = shard ?? ({} as ShardSpec);
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new ValidationError(`${field}.count`, `must be a whole number >= 1, got ${String(count)}`);
  }
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new ValidationError(
      `${field}.index`,
      `must be a whole number in [0, ${count - 1}], got ${String(index)}`,
    );
  }
  return { index, count };
}

/** The stable hash a (venue, instrument) pair is sharded by. */
export function shardHash(venue: VenueId, instrument: InstrumentId): number {
  return fmix32(fnv1a32(`${venue}|${instrument}`));
}

/** The shard (0..count-1) that owns `instrument` on `venue`. */
export function shardOf(venue: VenueId, instrument: InstrumentId, count: number): number {
  validateShard({ index: 0, count });
  return shardHash(venue, instrument) % count;
}

/** True when replica `shard` follows `instrument` on `venue`. */
export function ownsInstrument(shard: ShardSpec, venue: VenueId, instrument: InstrumentId): boolean {
  return shardOf(venue, instrument, shard.count) === shard.index;
}

/**
 * The instruments of each venue this shard follows, in config order. Venues where this
 * shard owns nothing are left out.
 */
export function instrumentsForShard(
  venues: Readonly<Record<VenueId, readonly InstrumentId[]>>,
  shard: ShardSpec,
): Map<VenueId, InstrumentId[]> {
  validateShard(shard);
  const out = new Map<VenueId, InstrumentId[]>();
  for (const [venue, instruments] of Object.entries(venues)) {
    const owned = [...new Set(instruments)].filter((i) => ownsInstrument(shard, venue, i));
    if (owned.length > 0) out.set(venue, owned);
  }
  return out;
}
