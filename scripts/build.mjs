#!/usr/bin/env node
// `make build`: `tsc -b` over every project, skipped in milliseconds when nothing it reads
// changed since the last successful build (scripts/build-stamp.mjs); then the start bundle
// `make run` starts from (scripts/bundle.mjs), unless that build already has one.
// PERPMESH_BUNDLE=off: no bundle.
import { buildIfChanged, currentBuildKey } from './build-stamp.mjs';
import { bundleBuild, bundleIsCurrent } from './bundle.mjs';

const status = buildIfChanged();
if (status !== 0) process.exit(status);
const key = currentBuildKey();
if (process.env.PERPMESH_BUNDLE !== 'off' && key !== undefined && !bundleIsCurrent(key)) {
  try {
    await bundleBuild(key);
  } catch (err) {
    // The build itself passed; a start without its bundle runs file by file.
    console.error(`perpmesh: bundling the start failed: ${err instanceof Error ? err.message : err}`);
  }
}
