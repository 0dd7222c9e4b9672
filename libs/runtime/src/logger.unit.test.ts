import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { Metadata, status } from '@grpc/grpc-js';
import { createLogger, formatLogEntry, resolveLogFormat, withoutDuplicateKeys } from './logger.js';

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
    assert.deepEqual(line.err.details, { name: 'loop', self: '[Circular]' });
    assert.equal(line.err.cause.message, '14 UNAVAILABLE');
    assert.equal(line.err.size, '10');
    assert.equal(line.strategyId, 's1');
    assert.doesNotMatch(out.text(), /unable to serialize/);
  });

  test('a grpc ServiceError keeps its code and details; its metadata is plain and redacted', () => {
    const out = captured();
    const logger = createLogger({ service: 'strategy', destination: out.destination });
    const metadata = new Metadata();
    metadata.set('authorization', 'Bearer canary-token');
    metadata.set('retry-after', '3');
    // The form @grpc/grpc-js gives a failed call (callErrorFromStatus): an Error with its status
    // object's fields and the caller's stack as an own field.
    const statusObject = { code: status.UNAVAILABLE, details: 'No connection established', metadata };
    const message = '14 UNAVAILABLE: No connection established';
    const stack = `${new Error(message).stack}\nfor call at\n    at caller`;
    const grpcError = Object.assign(new Error(message), statusObject, { stack });
    logger.error({ err: grpcError, strategyId: 's1' }, 'strategy instance failed; retrying');
    logger.warn({ err: new Error('balances not read', { cause: grpcError }) }, 'balance poll failed');
    const [direct, wrapped] = out.lines().map((text) => JSON.parse(text));
    assert.equal(direct.err.code, status.UNAVAILABLE);
    assert.equal(direct.err.details, 'No connection established');
    assert.deepEqual(direct.err.metadata['retry-after'], ['3']);
    assert.equal(direct.err.metadata.authorization, '[REDACTED]');
    assert.match(direct.err.stack, /for call at/);
    assert.match(wrapped.err.message, /balances not read: 14 UNAVAILABLE/);
    assert.equal(wrapped.err.cause.code, status.UNAVAILABLE);
    assert.equal(wrapped.err.cause.details, 'No connection established');
    assert.equal(wrapped.err.cause.stack, undefined, 'the cause stack is in the top stack already');
    assert.doesNotMatch(out.text(), /unable to serialize|canary-token/);
  });

  test('cycles, cause loops, aggregate errors and values that are not Errors stay readable', () => {
    const out = captured();
    const logger = createLogger({ service: 'strategy', destination: out.destination });
    const first = new Error('first');
    const second = new Error('second', { cause: first });
    (first as { cause?: unknown }).cause = second;
    const call: Record<string, unknown> = { path: '/x.Y/Z' };
    call.self = { call };
    const aggregate = new AggregateError([new Error('venue a down'), 'venue b down'], 'all venues down');
    logger.error({ err: Object.assign(first, { call }) }, 'cause loop');
    logger.error({ err: aggregate }, 'aggregate');
    logger.error({ err: 'plain text failure' }, 'a string');
    logger.error({ err: { reason: 'quota', apiKey: 'canary-key', at: new Map([['x', 1n]]) } }, 'an object');
    const [loop, agg, text, object] = out.lines().map((line) => JSON.parse(line));
    assert.match(loop.err.cause.message, /^second: first/);
    assert.equal(loop.err.cause.cause, '[Circular]');
    assert.deepEqual(loop.err.call, { path: '/x.Y/Z', self: { call: '[Circular]' } });
    assert.equal(agg.err.type, 'AggregateError');
    assert.deepEqual(
      agg.err.aggregateErrors.map((e: { message: string }) => e.message),
      ['venue a down', 'venue b down'],
    );
    assert.deepEqual(text.err, { type: 'string', message: 'plain text failure' });
    assert.deepEqual(object.err, {
      type: 'Object',
      message: 'not an Error',
      value: { reason: 'quota', apiKey: '[REDACTED]', at: { x: '1' } },
    });
    assert.doesNotMatch(out.text(), /unable to serialize|circular reference|canary-key/);
  });

  test('a line without repeated keys is passed through untouched', () => {
    const line = '{"level":"info","a":{"x":1},"msg":"hi"}\n';
    assert.equal(withoutDuplicateKeys(line), line);
    assert.equal(withoutDuplicateKeys('{"a":1,"a":2}\n'), '{"a":2}\n');
  });
});

describe('log format', () => {
  test('auto is human lines on a terminal and JSON anywhere else; json and pretty are forced', () => {
    assert.equal(resolveLogFormat('auto', true), 'pretty');
    assert.equal(resolveLogFormat('auto', false), 'json');
    assert.equal(resolveLogFormat('json', true), 'json');
    assert.equal(resolveLogFormat('pretty', false), 'pretty');
  });

  test('a destination that is a terminal gets human lines under auto, JSON under json', () => {
    for (const [format, expectJson] of [
      ['auto', false],
      ['json', true],
    ] as const) {
      const out = captured();
      Object.assign(out.destination, { isTTY: true });
      createLogger({ service: 'execution', destination: out.destination, format }).info(
        { venue: 'paper' },
        'ready',
      );
      const line = out.text().trim();
      assert.equal(line.startsWith('{'), expectJson, line);
      assert.match(line, /ready/);
    }
  });

  test('a destination that is not a terminal stays JSON under auto (pipes, files, containers, tests)', () => {
    const out = captured();
    createLogger({ service: 'execution', destination: out.destination }).info('ready');
    assert.equal(JSON.parse(out.text()).msg, 'ready');
  });
});

describe('human log lines', () => {
  const entry = {
    level: 'info',
    time: '2026-12-06T17:31:05.123Z',
    service: 'execution',
    pid: 42,
    component: 'grpc',
    msg: 'order placed',
    venue: 'paper',
    qty: '0.5',
    reason: 'two words',
    book: { bids: 3 },
  };

  test('time, level, service[component], message, then key=value fields', () => {
    assert.equal(
      formatLogEntry(entry),
      '17:31:05.123 INFO  execution[grpc] order placed venue=paper qty=0.5 reason="two words" book={"bids":3}',
    );
  });

  test('an error field shows its type, message and code, not its stack', () => {
    const out = captured();
    const logger = createLogger({ service: 'account', destination: out.destination, format: 'pretty' });
    const err = Object.assign(new TypeError('venue refused'), { code: 'E_REFUSED' });
    logger.error({ err }, 'sync failed');
    const line = out.text();
    assert.match(line, / ERROR account sync failed err="TypeError: venue refused \(E_REFUSED\)"\n$/);
    assert.ok(!line.includes('at '), line);
  });

  test('stays short: at most eight fields, long values cut', () => {
    const many = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`f${i}`, 'x'.repeat(200)]));
    const line = formatLogEntry({ level: 'warn', service: 'md', msg: 'wide', ...many });
    assert.match(line, /f7=x+… \(\+3 more\)$/);
    assert.ok(!line.includes('f8='), line);
    assert.ok(line.length < 8 * 130, String(line.length));
  });
});
