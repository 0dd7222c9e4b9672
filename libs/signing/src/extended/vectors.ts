/**
 * Runs a known-answer vectors file in the format of `vectors/extended-vectors.json` against
 * this signer: every section, every case, every expected value in it. Unknown sections
 * and unknown fields inside a case fail (an expected value nobody checks must not pass
 * silently). Private keys from the file are inputs only: no detail ever contains one.
 */
import { errorText, parseDecimal, toWire } from '@perpmesh/core';
import { runBundledVectors } from '../selftest.js';
import type { VectorCaseResult } from '../vectors.js';
import { SETTLEMENT_EXPIRATION_BUFFER_SECONDS, settlementExpirationSeconds } from './amounts.js';
import { feltHex, parseInteger } from './felt.js';
import {
  extendedOrderHashElements,
  extendedOrderMessageHash,
  extendedOrderStructHash,
} from './order-hash.js';
import { orderSettlementHash, orderSettlementStruct } from './settlement.js';
import { type StarkSignature, StarkSigner, starkPublicKey, verifyStarkSignature } from './stark.js';
import {
  type ExtendedChainId,
  extendedDomain,
  STARKNET_DOMAIN_TYPE,
  type StarknetDomain,
  snip12MessageHash,
  snip12TypeSelector,
  starknetDomainHash,
} from './typed-data.js';

/** Top-level keys that describe the file rather than hold cases. */
const METADATA_KEYS = new Set(['description', 'generator', 'encoding', 'provenance', 'source', 'note']);

/** Keys that annotate a case (where it came from, what was cross-checked) and hold no expected value. */
const ANNOTATION_KEYS = new Set(['note', 'checks', 'also_reproduced_by', 'source', 'call', 'test', 'name']);

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Collects one case's comparisons; a case passes when it compared something and nothing differed. */
class CaseCheck {
  readonly problems: string[] = [];
  compared = 0;
  /** Keys of the case object that some check read. */
  readonly #read = new Set<string>();

  constructor(
    readonly section: string,
    readonly name: string,
  ) {}

  /** Marks keys of the case as read (so they are not reported as unknown). */
  read(...keys: string[]): void {
    for (const key of keys) this.#read.add(key);
  }

  /** Compares an expected integer (hex or decimal text, or a number) with the computed one. */
  integer(label: string, expected: unknown, got: bigint): void {
    this.compared += 1;
    let want: bigint;
    try {
      want = parseInteger(expected, label);
    } catch (e) {
      this.problems.push(`${label}: expected value unreadable (${errorText(e)})`);
      return;
    }
    if (want !== got) {
      // Shown in the expected value's own notation, so the two read side by side.
      const shown =
        typeof expected === 'string' && /^0x/i.test(expected.trim()) ? feltHex(got) : got.toString();
      this.problems.push(`${label}: expected ${String(expected)}, got ${shown}`);
    }
  }

  /** Records a boolean outcome that must hold. */
  truth(label: string, ok: boolean, detail: string): void {
    this.compared += 1;
    if (!ok) this.problems.push(`${label}: ${detail}`);
  }

  fail(problem: string): void {
    this.problems.push(problem);
  }

  /** Fails on every key of `object` no check read, except annotations. */
  unknownKeys(object: Json, where = ''): void {
    for (const key of Object.keys(object)) {
      if (!this.#read.has(`${where}${key}`) && !ANNOTATION_KEYS.has(key)) {
        this.problems.push(`unknown field ${where}${key}: not checked by this runner`);
      }
    }
  }

  result(): VectorCaseResult {
    if (this.problems.length === 0 && this.compared === 0) {
      return { section: this.section, name: this.name, ok: false, detail: 'no expected value to check' };
    }
    return this.problems.length === 0
      ? { section: this.section, name: this.name, ok: true }
      : { section: this.section, name: this.name, ok: false, detail: this.problems.join('; ') };
  }
}

/** Runs `body` as one case; a thrown error fails the case with its message. */
function runCase(section: string, name: string, body: (check: CaseCheck) => void): VectorCaseResult {
  const check = new CaseCheck(section, name);
  try {
    body(check);
  } catch (e) {
    check.fail(errorText(e));
  }
  return check.result();
}

function field(object: Json, key: string, where: string): unknown {
  const value = object[key];
  if (value === undefined) throw new Error(`missing field ${where}${key}`);
  return value;
}

function objectField(object: Json, key: string, where: string): Json {
  const value = field(object, key, where);
  if (!isObject(value)) throw new Error(`${where}${key} is not an object`);
  return value;
}

function stringField(object: Json, key: string, where: string): string {
  const value = field(object, key, where);
  if (typeof value !== 'string') throw new Error(`${where}${key} is not a string`);
  return value;
}

function signatureOf(value: unknown, where: string): StarkSignature {
  if (!isObject(value)) throw new Error(`${where} is not an object with r and s`);
  return { r: parseInteger(value.r, `${where}.r`), s: parseInteger(value.s, `${where}.s`) };
}

/** An expected signature: the deterministic one must equal it, and it must verify. */
function checkSignature(
  check: CaseCheck,
  where: string,
  expected: unknown,
  computed: StarkSignature | undefined,
  hash: bigint,
  publicKey: bigint,
): void {
  const sig = signatureOf(expected, where);
  if (computed) {
    check.integer(`${where}.r`, (expected as Json).r, computed.r);
    check.integer(`${where}.s`, (expected as Json).s, computed.s);
  }
  check.truth(
    `${where}`,
    verifyStarkSignature(hash, sig, publicKey),
    'does not verify over the computed hash',
  );
}

const HASH_ELEMENT_KEYS = [
  'order_type_hash',
  'position_id',
  'base_asset_id',
  'base_amount_felt',
  'quote_asset_id',
  'quote_amount_felt',
  'fee_asset_id',
  'fee_amount',
  'expiration',
  'salt',
] as const;

function runOrderCase(check: CaseCheck, entry: Json): void {
  const inputs = objectField(entry, 'inputs', '');
  const market = objectField(inputs, 'market', 'inputs.');
  const chainId = stringField(inputs, 'chainId', 'inputs.');
  const side = stringField(inputs, 'side', 'inputs.').toLowerCase();
  if (side !== 'buy' && side !== 'sell') throw new Error(`inputs.side must be buy or sell, got ${side}`);
  check.read('inputs', 'name');

  // Without a private key a case is verify-only: the file's public key, signatures verified, not compared.
  const signer =
    inputs.stark_private_key !== undefined ? new StarkSigner(inputs.stark_private_key as string) : undefined;
  const publicKey =
    signer?.publicKey ?? parseInteger(field(entry, 'stark_public_key', ''), 'stark_public_key');
  if (signer && entry.stark_public_key !== undefined) {
    check.integer('stark_public_key', entry.stark_public_key, signer.publicKey);
  }
  // The hash takes the settlement expiration the file states; the rule that derives it from
  // the order's expiry is checked on its own.
  const stated =
    inputs.settlementExpiration !== undefined
      ? parseInteger(inputs.settlementExpiration, 'inputs.settlementExpiration')
      : undefined;
  if (stated !== undefined && inputs.expiryEpochMillis !== undefined) {
    check.integer(
      'inputs.settlementExpiration (from expiryEpochMillis)',
      inputs.settlementExpiration,
      settlementExpirationSeconds(inputs.expiryEpochMillis as number),
    );
  }
  const expiryEpochMillis =
    inputs.expiryEpochMillis ??
    (stated !== undefined
      ? (stated - BigInt(SETTLEMENT_EXPIRATION_BUFFER_SECONDS)) * 1000n
      : field(inputs, 'expiryEpochMillis', 'inputs.'));
  // The same path the venue adapter signs through, so the vectors prove it.
  const order = {
    ...orderSettlementStruct({
      chainId: chainId as ExtendedChainId,
      market: {
        collateralId: field(market, 'collateralId', 'inputs.market.') as string,
        syntheticId: field(market, 'syntheticId', 'inputs.market.') as string,
        syntheticResolution: field(market, 'syntheticResolution', 'inputs.market.') as number,
        collateralResolution: field(market, 'collateralResolution', 'inputs.market.') as number,
      },
      side,
      qty: stringField(inputs, 'qty', 'inputs.'),
      price: stringField(inputs, 'price', 'inputs.'),
      totalFee: stringField(inputs, 'totalFee', 'inputs.'),
      expiryEpochMillis: expiryEpochMillis as number | bigint | string,
      nonce: field(inputs, 'nonce_salt', 'inputs.') as number,
      vault: field(inputs, 'vault_position_id', 'inputs.') as string,
    }),
    ...(stated !== undefined ? { expiration: stated } : {}),
  };
  const amounts = {
    baseAmount: order.baseAmount,
    quoteAmount: order.quoteAmount,
    feeAmount: order.feeAmount,
  };
  const domain = extendedDomain(chainId as ExtendedChainId);
  const messageHash = extendedOrderMessageHash(order, domain, publicKey);
  const signature = signer?.signHash(messageHash);

  if (entry.amounts !== undefined) {
    const expected = objectField(entry, 'amounts', '');
    check.integer('amounts.baseAmount', field(expected, 'baseAmount', 'amounts.'), amounts.baseAmount);
    check.integer('amounts.quoteAmount', field(expected, 'quoteAmount', 'amounts.'), amounts.quoteAmount);
    check.integer('amounts.feeAmount', field(expected, 'feeAmount', 'amounts.'), amounts.feeAmount);
    for (const key of Object.keys(expected)) {
      if (!['baseAmount', 'quoteAmount', 'feeAmount'].includes(key))
        check.fail(`unknown field amounts.${key}`);
    }
  }
  if (entry.hash_elements !== undefined) {
    const expected = objectField(entry, 'hash_elements', '');
    const elements = extendedOrderHashElements(order);
    HASH_ELEMENT_KEYS.forEach((key, i) => {
      if (expected[key] !== undefined) check.integer(`hash_elements.${key}`, expected[key], elements[i]!);
      else check.fail(`missing field hash_elements.${key}`);
    });
    for (const key of Object.keys(expected)) {
      if (!(HASH_ELEMENT_KEYS as readonly string[]).includes(key))
        check.fail(`unknown field hash_elements.${key}`);
    }
  }
  const simple: Record<string, bigint> = {
    domain_type_hash: snip12TypeSelector(STARKNET_DOMAIN_TYPE),
    domain_hash: starknetDomainHash(domain),
    order_struct_hash: extendedOrderStructHash(order),
    order_msg_hash: messageHash,
    order_msg_hash_decimal: messageHash,
  };
  for (const [key, got] of Object.entries(simple)) {
    if (entry[key] !== undefined) check.integer(key, entry[key], got);
  }
  for (const key of ['signature_ccxt', 'signature_official_wasm']) {
    if (entry[key] !== undefined) checkSignature(check, key, entry[key], signature, messageHash, publicKey);
  }
  if (entry.ccxt_signature_equals_official_wasm !== undefined) {
    const a = signatureOf(entry.signature_ccxt, 'signature_ccxt');
    const b = signatureOf(entry.signature_official_wasm, 'signature_official_wasm');
    const equal = a.r === b.r && a.s === b.s;
    check.truth(
      'ccxt_signature_equals_official_wasm',
      equal === (entry.ccxt_signature_equals_official_wasm === true),
      `the file says ${String(entry.ccxt_signature_equals_official_wasm)}, the two signatures ${equal ? 'are' : 'are not'} equal`,
    );
  }
  if (entry.official_expected !== undefined) {
    const official = objectField(entry, 'official_expected', '');
    if (official.id !== undefined) check.integer('official_expected.id', official.id, messageHash);
    if (official.r !== undefined || official.s !== undefined) {
      checkSignature(check, 'official_expected', official, signature, messageHash, publicKey);
    }
    if (official.debuggingAmounts !== undefined) {
      const debugging = objectField(official, 'debuggingAmounts', 'official_expected.');
      const got: Record<string, bigint> = {
        syntheticAmount: amounts.baseAmount,
        collateralAmount: amounts.quoteAmount,
        feeAmount: amounts.feeAmount,
      };
      for (const [key, value] of Object.entries(debugging)) {
        if (got[key] === undefined) check.fail(`unknown field official_expected.debuggingAmounts.${key}`);
        else check.integer(`official_expected.debuggingAmounts.${key}`, value, got[key]);
      }
    }
    check.read(...['id', 'r', 's', 'debuggingAmounts', 'matches'].map((k) => `official_expected.${k}`));
    check.unknownKeys(official, 'official_expected.');
  }
  check.read(
    'stark_public_key',
    'amounts',
    'hash_elements',
    ...Object.keys(simple),
    'signature_ccxt',
    'signature_official_wasm',
    'ccxt_signature_equals_official_wasm',
    'official_expected',
  );
  check.unknownKeys(entry);
}

/**
 * The end-to-end request body: its settlement is recomputed from the request's own fields
 * (size, price, fee plus builder fee, expiry, nonce, vault) with the market config and chain
 * of the `orders` case for the same market and Stark key, and its signature must verify.
 */
function runRequestCase(check: CaseCheck, entry: Json, orders: unknown): void {
  const request = objectField(entry, 'request', '');
  const settlement = objectField(request, 'settlement', 'request.');
  const marketName = stringField(request, 'market', 'request.');
  const starkKey = parseInteger(
    field(settlement, 'starkKey', 'request.settlement.'),
    'request.settlement.starkKey',
  );
  const source = (Array.isArray(orders) ? orders : []).find((order): order is Json => {
    if (!isObject(order) || !isObject(order.inputs) || !isObject(order.inputs.market)) return false;
    if (order.inputs.market.name !== marketName || order.stark_public_key === undefined) return false;
    try {
      return parseInteger(order.stark_public_key, 'stark_public_key') === starkKey;
    } catch {
      return false;
    }
  });
  if (!source)
    throw new Error(`no orders case gives the l2Config of ${marketName} for stark key ${feltHex(starkKey)}`);
  const inputs = source.inputs as Json;
  const side = stringField(request, 'side', 'request.').toLowerCase();
  if (side !== 'buy' && side !== 'sell') throw new Error(`request.side must be BUY or SELL, got ${side}`);
  const fee = stringField(request, 'fee', 'request.');
  const builderFee = request.builderFee === undefined ? '0' : stringField(request, 'builderFee', 'request.');
  const market = inputs.market as Json;
  const hash = orderSettlementHash(
    {
      chainId: inputs.chainId as ExtendedChainId,
      market: {
        collateralId: market.collateralId as string,
        syntheticId: market.syntheticId as string,
        syntheticResolution: market.syntheticResolution as number,
        collateralResolution: market.collateralResolution as number,
      },
      side,
      qty: stringField(request, 'qty', 'request.'),
      price: stringField(request, 'price', 'request.'),
      totalFee: sumDecimalText(fee, builderFee),
      expiryEpochMillis: field(request, 'expiryEpochMillis', 'request.') as number,
      nonce: field(request, 'nonce', 'request.') as string,
      vault: field(settlement, 'collateralPosition', 'request.settlement.') as string,
    },
    starkKey,
  );
  if (entry.order_msg_hash !== undefined) check.integer('order_msg_hash', entry.order_msg_hash, hash);
  checkSignature(check, 'request.settlement.signature', settlement.signature, undefined, hash, starkKey);
  check.read('request', 'order_msg_hash');
  check.unknownKeys(entry);
}

/** fee + builder fee, exactly (decimal text). */
function sumDecimalText(a: string, b: string): string {
  return toWire(parseDecimal(a, 'request.fee').plus(parseDecimal(b, 'request.builderFee')));
}

function runRustCase(check: CaseCheck, entry: Json): void {
  const expectedKeys = ['expected', 'expected_hex', 'expected_decimal', 'value_hex', 'value_decimal'];
  let got: bigint;
  let what: string;
  if (entry.type_string !== undefined) {
    got = snip12TypeSelector(stringField(entry, 'type_string', ''));
    what = 'selector';
  } else if (entry.order !== undefined) {
    const o = objectField(entry, 'order', '');
    const order = {
      positionId: parseInteger(field(o, 'position_id', 'order.'), 'order.position_id'),
      baseAssetId: parseInteger(field(o, 'base_asset_id', 'order.'), 'order.base_asset_id'),
      baseAmount: parseInteger(field(o, 'base_amount', 'order.'), 'order.base_amount'),
      quoteAssetId: parseInteger(field(o, 'quote_asset_id', 'order.'), 'order.quote_asset_id'),
      quoteAmount: parseInteger(field(o, 'quote_amount', 'order.'), 'order.quote_amount'),
      feeAssetId: parseInteger(field(o, 'fee_asset_id', 'order.'), 'order.fee_asset_id'),
      feeAmount: parseInteger(field(o, 'fee_amount', 'order.'), 'order.fee_amount'),
      expiration: parseInteger(field(o, 'expiration_seconds', 'order.'), 'order.expiration_seconds'),
      salt: parseInteger(field(o, 'salt', 'order.'), 'order.salt'),
    };
    const known = new Set([
      'position_id',
      'base_asset_id',
      'base_amount',
      'quote_asset_id',
      'quote_amount',
      'fee_asset_id',
      'fee_amount',
      'expiration_seconds',
      'salt',
    ]);
    for (const key of Object.keys(o)) if (!known.has(key)) check.fail(`unknown field order.${key}`);
    const hasKey = entry.user_public_key_hex !== undefined || entry.user_public_key_decimal !== undefined;
    if (hasKey) {
      const keys = [entry.user_public_key_hex, entry.user_public_key_decimal].filter((k) => k !== undefined);
      const publicKey = parseInteger(keys[0], 'user_public_key');
      if (keys.length === 2)
        check.integer('user_public_key_decimal', entry.user_public_key_decimal, publicKey);
      got = snip12MessageHash(
        domainOf(field(entry, 'domain', '')),
        publicKey,
        extendedOrderStructHash(order),
      );
      what = 'order message hash';
    } else {
      if (entry.domain !== undefined)
        throw new Error('an order with a domain needs user_public_key_hex or _decimal');
      got = extendedOrderStructHash(order);
      what = 'order struct hash';
    }
  } else if (entry.domain !== undefined) {
    got = starknetDomainHash(domainOf(entry.domain));
    what = 'domain hash';
  } else {
    throw new Error('not a selector (type_string), order (order) or domain (domain) vector');
  }
  // `ok` is the official test's verdict: false would mean the expected value is known wrong.
  const shouldMatch = entry.ok !== false;
  const present = expectedKeys.filter((key) => entry[key] !== undefined);
  if (present.length === 0) throw new Error(`no expected ${what} (${expectedKeys.join(', ')})`);
  for (const key of present) {
    if (shouldMatch) check.integer(`${key} (${what})`, entry[key], got);
    else
      check.truth(
        `${key} (${what})`,
        parseInteger(entry[key], key) !== got,
        'the official test fails on this value (ok: false), but it matches',
      );
  }
  check.read(
    ...expectedKeys,
    'ok',
    'type_string',
    'order',
    'domain',
    'user_public_key_hex',
    'user_public_key_decimal',
  );
  check.unknownKeys(entry);
}

/** A domain as an object {name, version, chainId, revision} or as "SN_SEPOLIA / Perpetuals / v0 / revision 1". */
function domainOf(value: unknown): StarknetDomain {
  if (isObject(value)) {
    return {
      name: stringField(value, 'name', 'domain.'),
      version: stringField(value, 'version', 'domain.'),
      chainId: stringField(value, 'chainId', 'domain.'),
      revision: parseInteger(field(value, 'revision', 'domain.'), 'domain.revision'),
    };
  }
  if (typeof value === 'string') {
    const match = /^\s*(\S+)\s*\/\s*(\S+)\s*\/\s*(\S+)\s*\/\s*revision\s+(\d+)\s*$/.exec(value);
    if (match)
      return { chainId: match[1]!, name: match[2]!, version: match[3]!, revision: BigInt(match[4]!) };
  }
  throw new Error(`domain: not {name, version, chainId, revision} nor "CHAIN / name / version / revision N"`);
}

function runKeyCase(check: CaseCheck, entry: Json): void {
  const privateKey = field(entry, 'stark_private_key', '') as string;
  check.integer('stark_public_key', field(entry, 'stark_public_key', ''), starkPublicKey(privateKey));
  check.read('stark_private_key', 'stark_public_key');
  check.unknownKeys(entry);
}

function caseName(entry: unknown, key: string, index: number): string {
  return isObject(entry) && typeof entry[key] === 'string' ? (entry[key] as string) : `#${index}`;
}

function listSection(
  section: string,
  list: unknown,
  nameKey: string,
  body: (check: CaseCheck, entry: Json) => void,
): VectorCaseResult[] {
  if (!Array.isArray(list)) return [{ section, name: '(section)', ok: false, detail: 'not a list of cases' }];
  if (list.length === 0) return [{ section, name: '(section)', ok: false, detail: 'no cases' }];
  return list.map((entry, i) =>
    runCase(section, caseName(entry, nameKey, i), (check) => {
      if (!isObject(entry)) throw new Error('the case is not an object');
      body(check, entry);
    }),
  );
}

/** Every section and case of an Extended vectors file, in file order. */
export function runExtendedVectors(file: unknown): VectorCaseResult[] {
  if (!isObject(file)) return [{ section: 'file', name: '(file)', ok: false, detail: 'not a JSON object' }];
  const results: VectorCaseResult[] = [];
  for (const [section, value] of Object.entries(file)) {
    if (METADATA_KEYS.has(section)) continue;
    switch (section) {
      case 'orders':
        results.push(...listSection(section, value, 'name', runOrderCase));
        break;
      case 'stark_keys':
        results.push(...listSection(section, value, 'name', runKeyCase));
        break;
      case 'official_rust_unit_tests': {
        if (!isObject(value)) {
          results.push({ section, name: '(section)', ok: false, detail: 'not an object with vectors' });
          break;
        }
        results.push(...listSection(section, value.vectors, 'test', runRustCase));
        const extra = Object.keys(value).filter((k) => k !== 'vectors' && k !== 'source' && k !== 'note');
        for (const key of extra) {
          results.push({
            section,
            name: key,
            ok: false,
            detail: `unknown field ${section}.${key}: not checked`,
          });
        }
        break;
      }
      case 'ccxt_create_order_request':
        results.push(
          runCase(
            section,
            isObject(value) && isObject(value.request) ? String(value.request.id ?? 'request') : 'request',
            (check) => {
              if (!isObject(value)) throw new Error('not an object with request and order_msg_hash');
              runRequestCase(check, value, file.orders);
            },
          ),
        );
        break;
      default:
        results.push({
          section,
          name: '(section)',
          ok: false,
          detail: 'unknown section: this runner cannot check it',
        });
    }
  }
  if (results.length === 0)
    results.push({ section: 'file', name: '(file)', ok: false, detail: 'no test sections' });
  return results;
}

/** Runs the bundled Extended vectors: the start-up self-test of a process that signs Extended orders. */
export function extendedSelfTest(): VectorCaseResult[] {
  return runBundledVectors('extended', runExtendedVectors);
}
