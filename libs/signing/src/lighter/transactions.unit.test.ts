/** Lighter transactions and auth token: signed tx_info verifies and round-trips, tampering fails, bad fields are named. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLighterAuthToken, parseLighterAuthToken, verifyLighterAuthToken } from './auth-token.js';
import { LighterPrivateKey } from './keys.js';
import {
  LIGHTER_CHAIN_ID,
  LIGHTER_TX_TYPE,
  type LighterCreateOrderTx,
  lighterTxHash,
  lighterTxHashElements,
  parseLighterTxInfo,
  signLighterTx,
  verifyLighterTxInfo,
} from './transactions.js';

const key = LighterPrivateKey.fromHex(
  '3b5633aae031f11c6a7142a8baff54ab585f614582aceb29f5a33b7cb3e9ae8b41b4f6d4bd0c1607',
);
const order: LighterCreateOrderTx = {
  txType: LIGHTER_TX_TYPE.createOrder,
  accountIndex: 77n,
  apiKeyIndex: 5,
  marketIndex: 0,
  clientOrderIndex: 556n,
  baseAmount: 1_000_000n,
  price: 60_000,
  isAsk: 0,
  orderType: 0,
  timeInForce: 1,
  reduceOnly: 0,
  triggerPrice: 0,
  orderExpiry: 9_223_372_036_854_775_807n,
  expiredAt: 1_767_225_600_000n,
  nonce: 4n,
};

describe('Lighter transactions', () => {
  test('a signed create order verifies from its tx_info and parses back exactly', () => {
    const signed = signLighterTx(order, { chainId: LIGHTER_CHAIN_ID.mainnet, key, attributes: { 4: 1 } });
    assert.equal(signed.txType, 14);
    assert.match(signed.txInfo, /"OrderExpiry":9223372036854775807,/);
    assert.match(signed.txInfo, /"L2TxAttributes":\{"4":1\}\}$/);
    assert.equal(verifyLighterTxInfo(14, signed.txInfo, LIGHTER_CHAIN_ID.mainnet, key.publicKeyBytes), true);
    const parsed = parseLighterTxInfo(14, signed.txInfo);
    assert.equal((parsed.tx as LighterCreateOrderTx).orderExpiry, order.orderExpiry);
    assert.deepEqual(parsed.signature, signed.signature);
    assert.deepEqual(
      lighterTxHash(parsed.tx, LIGHTER_CHAIN_ID.mainnet, parsed.attributes),
      lighterTxHash(order, LIGHTER_CHAIN_ID.mainnet, { 4: 1 }),
    );
  });

  test('tampering, another chain, another key or a placeholder signature fails', () => {
    const signed = signLighterTx(order, { chainId: LIGHTER_CHAIN_ID.mainnet, key });
    const pk = key.publicKeyBytes;
    assert.equal(
      verifyLighterTxInfo(14, signed.txInfo.replace('"Price":60000', '"Price":60001'), 304, pk),
      false,
    );
    assert.equal(verifyLighterTxInfo(14, signed.txInfo, LIGHTER_CHAIN_ID.testnet, pk), false);
    assert.equal(verifyLighterTxInfo(15, signed.txInfo, 304, pk), false);
    const otherKey = LighterPrivateKey.fromHex(`02${'0'.repeat(78)}`);
    assert.equal(verifyLighterTxInfo(14, signed.txInfo, 304, otherKey.publicKeyBytes), false);
    const placeholder = signed.txInfo.replace(
      /"Sig":"[^"]*"/,
      `"Sig":"${Buffer.alloc(80).toString('base64')}"`,
    );
    assert.equal(verifyLighterTxInfo(14, placeholder, 304, pk), false);
    assert.equal(verifyLighterTxInfo(14, '{not json', 304, pk), false);
  });

  test('attributes with nil values do not change the hash', () => {
    assert.deepEqual(lighterTxHash(order, 304, { 6: 0 }), lighterTxHash(order, 304));
    assert.notDeepEqual(lighterTxHash(order, 304, { 6: 1 }), lighterTxHash(order, 304));
  });

  test('out-of-range or missing fields are refused by name', () => {
    assert.throws(() => lighterTxHash({ ...order, price: 2 ** 32 }, 304), /price/);
    assert.throws(() => lighterTxHash({ ...order, apiKeyIndex: 256 }, 304), /apiKeyIndex/);
    assert.throws(() => lighterTxHash({ ...order, baseAmount: 1.5 }, 304), /baseAmount/);
    assert.throws(() => lighterTxHash(order, 304, { 9: 1 }), /attribute 9/);
    assert.throws(() => parseLighterTxInfo(14, '{"AccountIndex":1}'), /ApiKeyIndex/);
  });

  test('cancel order signs and verifies', () => {
    const cancel = {
      txType: LIGHTER_TX_TYPE.cancelOrder,
      accountIndex: 1n,
      apiKeyIndex: 4,
      marketIndex: 0,
      index: 12345n,
      expiredAt: 1_767_225_600_000n,
      nonce: 43n,
    } as const;
    const signed = signLighterTx(cancel, { chainId: 304, key });
    assert.match(
      signed.txInfo,
      /^\{"AccountIndex":1,"ApiKeyIndex":4,"MarketIndex":0,"Index":12345,"ExpiredAt":/,
    );
    assert.equal(verifyLighterTxInfo(15, signed.txInfo, 304, key.publicKeyBytes), true);
  });

  test('update leverage hashes chain, type, nonce, expiry, then its fields in order', () => {
    const tx = {
      txType: LIGHTER_TX_TYPE.updateLeverage,
      accountIndex: 9n,
      apiKeyIndex: 4,
      marketIndex: 1,
      initialMarginFraction: 500,
      marginMode: 0,
      expiredAt: 1_000n,
      nonce: 2n,
    } as const;
    assert.deepEqual(lighterTxHashElements(tx, 304), [304n, 20n, 2n, 1000n, 9n, 4n, 1n, 500n, 0n]);
    assert.throws(
      () => lighterTxHashElements({ ...tx, initialMarginFraction: 70_000 }, 304),
      /initialMarginFraction/,
    );
    const signed = signLighterTx(tx, { chainId: 304, key });
    assert.equal(verifyLighterTxInfo(20, signed.txInfo, 304, key.publicKeyBytes), true);
  });
});

describe('Lighter auth token', () => {
  test('create, parse and verify; a changed field fails', () => {
    const token = createLighterAuthToken(key, {
      deadlineUnixSeconds: 1_767_225_600,
      accountIndex: 1,
      apiKeyIndex: 4,
    });
    assert.match(token, /^1767225600:1:4:[0-9a-f]{160}$/);
    assert.equal(parseLighterAuthToken(token).accountIndex, 1n);
    assert.equal(verifyLighterAuthToken(token, key.publicKey), true);
    assert.equal(
      verifyLighterAuthToken(token.replace(/^1767225600:1:/, '1767225600:2:'), key.publicKey),
      false,
    );
    assert.equal(verifyLighterAuthToken('garbage', key.publicKey), false);
  });
});
