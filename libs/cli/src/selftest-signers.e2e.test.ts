/** `perpmesh selftest signers` as a real process: its exit codes and lines. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { bundledVectorsUrl } from '@perpmesh/signing';

const ROOT = new URL('../../../', import.meta.url).pathname;
const BIN = join(ROOT, 'libs/cli/src/bin.ts');

function perpmesh(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@perpmesh/source', BIN, ...args],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += String(d);
    });
    child.stderr.on('data', (d) => {
      err += String(d);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'perpmesh-selftest-e2e-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('perpmesh selftest signers: a good file exits 0, a corrupted one exits 1 naming the case', async () => {
  const vectors = JSON.parse(readFileSync(bundledVectorsUrl('extended'), 'utf8'));
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify(vectors));
  const ok = await perpmesh(['selftest', 'signers', '--vectors', good]);
  assert.equal(ok.code, 0, ok.out + ok.err);
  assert.match(ok.out, /^\d+ passed, 0 failed$/m);

  vectors.stark_keys[2].stark_public_key = '0x77a3';
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify(vectors));
  const failed = await perpmesh(['selftest', 'signers', '--vectors', bad]);
  assert.equal(failed.code, 1, failed.out + failed.err);
  assert.match(failed.out, /^FAIL stark_keys\/#2: stark_public_key: expected 0x77a3, got 0x77a3b314/m);
  assert.match(failed.out, /^\d+ passed, 1 failed$/m);
});
