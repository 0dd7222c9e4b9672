// The Lighter signer's public surface (re-exported from @perpmesh/signing).
export {
  createLighterAuthToken,
  type LighterAuthTokenParams,
  lighterAuthMessage,
  lighterAuthMessageHash,
  type ParsedLighterAuthToken,
  parseLighterAuthToken,
  verifyLighterAuthToken,
} from './auth-token.js';
export type { Fp5 as LighterFp5 } from './gfp5.js';
export { fp5FromBytesLE as lighterFp5FromBytes, fp5ToBytesLE as lighterFp5ToBytes } from './gfp5.js';
export { LighterPrivateKey } from './keys.js';
export {
  type SchnorrSignature as LighterSchnorrSignature,
  schnorrVerifyBytes as verifyLighterSignature,
} from './schnorr.js';
export { LIGHTER_VECTORS_URL, lighterSelfTest } from './self-test.js';
export {
  LIGHTER_CHAIN_ID,
  LIGHTER_MAX_BATCH_TXS,
  LIGHTER_TX_ATTRIBUTE,
  LIGHTER_TX_TYPE,
  type LighterCancelAllOrdersTx,
  type LighterCancelOrderTx,
  type LighterCreateOrderTx,
  type LighterModifyOrderTx,
  type LighterTx,
  type LighterTxAttributes,
  type LighterTxType,
  type LighterUpdateLeverageTx,
  lighterAttributesHash,
  lighterTxHash,
  lighterTxHashElements,
  lighterTxInfoJson,
  type ParsedLighterTxInfo,
  parseLighterTxInfo,
  type SignedLighterTx,
  type SignLighterTxOptions,
  signLighterTx,
  verifyLighterTxInfo,
} from './transactions.js';
export { runLighterVectors } from './vectors.js';
