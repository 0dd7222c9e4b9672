import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { breakSwitch, RESEND_PREFIX } from './break-switch.js';

test('CHAOS_BREAK: off by default, resend picks the test entry, anything else is refused by name', () => {
  assert.deepEqual(breakSwitch(undefined), {});
  assert.deepEqual(breakSwitch(''), {});
  const resend = breakSwitch('resend').executionEntry;
  assert.ok(resend && existsSync(resend.entry), resend?.entry);
  assert.match(resend.entry, /execution-resend-main\.ts$/);
  assert.equal(resend.env.PERPMESH_TEST_CHAOS_RESEND, RESEND_PREFIX);
  assert.throws(() => breakSwitch('ack-early'), /CHAOS_BREAK: unknown switch "ack-early"/);
});
