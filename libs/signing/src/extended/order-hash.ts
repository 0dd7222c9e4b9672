/**
 * The Extended order (settlement) as SNIP-12 typed data: its struct hash and its message
 * hash, which is what the Stark key signs and what the venue recomputes.
 */
import { poseidonHashMany } from '@scure/starknet';
import { parseFelt, parseI64, parseUnsigned, signedToFelt } from './felt.js';
import { type StarknetDomain, snip12MessageHash, snip12TypeSelector } from './typed-data.js';

/** The Order type with the types it references, in SNIP-12 encoding order. */
export const EXTENDED_ORDER_TYPE =
  '"Order"("position_id":"felt","base_asset_id":"AssetId","base_amount":"i64","quote_asset_id":"AssetId",' +
  '"quote_amount":"i64","fee_asset_id":"AssetId","fee_amount":"u64","expiration":"Timestamp","salt":"felt")' +
  '"PositionId"("value":"u32")"AssetId"("value":"felt")"Timestamp"("seconds":"u64")';

/** The order fields exactly as hashed. Amounts are in asset resolution units; the spent side is negative. */
export interface ExtendedOrderStruct {
  /** The account's vault (`l2Vault`), a u32. */
  readonly positionId: bigint;
  readonly baseAssetId: bigint;
  /** i64. */
  readonly baseAmount: bigint;
  readonly quoteAssetId: bigint;
  /** i64. */
  readonly quoteAmount: bigint;
  readonly feeAssetId: bigint;
  /** u64. */
  readonly feeAmount: bigint;
  /** Settlement expiration, Unix seconds (u64). */
  readonly expiration: bigint;
  /** The order nonce. */
  readonly salt: bigint;
}

/** The felts the struct hash is taken over: the type selector, then each member (i64 as P + v). */
export function extendedOrderHashElements(order: ExtendedOrderStruct): bigint[] {
  return [
    snip12TypeSelector(EXTENDED_ORDER_TYPE),
    parseUnsigned(order.positionId, 32, 'order.positionId'),
    parseFelt(order.baseAssetId, 'order.baseAssetId'),
    signedToFelt(parseI64(order.baseAmount, 'order.baseAmount')),
    parseFelt(order.quoteAssetId, 'order.quoteAssetId'),
    signedToFelt(parseI64(order.quoteAmount, 'order.quoteAmount')),
    parseFelt(order.feeAssetId, 'order.feeAssetId'),
    parseUnsigned(order.feeAmount, 64, 'order.feeAmount'),
    parseUnsigned(order.expiration, 64, 'order.expiration'),
    parseFelt(order.salt, 'order.salt'),
  ];
}

export function extendedOrderStructHash(order: ExtendedOrderStruct): bigint {
  return poseidonHashMany(extendedOrderHashElements(order));
}

/** The hash the Stark key signs: the order under the domain, for the signer's public key. */
export function extendedOrderMessageHash(
  order: ExtendedOrderStruct,
  domain: StarknetDomain,
  starkPublicKey: bigint,
): bigint {
  return snip12MessageHash(
    domain,
    parseFelt(starkPublicKey, 'starkPublicKey'),
    extendedOrderStructHash(order),
  );
}
