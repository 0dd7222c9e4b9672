import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { createLogger, withoutDuplicateKeys } from './logger.js';

describe('JSON log lines', () => {
  test('carry each key once: a nested component or a call field wins over the parent binding', () => {
    let text = '';
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString('utf8');
        done();
      },
    });
    const logger = createLogger({ service: 'execution', destination });
    logger.child({ component: 'engine' }).child({ component: 'grpc' }).info({ venue: 'paper' }, 'listening');
    const line = text.trim();
    assert.equal(line.match(/"component":/g)?.length, 1, line);
    assert.deepEqual(JSON.parse(line).component, 'grpc');
    assert.equal(JSON.parse(line).venue, 'paper');
  });

  test('a line without repeated keys is passed through untouched', () => {
    const line = '{"level":"info","a":{"x":1},"msg":"hi"}\n';
    assert.equal(withoutDuplicateKeys(line), line);
    assert.equal(withoutDuplicateKeys('{"a":1,"a":2}\n'), '{"a":2}\n');
  });
});
