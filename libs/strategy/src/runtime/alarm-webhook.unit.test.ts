import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import { ConfigError, createLogger, parseConfig } from '@perpmesh/runtime';
import { z } from 'zod';
import type { StrategyDecisionRecord } from '../model.js';
import { alarmMessageOf, alarmsSectionSchema, alarmWebhookOptions } from './alarm-webhook.js';

const record = (reasonCode: string, inputs: Record<string, string> = {}): StrategyDecisionRecord => ({
  decisionId: 'd1',
  strategyId: 'arb-1',
  kind: 'signal',
  decision: 'signal',
  reasonCode,
  reason: 'why',
  inputs,
  orderIntents: [],
  dryRun: false,
  cancelClientOrderIds: [],
  decidedAtMs: 1_000,
});
const schema = z.object({ alarms: alarmsSectionSchema });
const logger = createLogger({ service: 'test', level: 'silent' });

describe('alarm webhook (pure parts)', () => {
  test('only alarm and breaker decisions become messages, each naming its alarm, state and incident', () => {
    assert.equal(alarmMessageOf(record('enter')), undefined);
    const raised = alarmMessageOf(record('alarm_one_legged', { alarm_key: 'BTC#1:one_legged' }))!;
    assert.deepEqual([raised.alarm, raised.state, raised.key], ['one_legged', 'raised', 'BTC#1:one_legged']);
    const cleared = alarmMessageOf(
      record('alarm_cleared', { alarm: 'one_legged', alarm_key: 'BTC#1:one_legged' }),
    )!;
    assert.deepEqual([cleared.alarm, cleared.state], ['one_legged', 'cleared']);
    const trip = alarmMessageOf(record('circuit_breaker_tripped'))!;
    assert.deepEqual([trip.alarm, trip.state], ['circuit_breaker', 'tripped']);
    assert.equal(trip.text, '[perpmesh] arb-1: circuit_breaker tripped: why');
  });

  test('config: the URL is a secret reference, never inline; a bad URL is named without its value', () => {
    assert.throws(
      () => parseConfig(schema, { alarms: { webhook: { url: 'https://hooks.example/T0KEN' } } }),
      (e: unknown) =>
        e instanceof ConfigError && /alarms\.webhook\.url/.test(e.message) && !e.message.includes('T0KEN'),
    );
    const env = { HOOK_URL: 'https://hooks.example/T0KEN', BAD_URL: 'not a url T0KEN' };
    const { config } = parseConfig(
      schema,
      { alarms: { webhook: { url: { env: 'HOOK_URL' }, retryInitial: '2s' } } },
      { env },
    );
    const options = alarmWebhookOptions(config.alarms.webhook!, logger);
    assert.equal(options.retryInitialMs, 2_000);
    assert.equal(options.maxQueue, 100);
    assert.equal(JSON.stringify(options).includes('T0KEN'), false);
    const bad = parseConfig(schema, { alarms: { webhook: { url: { env: 'BAD_URL' } } } }, { env }).config;
    assert.throws(
      () => alarmWebhookOptions(bad.alarms.webhook!, logger),
      (e: unknown) =>
        e instanceof ValidationError &&
        e.message.includes('strategy.alarms.webhook.url') &&
        !e.message.includes('T0KEN'),
    );
    assert.equal(parseConfig(schema, {}).config.alarms.webhook, undefined);
  });
});
