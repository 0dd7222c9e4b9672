import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timestampRefusal } from './wire.js';

const NOW = 1_800_000_000_000;

describe('timestampRefusal (Binance recvWindow)', () => {
  it('accepts a timestamp up to 1 s ahead and up to recvWindow behind the venue clock', () => {
    assert.equal(timestampRefusal(String(NOW + 999), undefined, NOW), undefined);
    assert.equal(timestampRefusal(String(NOW - 5_000), undefined, NOW), undefined);
    assert.equal(timestampRefusal(String(NOW - 10_000), '10000', NOW), undefined);
  });

  it('refuses one 1 s or more ahead with -1021', () => {
    assert.equal(timestampRefusal(String(NOW + 1_000), '10000', NOW)?.code, -1021);
    assert.match(timestampRefusal(String(NOW + 1_500), undefined, NOW)?.msg ?? '', /ahead/);
  });

  it('refuses one older than recvWindow with -1021', () => {
    assert.match(timestampRefusal(String(NOW - 5_001), undefined, NOW)?.msg ?? '', /recvWindow/);
    assert.equal(timestampRefusal(String(NOW - 10_001), '10000', NOW)?.code, -1021);
  });

  it('names a missing timestamp and refuses a recvWindow over 60 s', () => {
    assert.equal(timestampRefusal(undefined, undefined, NOW)?.code, -1102);
    assert.equal(timestampRefusal('soon', undefined, NOW)?.code, -1102);
    assert.equal(timestampRefusal(String(NOW), '60001', NOW)?.code, -1131);
  });
});
