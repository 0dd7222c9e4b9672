import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { FELT_PRIME } from './felt.js';
import { StarkSigner, starkPublicKey, verifyStarkSignature } from './stark.js';

// Test keys of Extended's python SDK fixtures (public test data).
const PRIVATE_KEY = '0x7a7ff6fd3cab02ccdcd4a572563f5976f8976899b03a39773795a3c486d4986';
const PUBLIC_KEY = 0x61c5e7e8339b7d56f197f54ea91b776776690e3232313de0f2ecbd0ef76f466n;
const HASH = 0x6909589f9151be3f75b334a043904d92d6cb53c8a927c85c2e2c769ee75a0d9n;
const R = 0x604ef07147d4251385eaaa630e6a71db8f0a8c7cb33021c98698047db80edfan;
const S = 0x6c707d9a06604d3f8ffd34378bf4fce7c0aaf50cba4cf37c3525c323106cda5n;

describe('Stark keys and ECDSA', () => {
  test('public key of a private key', () => {
    assert.equal(starkPublicKey(PRIVATE_KEY), PUBLIC_KEY);
    assert.equal(starkPublicKey(1n), 0x1ef15c18599971b7beced415a40f0c7deacfd9b0d1819e03d723d8bc943cfcan);
  });

  test('RFC 6979 signing reproduces the official signature, and it verifies', () => {
    const signer = new StarkSigner(PRIVATE_KEY);
    assert.equal(signer.publicKey, PUBLIC_KEY);
    assert.deepEqual(signer.signHash(HASH), { r: R, s: S });
    assert.ok(verifyStarkSignature(HASH, { r: R, s: S }, PUBLIC_KEY));
  });

  test('a tampered signature, hash or key does not verify (and never throws)', () => {
    assert.equal(verifyStarkSignature(HASH, { r: R ^ 1n, s: S }, PUBLIC_KEY), false);
    assert.equal(verifyStarkSignature(HASH, { r: R, s: S + 1n }, PUBLIC_KEY), false);
    assert.equal(verifyStarkSignature(HASH + 1n, { r: R, s: S }, PUBLIC_KEY), false);
    assert.equal(verifyStarkSignature(HASH, { r: R, s: S }, PUBLIC_KEY + 1n), false);
    assert.equal(verifyStarkSignature(HASH, { r: 0n, s: 0n }, PUBLIC_KEY), false);
    assert.equal(verifyStarkSignature(HASH, { r: 1n, s: 1n }, PUBLIC_KEY), false, 'a placeholder signature');
    assert.equal(verifyStarkSignature(FELT_PRIME, { r: R, s: S }, PUBLIC_KEY), false);
    assert.equal(verifyStarkSignature(HASH, { r: -1n, s: S }, PUBLIC_KEY), false);
  });

  test('a signature from another key does not verify', () => {
    const other = new StarkSigner(2n);
    assert.equal(verifyStarkSignature(HASH, other.signHash(HASH), PUBLIC_KEY), false);
    assert.ok(verifyStarkSignature(HASH, other.signHash(HASH), other.publicKey));
  });

  test('the private key never shows: not in JSON, inspect, string, nor in errors', () => {
    const signer = new StarkSigner(PRIVATE_KEY);
    const secret = PRIVATE_KEY.slice(2);
    const decimal = BigInt(PRIVATE_KEY).toString();
    for (const shown of [JSON.stringify(signer), inspect(signer, { showHidden: true }), String(signer)]) {
      assert.ok(!shown.includes(secret) && !shown.includes(decimal), shown);
    }
    const tooBig = `0x${'f'.repeat(64)}`;
    assert.throws(
      () => new StarkSigner(tooBig),
      (e: Error) => /starkPrivateKey/.test(e.message) && !e.message.includes('f'.repeat(20)),
    );
    assert.throws(
      () => new StarkSigner('not-a-key-secret'),
      (e: Error) => /starkPrivateKey/.test(e.message) && !e.message.includes('not-a-key-secret'),
    );
    assert.throws(() => new StarkSigner(0n), /starkPrivateKey/);
  });
});
