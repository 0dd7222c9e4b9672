/**
 * Lighter L2 transactions: the field elements each type hashes, the optional attributes hash,
 * signing, and the wire JSON (`tx_info`) the venue's sendTx takes.
 *
 * Hash = HashToQuinticExtension([chainId, txType, nonce, expiredAt, <body fields in order>]),
 * every field cast to u64 (negative int64 as two's complement) and reduced mod p. With
 * attributes whose value is not the type's nil value: attrHash = HashToQuinticExtension of the
 * (type, value) pairs sorted by type, padded with (0, 0) to 4 pairs; final hash =
 * HashToQuinticExtension(hash || attrHash).
 */
import type { Fp5 } from './gfp5.js';
import { fp5ToBytesLE } from './gfp5.js';
import { bytesToHex, type LighterPrivateKey } from './keys.js';
import { hashToQuinticExtension } from './poseidon2.js';
import { schnorrVerifyBytes, signatureToBytes } from './schnorr.js';

export const LIGHTER_CHAIN_ID = { mainnet: 304, testnet: 300 } as const;

export const LIGHTER_TX_TYPE = {
  createOrder: 14,
  cancelOrder: 15,
  cancelAllOrders: 16,
  modifyOrder: 17,
  updateLeverage: 20,
} as const;
export type LighterTxType = (typeof LIGHTER_TX_TYPE)[keyof typeof LIGHTER_TX_TYPE];
/** The most transactions one `sendTxBatch` carries (the venue's limit). */
export const LIGHTER_MAX_BATCH_TXS = 50;

export const LIGHTER_TX_ATTRIBUTE = {
  integratorAccountIndex: 1,
  integratorTakerFee: 2,
  integratorMakerFee: 3,
  skipTxNonce: 4,
  cancelAllMarketIndex: 5,
  selfTradeBehaviorMode: 6,
  selfTradeEqualityMode: 7,
} as const;

type IntLike = bigint | number;

interface LighterTxCommon {
  readonly accountIndex: IntLike;
  readonly apiKeyIndex: IntLike;
  /** Unix milliseconds. */
  readonly expiredAt: IntLike;
  readonly nonce: IntLike;
}

export interface LighterCreateOrderTx extends LighterTxCommon {
  readonly txType: typeof LIGHTER_TX_TYPE.createOrder;
  readonly marketIndex: IntLike;
  readonly clientOrderIndex: IntLike;
  readonly baseAmount: IntLike;
  readonly price: IntLike;
  readonly isAsk: IntLike;
  /** Lighter's order type (0 limit, 1 market, 2 stop-loss, ...): `Type` on the wire. */
  readonly orderType: IntLike;
  readonly timeInForce: IntLike;
  readonly reduceOnly: IntLike;
  readonly triggerPrice: IntLike;
  /** Unix milliseconds. */
  readonly orderExpiry: IntLike;
}

export interface LighterCancelOrderTx extends LighterTxCommon {
  readonly txType: typeof LIGHTER_TX_TYPE.cancelOrder;
  readonly marketIndex: IntLike;
  /** Client order index or order index of the order to cancel. */
  readonly index: IntLike;
}

export interface LighterCancelAllOrdersTx extends LighterTxCommon {
  readonly txType: typeof LIGHTER_TX_TYPE.cancelAllOrders;
  readonly timeInForce: IntLike;
  readonly time: IntLike;
}

export interface LighterModifyOrderTx extends LighterTxCommon {
  readonly txType: typeof LIGHTER_TX_TYPE.modifyOrder;
  readonly marketIndex: IntLike;
  readonly index: IntLike;
  readonly baseAmount: IntLike;
  readonly price: IntLike;
  readonly triggerPrice: IntLike;
}

/** Not in the known-answer vectors: its element order follows lighter-go's UpdateLeverage hash. */
export interface LighterUpdateLeverageTx extends LighterTxCommon {
  readonly txType: typeof LIGHTER_TX_TYPE.updateLeverage;
  readonly marketIndex: IntLike;
  /** 10_000 / leverage (basis points of notional). */
  readonly initialMarginFraction: IntLike;
  /** 0 cross, 1 isolated. */
  readonly marginMode: IntLike;
}

export type LighterTx =
  | LighterCreateOrderTx
  | LighterCancelOrderTx
  | LighterCancelAllOrdersTx
  | LighterModifyOrderTx
  | LighterUpdateLeverageTx;

/** Attribute type -> value. */
export type LighterTxAttributes = Readonly<Record<number, IntLike>>;

type IntKind = 'i64' | 'u8' | 'i16' | 'u16' | 'u32';
interface FieldSpec {
  readonly key: string;
  /** The Go field name, used on the wire JSON. */
  readonly json: string;
  readonly kind: IntKind;
}

const COMMON_HEAD: readonly FieldSpec[] = [
  { key: 'accountIndex', json: 'AccountIndex', kind: 'i64' },
  { key: 'apiKeyIndex', json: 'ApiKeyIndex', kind: 'u8' },
];

/** Body fields per type, in hash order (the wire JSON uses the same order). */
const BODY_FIELDS: Readonly<Record<LighterTxType, readonly FieldSpec[]>> = {
  14: [
    ...COMMON_HEAD,
    { key: 'marketIndex', json: 'MarketIndex', kind: 'i16' },
    { key: 'clientOrderIndex', json: 'ClientOrderIndex', kind: 'i64' },
    { key: 'baseAmount', json: 'BaseAmount', kind: 'i64' },
    { key: 'price', json: 'Price', kind: 'u32' },
    { key: 'isAsk', json: 'IsAsk', kind: 'u8' },
    { key: 'orderType', json: 'Type', kind: 'u8' },
    { key: 'timeInForce', json: 'TimeInForce', kind: 'u8' },
    { key: 'reduceOnly', json: 'ReduceOnly', kind: 'u8' },
    { key: 'triggerPrice', json: 'TriggerPrice', kind: 'u32' },
    { key: 'orderExpiry', json: 'OrderExpiry', kind: 'i64' },
  ],
  15: [
    ...COMMON_HEAD,
    { key: 'marketIndex', json: 'MarketIndex', kind: 'i16' },
    { key: 'index', json: 'Index', kind: 'i64' },
  ],
  16: [
    ...COMMON_HEAD,
    { key: 'timeInForce', json: 'TimeInForce', kind: 'u8' },
    { key: 'time', json: 'Time', kind: 'i64' },
  ],
  17: [
    ...COMMON_HEAD,
    { key: 'marketIndex', json: 'MarketIndex', kind: 'i16' },
    { key: 'index', json: 'Index', kind: 'i64' },
    { key: 'baseAmount', json: 'BaseAmount', kind: 'i64' },
    { key: 'price', json: 'Price', kind: 'u32' },
    { key: 'triggerPrice', json: 'TriggerPrice', kind: 'u32' },
  ],
  20: [
    ...COMMON_HEAD,
    { key: 'marketIndex', json: 'MarketIndex', kind: 'i16' },
    { key: 'initialMarginFraction', json: 'InitialMarginFraction', kind: 'u16' },
    { key: 'marginMode', json: 'MarginMode', kind: 'u8' },
  ],
};

const RANGES: Readonly<Record<IntKind, readonly [bigint, bigint]>> = {
  i64: [-(1n << 63n), (1n << 63n) - 1n],
  u8: [0n, 255n],
  i16: [-(1n << 15n), (1n << 15n) - 1n],
  u16: [0n, (1n << 16n) - 1n],
  u32: [0n, (1n << 32n) - 1n],
};

function checkedInt(value: unknown, name: string, kind: IntKind): bigint {
  let v: bigint;
  if (typeof value === 'bigint') v = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) v = BigInt(value);
  else throw new Error(`Lighter tx field ${name}: must be an integer (number or bigint)`);
  const [min, max] = RANGES[kind];
  if (v < min || v > max) throw new Error(`Lighter tx field ${name}: ${v} is outside the ${kind} range`);
  return v;
}

/** Go's GoldilocksField(uint64(x)): two's complement for negatives; the hash reduces mod p. */
function asU64(v: bigint): bigint {
  return v < 0n ? v + (1n << 64n) : v;
}

function bodyFields(tx: LighterTx): readonly FieldSpec[] {
  const fields = BODY_FIELDS[tx.txType];
  if (!fields)
    throw new Error(`Lighter tx: unsupported txType ${String((tx as { txType: unknown }).txType)}`);
  return fields;
}

function fieldValue(tx: LighterTx, spec: FieldSpec): bigint {
  return checkedInt((tx as unknown as Record<string, unknown>)[spec.key], spec.key, spec.kind);
}

/** The u64 elements the transaction hash is taken over. */
export function lighterTxHashElements(tx: LighterTx, chainId: number): bigint[] {
  const head = [
    checkedInt(chainId, 'chainId', 'u32'),
    BigInt(tx.txType),
    checkedInt(tx.nonce, 'nonce', 'i64'),
    checkedInt(tx.expiredAt, 'expiredAt', 'i64'),
  ];
  return [...head, ...bodyFields(tx).map((spec) => fieldValue(tx, spec))].map(asU64);
}

interface AttributeRule {
  readonly nil: bigint;
  readonly min: bigint;
  readonly max: bigint;
}

const ATTRIBUTE_RULES: Readonly<Record<number, AttributeRule>> = {
  1: { nil: 0n, min: 0n, max: (1n << 48n) - 1n },
  2: { nil: 0n, min: 0n, max: 1_000_000n },
  3: { nil: 0n, min: 0n, max: 1_000_000n },
  4: { nil: 0n, min: 1n, max: 1n },
  5: { nil: 255n, min: 0n, max: 255n },
  6: { nil: 0n, min: 0n, max: 3n },
  7: { nil: 0n, min: 0n, max: 1n },
};
const MAX_ATTRIBUTES = 4;

/** The attributes that count (value not the type's nil value), sorted by type. */
function effectiveAttributes(attributes: LighterTxAttributes | undefined): [bigint, bigint][] {
  if (!attributes) return [];
  const pairs: [bigint, bigint][] = [];
  for (const [typeText, raw] of Object.entries(attributes)) {
    const type = Number(typeText);
    const rule = ATTRIBUTE_RULES[type];
    if (!rule) throw new Error(`Lighter tx attribute ${typeText}: unknown attribute type`);
    const value = checkedInt(raw, `attribute ${typeText}`, 'i64');
    if (value === rule.nil) continue;
    if (value < rule.min || value > rule.max) {
      throw new Error(`Lighter tx attribute ${typeText}: ${value} is outside [${rule.min}, ${rule.max}]`);
    }
    pairs.push([BigInt(type), value]);
  }
  if (pairs.length > MAX_ATTRIBUTES)
    throw new Error(`Lighter tx attributes: at most ${MAX_ATTRIBUTES} allowed`);
  return pairs.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/** The attributes hash, or undefined when no attribute counts (then the tx hash is the base hash). */
export function lighterAttributesHash(attributes: LighterTxAttributes | undefined): Fp5 | undefined {
  const pairs = effectiveAttributes(attributes);
  if (pairs.length === 0) return undefined;
  const elements: bigint[] = [];
  for (let i = 0; i < MAX_ATTRIBUTES; i++) elements.push(...(pairs[i] ?? [0n, 0n]));
  return hashToQuinticExtension(elements);
}

/** The hash that is signed. */
export function lighterTxHash(tx: LighterTx, chainId: number, attributes?: LighterTxAttributes): Fp5 {
  const base = hashToQuinticExtension(lighterTxHashElements(tx, chainId));
  const attrHash = lighterAttributesHash(attributes);
  return attrHash ? hashToQuinticExtension([...base, ...attrHash]) : base;
}

/** The wire `tx_info` JSON (Go json.Marshal field order; Sig base64; attributes keyed by type). */
export function lighterTxInfoJson(
  tx: LighterTx,
  signature: Uint8Array,
  attributes?: LighterTxAttributes,
): string {
  const parts = bodyFields(tx).map((spec) => `"${spec.json}":${fieldValue(tx, spec)}`);
  parts.push(`"ExpiredAt":${checkedInt(tx.expiredAt, 'expiredAt', 'i64')}`);
  parts.push(`"Nonce":${checkedInt(tx.nonce, 'nonce', 'i64')}`);
  parts.push(`"Sig":"${Buffer.from(signature).toString('base64')}"`);
  const attributeEntries = Object.entries(attributes ?? {})
    .map(([type, value]) => [type, checkedInt(value, `attribute ${type}`, 'i64')] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const attributesJson =
    attributeEntries.length === 0 ? 'null' : `{${attributeEntries.map(([t, v]) => `"${t}":${v}`).join(',')}}`;
  parts.push(`"L2TxAttributes":${attributesJson}`);
  return `{${parts.join(',')}}`;
}

export interface SignedLighterTx {
  readonly txType: LighterTxType;
  /** The `tx_info` form field of sendTx. */
  readonly txInfo: string;
  /** The signed hash, 40 bytes as hex (lighter-go's SignedHash). */
  readonly txHashHex: string;
  readonly signature: Uint8Array;
}

export interface SignLighterTxOptions {
  readonly chainId: number;
  readonly key: LighterPrivateKey;
  readonly attributes?: LighterTxAttributes;
  /** Fixed nonce k, for known-answer tests only. */
  readonly k?: bigint;
}

export function signLighterTx(tx: LighterTx, options: SignLighterTxOptions): SignedLighterTx {
  const hash = lighterTxHash(tx, options.chainId, options.attributes);
  const signature = signatureToBytes(options.key.sign(hash, options.k));
  return {
    txType: tx.txType,
    txInfo: lighterTxInfoJson(tx, signature, options.attributes),
    txHashHex: bytesToHex(fp5ToBytesLE(hash)),
    signature,
  };
}

/** Our field names by wire (Go) name, for reading tx_info back. */
function wireNames(txType: LighterTxType): ReadonlyMap<string, FieldSpec> {
  return new Map(BODY_FIELDS[txType].map((spec) => [spec.json, spec]));
}

export interface ParsedLighterTxInfo {
  readonly tx: LighterTx;
  readonly attributes: LighterTxAttributes | undefined;
  readonly signature: Uint8Array;
}

/**
 * Reads a `tx_info` JSON back (for a venue emulator that checks signatures). Integers are read
 * exactly (int64 values do not survive JSON.parse as numbers, so they are quoted first).
 */
export function parseLighterTxInfo(txType: number, txInfo: string): ParsedLighterTxInfo {
  if (!(txType in BODY_FIELDS)) throw new Error(`Lighter tx_info: unsupported tx_type ${txType}`);
  const type = txType as LighterTxType;
  let raw: unknown;
  try {
    // Quote bare integers (base64 Sig has no ':' ',' or '[' in it, so it is never touched).
    raw = JSON.parse(txInfo.replace(/([:[,]\s*)(-?\d+)(?=\s*[,}\]])/g, '$1"$2"'));
  } catch {
    throw new Error('Lighter tx_info: not valid JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error('Lighter tx_info: not an object');
  const info = raw as Record<string, unknown>;
  const readInt = (name: string): bigint => {
    const v = info[name];
    if (typeof v !== 'string' || !/^-?\d+$/.test(v))
      throw new Error(`Lighter tx_info ${name}: missing or not an integer`);
    return BigInt(v);
  };
  const tx: Record<string, unknown> = { txType: type };
  for (const [json, spec] of wireNames(type)) tx[spec.key] = readInt(json);
  tx.expiredAt = readInt('ExpiredAt');
  tx.nonce = readInt('Nonce');
  const sig = info.Sig;
  if (typeof sig !== 'string') throw new Error('Lighter tx_info Sig: missing');
  const signature = new Uint8Array(Buffer.from(sig, 'base64'));
  let attributes: Record<number, bigint> | undefined;
  const rawAttributes = info.L2TxAttributes;
  if (rawAttributes !== null && rawAttributes !== undefined) {
    if (typeof rawAttributes !== 'object' || Array.isArray(rawAttributes)) {
      throw new Error('Lighter tx_info L2TxAttributes: not an object');
    }
    attributes = {};
    for (const [k, v] of Object.entries(rawAttributes as Record<string, unknown>)) {
      if (!/^\d+$/.test(k) || typeof v !== 'string' || !/^-?\d+$/.test(v)) {
        throw new Error(`Lighter tx_info L2TxAttributes.${k}: not an integer`);
      }
      attributes[Number(k)] = BigInt(v);
    }
  }
  return { tx: tx as unknown as LighterTx, attributes, signature };
}

/**
 * Checks a signed `tx_info` as the venue does: recompute the hash for `chainId` and verify the
 * Schnorr signature against the registered 40-byte public key. Malformed input gives false.
 */
export function verifyLighterTxInfo(
  txType: number,
  txInfo: string,
  chainId: number,
  publicKey: Uint8Array,
): boolean {
  try {
    const { tx, attributes, signature } = parseLighterTxInfo(txType, txInfo);
    return schnorrVerifyBytes(publicKey, fp5ToBytesLE(lighterTxHash(tx, chainId, attributes)), signature);
  } catch {
    return false;
  }
}
