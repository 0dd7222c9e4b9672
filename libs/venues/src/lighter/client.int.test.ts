/**
 * How LighterHttp reads a `sendTxBatch` answer, against a local HTTP server that answers what
 * the test sets: how many transactions the venue took, the refusal of the next one, and a
 * refusal or a lost answer that does not say how far it got (every transaction unknown).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { RequestBudget } from '../ccxt/budget.js';
import { VenueRejectedError, VenueUnknownOutcomeError } from '../errors.js';
import { LighterHttp } from './client.js';

let server: Server;
let http: LighterHttp;
let answer: { status: number; body: string } = { status: 200, body: '{}' };
let lastBody = '';

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      lastBody = Buffer.concat(chunks).toString('utf8');
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  http = new LighterHttp({
    venue: 'lighter',
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    callTimeoutMs: 5_000,
    budget: new RequestBudget('lighter', { capacity: 100, perSecond: 100, maxWaitMs: 1_000 }),
  });
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const reply = (status: number, body: unknown) => {
  answer = { status, body: typeof body === 'string' ? body : JSON.stringify(body) };
};

describe('LighterHttp.sendTxBatch', () => {
  test('sends tx_types and tx_infos as JSON arrays; an answer without a refusal took every transaction', async () => {
    reply(200, { code: 200, tx_hash: ['a', 'b', 'c'], volume_quota_remaining: 7 });
    const got = await http.sendTxBatch([14, 14, 14], ['{"n":1}', '{"n":2}', '{"n":3}']);
    assert.equal(got.taken, 3);
    assert.equal(got.refusal, undefined);
    assert.equal(got.reply.volume_quota_remaining, 7);
    const form = new URLSearchParams(lastBody);
    assert.deepEqual(JSON.parse(form.get('tx_types') ?? ''), [14, 14, 14]);
    assert.deepEqual(JSON.parse(form.get('tx_infos') ?? ''), ['{"n":1}', '{"n":2}', '{"n":3}']);
  });

  test('a refusal with tx_hash: the ones listed were taken, the next one is refused by its code', async () => {
    reply(400, { code: 21104, message: 'invalid nonce', tx_hash: ['a'] });
    const got = await http.sendTxBatch([14, 14, 14], ['1', '2', '3']);
    assert.equal(got.taken, 1);
    assert.ok(got.refusal instanceof VenueRejectedError);
    assert.equal(got.refusal.reason, 'invalid_nonce');
  });

  test('a refusal without tx_hash does not say how far the venue got: taken is unknown', async () => {
    reply(400, { code: 21120, message: 'invalid signature' });
    const got = await http.sendTxBatch([14, 14], ['1', '2']);
    assert.equal(got.taken, undefined);
    assert.ok(got.refusal instanceof VenueRejectedError);
  });

  test('a 5xx or an unreadable answer is an unknown outcome for the whole batch', async () => {
    reply(502, 'Bad Gateway');
    await assert.rejects(http.sendTxBatch([14], ['1']), VenueUnknownOutcomeError);
  });
});
