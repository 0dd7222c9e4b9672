#!/usr/bin/env node
// The perpmesh command (compiled output: `make build` first, or run it via `npm start`).
import '../dist/bin.js';
