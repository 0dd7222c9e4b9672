/**
 * The committed generated code matches proto/ (scripts/proto.sh --check), and that
 * check does catch a stale file. buf runs the local ts-proto plugin: no network.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

function run(cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['scripts/proto.sh', '--check'], { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('generated code', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'perpmesh-proto-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('libs/contracts/src/gen is what proto/ generates', async () => {
    const result = await run(repoRoot);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /up to date/);
  });

  test('the check fails, saying so, when a generated file differs', async () => {
    // A copy of just what the script needs, so the repo's files are never touched.
    for (const path of ['scripts/proto.sh', 'buf.yaml', 'buf.gen.yaml', 'proto', 'libs/contracts/src/gen']) {
      cpSync(join(repoRoot, path), join(scratch, path), { recursive: true });
    }
    symlinkSync(join(repoRoot, 'node_modules'), join(scratch, 'node_modules'));
    assert.equal((await run(scratch)).code, 0, 'the untouched copy passes');

    appendFileSync(join(scratch, 'libs/contracts/src/gen/perpmesh/v1/common.ts'), '// hand edit\n');
    const result = await run(scratch);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /stale/);
    assert.match(result.stderr, /hand edit/);
  });
});
