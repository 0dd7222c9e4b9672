/** Moved to strategies/funding-arb/; kept for imports not yet updated (runtime/service.ts). */
export * from './strategies/funding-arb/index.js';
