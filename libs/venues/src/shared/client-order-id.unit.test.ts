import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  binanceClientOrderIdCodec,
  type ClientOrderIdCodec,
  ClientOrderIdMap,
  clientOrderIdCodec,
  hyperliquidClientOrderIdCodec,
  identityClientOrderIdCodec,
  lighterClientOrderIdCodec,
  okxClientOrderIdCodec,
} from './client-order-id.js';

/** Ids of every shape ours takes: short, UUID, with _ and -, numeric, the 36-character maximum. */
const OURS = [
  'a',
  'ord1',
  'strat-7_abc',
  '0190a3f0-6d2e-7c1b-9f3a-2b5c8d9e0f11',
  '01J9ZQ4V6K8M2N3P4Q5R6S7T8V',
  '123456',
  '140737488355328',
  '9'.repeat(20),
  'x'.repeat(36),
  'A_B-C',
];

const VENUE_FORMS: [string, ClientOrderIdCodec, RegExp][] = [
  ['binanceusdm', binanceClientOrderIdCodec, /^[A-Za-z0-9._-]{1,36}$/],
  ['okx', okxClientOrderIdCodec, /^[A-Za-z0-9]{1,32}$/],
  ['hyperliquid', hyperliquidClientOrderIdCodec, /^0x[0-9a-f]{32}$/],
  ['lighter', lighterClientOrderIdCodec, /^[0-9]{1,15}$/],
];

describe('clientOrderIdCodec', () => {
  for (const [kind, codec, form] of VENUE_FORMS) {
    test(`${kind}: every id of ours encodes to the venue's form, deterministically, and back where reversible`, () => {
      assert.equal(clientOrderIdCodec(kind), codec);
      for (const id of OURS) {
        const venueId = codec.encode(id);
        assert.match(venueId, form, `${kind} ${id} -> ${venueId}`);
        assert.equal(codec.encode(id), venueId, 'deterministic');
        const back = codec.decode(venueId);
        // Reversible forms give our id back; hashed ones give nothing, never another id.
        assert.ok(back === undefined || back === id, `${kind} ${id} decoded to ${back}`);
      }
    });

    test(`${kind}: 20 000 distinct ids give 20 000 distinct venue ids`, () => {
      const seen = new Map<string, string>();
      for (let i = 0; i < 20_000; i += 1) {
        for (const id of [`o${i}`, `strategy-arb_${i}-0190a3f0-6d2e-7c1b`, String(i)]) {
          const venueId = codec.encode(id);
          const before = seen.get(venueId);
          assert.ok(before === undefined || before === id, `${kind}: ${id} and ${before} both -> ${venueId}`);
          seen.set(venueId, id);
        }
      }
    });
  }

  test('round trips where the format allows', () => {
    assert.equal(
      binanceClientOrderIdCodec.decode(binanceClientOrderIdCodec.encode(OURS[3] as string)),
      OURS[3],
    );
    assert.equal(okxClientOrderIdCodec.encode('ord1'), 'ord1');
    assert.equal(okxClientOrderIdCodec.decode('ord1'), 'ord1');
    assert.equal(hyperliquidClientOrderIdCodec.encode('ord1'), '0x046f7264310000000000000000000000');
    assert.equal(
      hyperliquidClientOrderIdCodec.decode(hyperliquidClientOrderIdCodec.encode('strat-7_abc')),
      'strat-7_abc',
    );
    assert.equal(lighterClientOrderIdCodec.encode('123456'), '123456');
    assert.equal(lighterClientOrderIdCodec.decode('123456'), '123456');
  });

  test('hashed forms are not mistaken for ours', () => {
    const uuid = OURS[3] as string;
    assert.equal(okxClientOrderIdCodec.encode(uuid).length, 32);
    assert.equal(okxClientOrderIdCodec.decode(okxClientOrderIdCodec.encode(uuid)), undefined);
    assert.equal(hyperliquidClientOrderIdCodec.decode(hyperliquidClientOrderIdCodec.encode(uuid)), undefined);
    const hashedIndex = BigInt(lighterClientOrderIdCodec.encode(uuid));
    assert.ok(hashedIndex >= 2n ** 47n && hashedIndex < 2n ** 48n);
    assert.equal(lighterClientOrderIdCodec.decode(hashedIndex.toString()), undefined);
    assert.equal(hyperliquidClientOrderIdCodec.decode('0xzz'), undefined);
  });

  test('unknown kinds (paper) keep our id', () => {
    assert.equal(clientOrderIdCodec('paper'), identityClientOrderIdCodec);
    assert.equal(identityClientOrderIdCodec.encode('strat-7_abc'), 'strat-7_abc');
  });
});

describe('ClientOrderIdMap', () => {
  test('names our order from a hashed venue id it encoded, and forgets the oldest past capacity', () => {
    const map = new ClientOrderIdMap(okxClientOrderIdCodec, 2);
    const a = map.toVenue('a-1');
    const b = map.toVenue('b-2');
    assert.equal(map.fromVenue(a), 'a-1');
    map.toVenue('c-3');
    assert.equal(map.fromVenue(a), undefined, 'the oldest was forgotten');
    assert.equal(map.fromVenue(b), 'b-2');
    assert.equal(map.fromVenue('plain1'), 'plain1', 'reversible ids need no memory');
    assert.throws(() => new ClientOrderIdMap(okxClientOrderIdCodec, 0), /capacity/);
  });
});
