/**
 * `perpmesh selftest signers` through runCli: the bundled vectors, a good file, a file with
 * one corrupted expected value, unreadable and unknown files.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { bundledVectorsUrl } from '@perpmesh/signing';
import { runCli } from './main.js';

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

async function selftest(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const code = await runCli(['selftest', 'signers', ...args], {
    out: out.stream,
    err: err.stream,
    confirm: null,
  });
  return { code, out: out.text(), err: err.text() };
}

describe('perpmesh selftest signers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perpmesh-selftest-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const extended = () => JSON.parse(readFileSync(bundledVectorsUrl('extended'), 'utf8'));
  const write = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };

  test('without --vectors: every signer bundled vectors, one line per case and a summary, exit 0', async () => {
    const { code, out } = await selftest();
    assert.equal(code, 0, out);
    assert.match(out, /^PASS orders\/python_sdk_test_create_sell_order$/m);
    const [, passed, failed] = /^(\d+) passed, (\d+) failed$/m.exec(out) ?? [];
    assert.ok(Number(passed) >= 16);
    assert.equal(failed, '0');
  });

  test('a good file passes', async () => {
    const { code, out } = await selftest('--vectors', write('good.json', extended()));
    assert.equal(code, 0, out);
    assert.doesNotMatch(out, /^FAIL/m);
  });

  test('one corrupted expected value: exit 1, the case named with what differed', async () => {
    const file = extended();
    file.orders[1].order_msg_hash = '0xbad';
    const { code, out } = await selftest(
      '--vectors',
      write('bad.json', file),
      write('good2.json', extended()),
    );
    assert.equal(code, 1, out);
    const failures = out.split('\n').filter((line) => line.startsWith('FAIL'));
    assert.equal(failures.length, 1, out);
    assert.match(
      failures[0]!,
      /^FAIL orders\/python_sdk_test_create_buy_order: order_msg_hash: expected 0xbad, got 0x5845/,
    );
    assert.match(out, /^\d+ passed, 1 failed$/m);
    for (const order of file.orders) assert.ok(!out.includes(order.inputs.stark_private_key.slice(2)));
  });

  test('an unreadable, non-JSON or unknown file: exit 2 naming it, nothing run', async () => {
    const missing = join(dir, 'missing.json');
    const unreadable = await selftest('--vectors', write('ok.json', extended()), missing);
    assert.equal(unreadable.code, 2);
    assert.match(unreadable.err, new RegExp(`cannot read ${missing}`));
    assert.equal(unreadable.out, '');
    const notJson = write('text.json', 'not json');
    assert.match((await selftest('--vectors', notJson)).err, new RegExp(`${notJson} is not JSON`));
    const unknown = write('other.json', { description: 'some vectors', cases: [] });
    const result = await selftest('--vectors', unknown);
    assert.equal(result.code, 2);
    assert.match(result.err, new RegExp(`${unknown}: not a signer vectors file`));
  });
});
