import assert from 'node:assert/strict';
import { test } from 'node:test';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { addressOf, l1ActionDigest, recoverSigner } from './signing.js';

const KEY = '11'.repeat(32);

function sign(digest: Uint8Array, key: string) {
  const sig = secp256k1.Signature.fromBytes(
    secp256k1.sign(digest, Buffer.from(key, 'hex'), { prehash: false, format: 'recovered' }),
    'recovered',
  );
  return { r: `0x${sig.r.toString(16)}`, s: `0x${sig.s.toString(16)}`, v: 27 + (sig.recovery ?? 0) };
}

test('the signer of an L1 action is recovered; any change to action, nonce or network changes it', () => {
  const action = { type: 'cancel', cancels: [{ a: 0, o: 42 }] };
  const digest = l1ActionDigest(action, 1_765_000_000_000, undefined, false);
  const signature = sign(digest, KEY);
  assert.equal(recoverSigner(digest, signature), addressOf(KEY));
  for (const other of [
    l1ActionDigest({ type: 'cancel', cancels: [{ a: 0, o: 43 }] }, 1_765_000_000_000, undefined, false),
    l1ActionDigest(action, 1_765_000_000_001, undefined, false),
    l1ActionDigest(action, 1_765_000_000_000, undefined, true),
  ]) {
    assert.notEqual(recoverSigner(other, signature), addressOf(KEY));
  }
});
