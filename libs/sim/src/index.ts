export * from './book-mirror.js';
export * from './config.js';
export * from './events.js';
export * from './exchange.js';
export { type FundingHolder, type FundingShare, fundingRate, splitFunding } from './funding.js';
export * from './presets.js';
export { SimRng } from './rng.js';
export * from './world.js';
