/** Schnorr over ECgFp5: sign/verify, any flipped bit fails, deterministic nonces, keys never printed, and signing is fast. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import fc from 'fast-check';
import type { Fp5 } from './gfp5.js';
import { fp5ToBytesLE } from './gfp5.js';
import { LighterPrivateKey } from './keys.js';
import { schnorrVerify, schnorrVerifyBytes, signatureToBytes } from './schnorr.js';

const KEY_HEX = '3b5633aae031f11c6a7142a8baff54ab585f614582aceb29f5a33b7cb3e9ae8b41b4f6d4bd0c1607';
const key = LighterPrivateKey.fromHex(KEY_HEX);
const message: Fp5 = [1n, 2n, 3n, 4n, 5n];

describe('Lighter Schnorr', () => {
  test('a signature verifies; the same signature on another message or key does not', () => {
    const sig = key.sign(message);
    assert.equal(schnorrVerify(key.publicKey, message, sig), true);
    assert.equal(schnorrVerify(key.publicKey, [1n, 2n, 3n, 4n, 6n], sig), false);
    const other = LighterPrivateKey.fromHex(`02${'0'.repeat(78)}`);
    assert.equal(schnorrVerify(other.publicKey, message, sig), false);
  });

  test('any flipped bit of the 80-byte signature fails verification', () => {
    const sigBytes = signatureToBytes(key.sign(message));
    const pk = fp5ToBytesLE(key.publicKey);
    const hm = fp5ToBytesLE(message);
    assert.equal(schnorrVerifyBytes(pk, hm, sigBytes), true);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 80 * 8 - 1 }), (bit) => {
        const flipped = Uint8Array.from(sigBytes);
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        assert.equal(schnorrVerifyBytes(pk, hm, flipped), false, `bit ${bit}`);
      }),
      { numRuns: 25 },
    );
    assert.equal(schnorrVerifyBytes(pk, hm, sigBytes.subarray(0, 79)), false, 'short signature');
    assert.equal(schnorrVerifyBytes(pk, hm, new Uint8Array(80)), false, 'all-zero signature');
  });

  test('the neutral public key is refused', () => {
    assert.equal(schnorrVerify([0n, 0n, 0n, 0n, 0n], message, key.sign(message)), false);
  });

  test('nonces are deterministic per (key, message) and differ across messages', () => {
    assert.deepEqual(key.sign(message), key.sign(message));
    assert.notDeepEqual(key.sign(message).s, key.sign([9n, 2n, 3n, 4n, 5n]).s);
  });

  test('the private key never prints, serializes or shows in an error', () => {
    for (const text of [String(key), JSON.stringify({ key }), inspect(key), inspect({ nested: key })]) {
      assert.ok(!text.includes(KEY_HEX.slice(0, 12)), text);
    }
    for (const bad of [KEY_HEX.slice(0, 78), `${KEY_HEX}00`, `${KEY_HEX.slice(0, 78)}zz`]) {
      assert.throws(
        () => LighterPrivateKey.fromHex(bad),
        (err: Error) => !err.message.includes(bad.slice(0, 12)) && /Lighter private key/.test(err.message),
      );
    }
    assert.throws(() => LighterPrivateKey.fromHex('0'.repeat(80)), /not a usable key/);
  });

  test('signing takes milliseconds', () => {
    key.sign([0n, 0n, 0n, 0n, 1n]); // the one-off generator table
    const started = performance.now();
    for (let i = 0; i < 10; i++) key.sign([BigInt(i), 7n, 7n, 7n, 7n]);
    const perSignMs = (performance.now() - started) / 10;
    assert.ok(perSignMs < 100, `one signature took ${perSignMs.toFixed(1)} ms`);
  });
});
