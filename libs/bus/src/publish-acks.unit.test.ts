import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { JetStreamApiError } from '@nats-io/jetstream';
import { headers, NoRespondersError } from '@nats-io/transport-node';
import { loadNats } from './nats-modules.js';
import { publishAckOf } from './publish-acks.js';

// nats.js is loaded on first use (NatsEventLog.connect does it); here there is no connect.
before(() => loadNats());

const json = (v: unknown) => ({ data: new TextEncoder().encode(JSON.stringify(v)), headers: undefined });

describe('publishAckOf: a JetStream publish reply as an ack or its error', () => {
  test('an ack: stream, sequence and the duplicate flag', () => {
    assert.deepEqual(publishAckOf('exec.order.a.b', json({ stream: 'EXEC', seq: 42 })), {
      stream: 'EXEC',
      seq: 42,
      duplicate: false,
    });
    assert.deepEqual(publishAckOf('exec.order.a.b', json({ stream: 'EXEC', seq: 42, duplicate: true })), {
      stream: 'EXEC',
      seq: 42,
      duplicate: true,
    });
  });

  test('a 503 status without data is "no responders" (no stream for the subject)', () => {
    const h = headers(503, 'No Responders');
    const err = publishAckOf('nostream.x', { data: new Uint8Array(), headers: h });
    assert.ok(err instanceof NoRespondersError, String(err));
  });

  test("the server's refusal is a JetStreamApiError with its code", () => {
    const err = publishAckOf(
      'exec.order.a.b',
      json({ error: { code: 400, err_code: 10054, description: 'maximum messages exceeded' } }),
    );
    assert.ok(err instanceof JetStreamApiError, String(err));
    assert.equal(err.code, 10054);
    assert.match(err.message, /maximum messages exceeded/);
  });

  test('a reply that is no ack is an error naming the subject', () => {
    for (const reply of [
      { data: new TextEncoder().encode('not json'), headers: undefined },
      json({ seq: 1 }),
      json({ stream: '', seq: 1 }),
      json({ stream: 'EXEC' }),
    ]) {
      const err = publishAckOf('exec.order.a.b', reply);
      assert.ok(err instanceof Error && !(err instanceof JetStreamApiError), String(err));
      assert.match(err.message, /exec\.order\.a\.b/);
    }
  });
});
