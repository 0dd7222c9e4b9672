import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { orderSettlementHash, settlementBody, signOrderSettlement } from './settlement.js';
import { StarkSigner, verifyStarkSignature } from './stark.js';

// The vectors' mainnet BTC buy (ccxt's sample l2Config), as an adapter would sign it:
// fee 0.0005 + builder fee 0.0001, expiry 2026-01-31T00:00Z, nonce 2026, vault 123456.
const INPUT = {
  chainId: 'SN_MAIN' as const,
  market: {
    collateralId: '0x1',
    syntheticId: '0x4254432d3600000000000000000000',
    syntheticResolution: 1000000,
    collateralResolution: 1000000,
  },
  side: 'buy' as const,
  qty: '0.01234',
  price: '97123',
  totalFee: '0.0006',
  expiryEpochMillis: 1769817600000,
  nonce: 2026,
  vault: '123456',
};
const PRIVATE_KEY = '0x3c1e9550e66958296d11b60f8e8e7a7ad990d07fa65d5f7652c4a6c87d4e3cc';

describe('Extended order settlement', () => {
  test('reproduces the settlement of the official request body', () => {
    const settlement = signOrderSettlement(INPUT, new StarkSigner(PRIVATE_KEY));
    assert.deepEqual(settlement.amounts, {
      baseAmount: 12340n,
      quoteAmount: -1198497820n,
      feeAmount: 719099n,
    });
    assert.equal(settlement.order.expiration, 1771027200n);
    assert.equal(settlement.messageHash, 0x2a27b21695b91ec1f0243f34e98260901e3cccaa729dc23adc53cf032f86858n);
    assert.deepEqual(settlementBody(settlement), {
      signature: {
        r: '0x719bae731ab3f97ec3c417b024c35cf462b64d4fce5a33dc5cdfcc6e347a2de',
        s: '0x7eb9f690af423cf0713a02b67168deb12e4f16c3b450037d631e3823d1bcb0e',
      },
      starkKey: '0x77a3b314db07c45076d11f62b6f9e748a39790441823307743cf00d6597ea43',
      collateralPosition: '123456',
    });
  });

  test('a verifier recomputes the hash from the order and the key, and a changed order does not verify', () => {
    const signer = new StarkSigner(PRIVATE_KEY);
    const { signature } = signOrderSettlement(INPUT, signer);
    assert.ok(
      verifyStarkSignature(orderSettlementHash(INPUT, signer.publicKey), signature, signer.publicKey),
    );
    for (const changed of [
      { ...INPUT, qty: '0.01235' },
      { ...INPUT, side: 'sell' as const },
      { ...INPUT, chainId: 'SN_SEPOLIA' as const },
      { ...INPUT, nonce: 2027 },
      { ...INPUT, vault: '123457' },
    ]) {
      assert.equal(
        verifyStarkSignature(orderSettlementHash(changed, signer.publicKey), signature, signer.publicKey),
        false,
      );
    }
  });
});
