import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EXTENDED_ORDER_TYPE, extendedOrderMessageHash, extendedOrderStructHash } from './order-hash.js';
import {
  extendedDomain,
  STARKNET_DOMAIN_TYPE,
  snip12TypeSelector,
  starknetDomainHash,
} from './typed-data.js';

// Values of the unit tests in x10xchange/rust-crypto-lib-base src/starknet_messages.rs.
const ORDER = {
  positionId: 1n,
  baseAssetId: 2n,
  baseAmount: 3n,
  quoteAssetId: 4n,
  quoteAmount: 5n,
  feeAssetId: 6n,
  feeAmount: 7n,
  expiration: 8n,
  salt: 9n,
};

describe('SNIP-12 order hash', () => {
  test('type selectors', () => {
    assert.equal(
      snip12TypeSelector(STARKNET_DOMAIN_TYPE),
      0x1ff2f602e42168014d405a94f75e8a93d640751d71d16311266e140d8b0a210n,
    );
    assert.equal(
      snip12TypeSelector(EXTENDED_ORDER_TYPE),
      0x36da8d51815527cabfaa9c982f564c80fa7429616739306036f1f9b608dd112n,
    );
  });

  test('domain hashes of both chains', () => {
    assert.equal(
      starknetDomainHash(extendedDomain('SN_SEPOLIA')),
      2788850828067604540663615870177667078542240404906059806659101905868929188327n,
    );
    assert.equal(
      starknetDomainHash(extendedDomain('SN_MAIN')),
      0x38d7910d4785470e8138ba27e6130abe78124c7f39b2af4c28a5a426e631b79n,
    );
    assert.throws(
      () => starknetDomainHash({ ...extendedDomain('SN_MAIN'), revision: 0 }),
      /domain\.revision/,
    );
  });

  test('order struct hash and message hash', () => {
    assert.equal(
      extendedOrderStructHash(ORDER),
      1329353150252109345267997901008558234696410103652961347079636617692652241760n,
    );
    assert.equal(
      extendedOrderMessageHash(
        ORDER,
        extendedDomain('SN_SEPOLIA'),
        1528491859474308181214583355362479091084733880193869257167008343298409336538n,
      ),
      2788960362996410178586013462192086205585543858281504820767681025777602529597n,
    );
  });

  test('every member changes the hash; an out-of-range member is refused by name', () => {
    const base = extendedOrderStructHash(ORDER);
    for (const key of Object.keys(ORDER) as (keyof typeof ORDER)[]) {
      assert.notEqual(extendedOrderStructHash({ ...ORDER, [key]: ORDER[key] + 1n }), base, key);
    }
    assert.throws(() => extendedOrderStructHash({ ...ORDER, baseAmount: 2n ** 63n }), /order\.baseAmount/);
    assert.throws(() => extendedOrderStructHash({ ...ORDER, feeAmount: -1n }), /order\.feeAmount/);
    assert.throws(() => extendedOrderStructHash({ ...ORDER, positionId: 2n ** 32n }), /order\.positionId/);
  });
});
