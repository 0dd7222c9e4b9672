/**
 * An Extended order's settlement, end to end: amounts from size, price and fee; the order
 * struct with the account's vault and the market's asset ids; its message hash; the Stark
 * signature; and the `settlement` object of the order request body. The venue adapter signs
 * with `signOrderSettlement`; an emulator recomputes `orderSettlementHash` and verifies.
 */
import type { Decimal } from '@perpmesh/core';
import {
  type SettlementAmounts,
  type SettlementSide,
  settlementAmounts,
  settlementExpirationSeconds,
} from './amounts.js';
import { feltHex, parseFelt, parseInteger, parseUnsigned } from './felt.js';
import { type ExtendedOrderStruct, extendedOrderMessageHash } from './order-hash.js';
import type { StarkSignature, StarkSigner } from './stark.js';
import { type ExtendedChainId, extendedDomain } from './typed-data.js';

/** The market's `l2Config` from `info/markets`. */
export interface ExtendedMarketL2Config {
  readonly collateralId: string | bigint;
  readonly syntheticId: string | bigint;
  readonly syntheticResolution: number | bigint | string;
  readonly collateralResolution: number | bigint | string;
}

export interface OrderSettlementInput {
  readonly chainId: ExtendedChainId;
  readonly market: ExtendedMarketL2Config;
  readonly side: SettlementSide;
  readonly qty: Decimal | string;
  readonly price: Decimal | string;
  /** Fee rate: the order's fee plus any builder fee. */
  readonly totalFee: Decimal | string;
  readonly expiryEpochMillis: number | bigint | string;
  /** The order nonce, hashed as the salt. */
  readonly nonce: number | bigint | string;
  /** The account's `l2Vault` (collateral position id). */
  readonly vault: number | bigint | string;
}

export interface OrderSettlement {
  readonly amounts: SettlementAmounts;
  readonly order: ExtendedOrderStruct;
  /** The SNIP-12 message hash that was signed. */
  readonly messageHash: bigint;
  readonly signature: StarkSignature;
  readonly starkKey: bigint;
  readonly collateralPosition: bigint;
}

/** The order struct an input hashes to (no key needed). */
export function orderSettlementStruct(input: OrderSettlementInput): ExtendedOrderStruct {
  const amounts = settlementAmounts({
    side: input.side,
    qty: input.qty,
    price: input.price,
    totalFee: input.totalFee,
    syntheticResolution: input.market.syntheticResolution,
    collateralResolution: input.market.collateralResolution,
  });
  const collateralId = parseFelt(input.market.collateralId, 'market.collateralId');
  return {
    positionId: parseUnsigned(input.vault, 32, 'vault'),
    baseAssetId: parseFelt(input.market.syntheticId, 'market.syntheticId'),
    baseAmount: amounts.baseAmount,
    quoteAssetId: collateralId,
    quoteAmount: amounts.quoteAmount,
    feeAssetId: collateralId,
    feeAmount: amounts.feeAmount,
    expiration: settlementExpirationSeconds(input.expiryEpochMillis),
    salt: parseFelt(parseInteger(input.nonce, 'nonce'), 'nonce'),
  };
}

/** The message hash of an order input for a Stark public key: what the venue verifies against. */
export function orderSettlementHash(input: OrderSettlementInput, starkKey: bigint): bigint {
  return extendedOrderMessageHash(orderSettlementStruct(input), extendedDomain(input.chainId), starkKey);
}

export function signOrderSettlement(input: OrderSettlementInput, signer: StarkSigner): OrderSettlement {
  const order = orderSettlementStruct(input);
  const messageHash = extendedOrderMessageHash(order, extendedDomain(input.chainId), signer.publicKey);
  return {
    amounts: { baseAmount: order.baseAmount, quoteAmount: order.quoteAmount, feeAmount: order.feeAmount },
    order,
    messageHash,
    signature: signer.signHash(messageHash),
    starkKey: signer.publicKey,
    collateralPosition: order.positionId,
  };
}

/** The request body's `settlement` object, as Extended's API takes it. */
export function settlementBody(settlement: OrderSettlement): {
  signature: { r: string; s: string };
  starkKey: string;
  collateralPosition: string;
} {
  return {
    signature: {
      r: feltHex(settlement.signature.r),
      s: feltHex(settlement.signature.s),
    },
    starkKey: feltHex(settlement.starkKey),
    collateralPosition: settlement.collateralPosition.toString(),
  };
}
