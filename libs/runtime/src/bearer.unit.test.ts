import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bearerToken } from './bearer.js';

describe('bearerToken', () => {
  test('the scheme in any case', () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      assert.equal(bearerToken(`${scheme} tok-1`), 'tok-1', scheme);
    }
  });

  test('spaces or tabs between scheme and token, whitespace around the value ignored', () => {
    assert.equal(bearerToken('Bearer    tok'), 'tok');
    assert.equal(bearerToken('Bearer\ttok'), 'tok');
    assert.equal(bearerToken('  Bearer tok  '), 'tok');
    assert.equal(bearerToken('Bearer tok\r\n'), 'tok');
  });

  test('no token: absent, empty, only the scheme, whitespace inside, another scheme', () => {
    for (const value of [
      undefined,
      '',
      '   ',
      'Bearer',
      'Bearer ',
      'Bearer    ',
      'Bearertok',
      'Bearer tok en',
      'Basic dXNlcjpwYXNz',
      'tok',
    ]) {
      assert.equal(bearerToken(value), undefined, JSON.stringify(value));
    }
  });

  test('token characters are kept as sent (base64, base64url, padding)', () => {
    assert.equal(bearerToken('Bearer a+b/c=='), 'a+b/c==');
    assert.equal(bearerToken('Bearer a-b_c~d.e'), 'a-b_c~d.e');
  });
});
