import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { createLogger, withoutDuplicateKeys } from './logger.js';

/** A destination that keeps what is written: `lines()` are the JSON lines so far. */
function captured() {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return { destination, text: () => text, lines: () => text.split('\n').filter(Boolean) };
}

describe('JSON log lines', () => {
  test('carry each key once: a nested component or a call field wins over the parent binding', () => {
    const out = captured();
    const logger = createLogger({ service: 'execution', destination: out.destination });
    logger.child({ component: 'engine' }).child({ component: 'grpc' }).info({ venue: 'paper' }, 'listening');
    const line = out.text().trim();
    assert.equal(line.match(/"component":/g)?.length, 1, line);
    assert.deepEqual(JSON.parse(line).component, 'grpc');
    assert.equal(JSON.parse(line).venue, 'paper');
  });

  test('each key once where loggers are made: a child rebinding a key, a call field repeating a binding', () => {
    const out = captured();
    const logger = createLogger({
      service: 'strategy',
      destination: out.destination,
      bindings: { instance: 'a' },
    });
    const child = logger.child({ component: 'runner' }).child({ component: 'stepper', instance: 'b' });
    child.info({ component: 'call', strategyId: 's1' }, 'from a call');
    child.warn('plain');
    logger.info({ service: 'override' }, 'root call');
    const lines = out.lines();
    for (const line of lines) {
      const keys = line.match(/(?<=[{,])"[^"\\]+":/g) ?? [];
      assert.equal(new Set(keys).size, keys.length, `a key repeated in ${line}`);
    }
    const [fromCall, plain, root] = lines.map((l) => JSON.parse(l));
    assert.equal(fromCall.component, 'call');
    assert.equal(fromCall.instance, 'b');
    assert.equal(fromCall.strategyId, 's1');
    assert.equal(fromCall.level, 'info');
    assert.equal(fromCall.msg, 'from a call');
    assert.equal(plain.component, 'stepper');
    assert.equal(plain.level, 'warn');
    assert.equal(root.service, 'override');
  });

  test('an error field that cannot be printed keeps the error and its cause on the line', () => {
    const out = captured();
    const logger = createLogger({ service: 'strategy', destination: out.destination });
    const looped: Record<string, unknown> = { name: 'loop' };
    looped.self = looped;
    const err = Object.assign(
      new Error('order command not delivered', { cause: new Error('14 UNAVAILABLE') }),
      {
        code: 'ORDER_GATEWAY_UNAVAILABLE',
        details: looped,
        size: 10n,
      },
    );
    logger.warn({ err, strategyId: 's1' }, 'retrying');
    const line = JSON.parse(out.text().trim());
    assert.equal(line.err.type, 'Error');
    assert.match(line.err.message, /order command not delivered: 14 UNAVAILABLE/);
    assert.match(line.err.stack, /caused by: Error: 14 UNAVAILABLE/);
    assert.equal(line.err.code, 'ORDER_GATEWAY_UNAVAILABLE');
    assert.match(line.err.details, /^\[not serializable: /);
    assert.equal(line.err.size, '10');
    assert.equal(line.strategyId, 's1');
    assert.doesNotMatch(out.text(), /unable to serialize/);
  });

  test('a line without repeated keys is passed through untouched', () => {
    const line = '{"level":"info","a":{"x":1},"msg":"hi"}\n';
    assert.equal(withoutDuplicateKeys(line), line);
    assert.equal(withoutDuplicateKeys('{"a":1,"a":2}\n'), '{"a":2}\n');
  });
});
