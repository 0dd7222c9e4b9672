import { runExtendedVectors } from './extended/index.js';
import { runLighterVectors } from './lighter/index.js';
import { createSignerSelfTest } from './selftest.js';

export * from './extended/index.js';
export * from './lighter/index.js';
export * from './selftest.js';
export * from './vectors.js';

/** The self-test over every signer this build has (one line per signer). */
export const { runSignerVectors, selfTestSigners, requireSignersSelfTest } = createSignerSelfTest({
  lighter: runLighterVectors,
  extended: runExtendedVectors,
});
