#!/usr/bin/env node
// `make build`: `tsc -b` over every project, skipped in milliseconds when nothing it reads
// changed since the last successful build (scripts/build-stamp.mjs).
import { buildIfChanged } from './build-stamp.mjs';

process.exit(buildIfChanged());
