/**
 * `make run`'s up-to-date check and start bundle (scripts/build-stamp.mjs, scripts/bundle.mjs)
 * on a small fake checkout: which changes make the build stale, when the stamp counts, when
 * a bundle counts as the current build's, and how a bundled module keeps its own paths.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { buildInputsKey, currentBuildKey, writeBuildStamp } from '../../scripts/build-stamp.mjs';
import { bundleEntry, bundleIsCurrent, keepModulePaths } from '../../scripts/bundle.mjs';

/** A checkout with two projects, `a` built and `b` built, and installed dependencies. */
function fakeCheckout(): string {
  const root = mkdtempSync(join(tmpdir(), 'perpmesh-stamp-'));
  const write = (path: string, text: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('tsconfig.json', JSON.stringify({ files: [], references: [{ path: 'libs/a' }, { path: 'libs/b' }] }));
  write('tsconfig.base.json', '{}');
  write('node_modules/.package-lock.json', '{"lockfileVersion":3}');
  for (const p of ['libs/a', 'libs/b']) {
    write(`${p}/tsconfig.json`, '{}');
    write(`${p}/package.json`, '{}');
    write(`${p}/src/index.ts`, 'export const x = 1;\n');
    write(`${p}/dist/.tsbuildinfo`, '{}');
  }
  write('libs/a/src/deep/more.ts', 'export const y = 2;\n');
  return root;
}

describe('the build stamp', () => {
  const roots: string[] = [];
  const checkout = () => {
    const root = fakeCheckout();
    roots.push(root);
    return root;
  };
  after(() => {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  test('the key is stable, and changes with what tsc -b reads, not with its output', () => {
    const root = checkout();
    const key = buildInputsKey(root);
    assert.equal(buildInputsKey(root), key, 'same tree, same key');

    writeFileSync(join(root, 'libs/b/dist/index.js'), 'compiled');
    assert.equal(buildInputsKey(root), key, 'build output is not an input');

    const edits: Array<[string, () => void]> = [
      [
        'a source edited (size)',
        () => writeFileSync(join(root, 'libs/a/src/deep/more.ts'), 'export const y = 22;\n'),
      ],
      ['a source touched (mtime)', () => utimesSync(join(root, 'libs/b/src/index.ts'), 1, 1)],
      ['a source added', () => writeFileSync(join(root, 'libs/b/src/new.ts'), '')],
      ['a source deleted', () => rmSync(join(root, 'libs/b/src/new.ts'))],
      ['a package.json changed', () => writeFileSync(join(root, 'libs/a/package.json'), '{ }')],
      ['dependencies installed', () => writeFileSync(join(root, 'node_modules/.package-lock.json'), '{}')],
      ['the base tsconfig changed', () => writeFileSync(join(root, 'tsconfig.base.json'), '{ }')],
    ];
    const seen = new Set([key]);
    for (const [what, edit] of edits) {
      edit();
      const next = buildInputsKey(root);
      assert.ok(!seen.has(next), `${what}: a new key`);
      seen.add(next);
    }
  });

  test('current only with a stamp of this very tree and every project built', () => {
    const root = checkout();
    assert.equal(currentBuildKey(root), undefined, 'never built');
    const key = buildInputsKey(root);
    writeBuildStamp(key, root);
    assert.equal(currentBuildKey(root), key);

    rmSync(join(root, 'libs/b/dist/.tsbuildinfo'));
    assert.equal(currentBuildKey(root), undefined, 'a project cleaned (make clean)');
    writeFileSync(join(root, 'libs/b/dist/.tsbuildinfo'), '{}');
    assert.equal(currentBuildKey(root), key);

    writeFileSync(join(root, 'libs/a/src/index.ts'), 'export const x = 10;\n');
    assert.equal(currentBuildKey(root), undefined, 'a source edited after the build');
  });
});

describe('the start bundle', () => {
  test('counts for its own build key only, once its entry point is written', () => {
    const root = fakeCheckout();
    try {
      const key = buildInputsKey(root);
      assert.equal(bundleIsCurrent(undefined, root), false, 'no current build, no bundle');
      assert.equal(bundleIsCurrent(key, root), false, 'not bundled yet');
      mkdirSync(join(bundleEntry(key, root), '..'), { recursive: true });
      assert.equal(bundleIsCurrent(key, root), false, 'a directory without its entry point');
      writeFileSync(bundleEntry(key, root), '');
      assert.equal(bundleIsCurrent(key, root), true);
      assert.equal(bundleIsCurrent(`${key.slice(1)}0`, root), false, 'another build');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('a bundled module keeps its own import.meta.url, __dirname and __filename', () => {
    const file = '/repo/libs/gateway/dist/gateway.js';
    const esm = keepModulePaths("export const DIR = new URL('../dashboard/', import.meta.url);", file);
    assert.equal(
      esm,
      `export const DIR = new URL('../dashboard/', ${JSON.stringify(pathToFileURL(file).href)});`,
    );

    const cjsFile = '/repo/node_modules/grpc-health-check/build/src/health.js';
    const cjs = keepModulePaths("exports.dir = __dirname + '/../../proto';", cjsFile);
    assert.ok(
      cjs?.startsWith('var __filename = "/repo/node_modules/grpc-health-check/build/src/health.js", '),
    );
    assert.ok(cjs?.includes('__dirname = "/repo/node_modules/grpc-health-check/build/src";'));
    assert.ok(cjs?.endsWith("exports.dir = __dirname + '/../../proto';"));

    // An ES module that declares its own __dirname keeps its declaration (no second one).
    const own = keepModulePaths(
      "const __dirname = dirname(fileURLToPath(import.meta.url)); export const p = join(__dirname, 'x');",
      file,
    );
    assert.ok(own?.startsWith('const __dirname = dirname(fileURLToPath("file:///repo/'));
    assert.equal(keepModulePaths('export const x = 1;', file), undefined, 'nothing to keep');
  });
});
