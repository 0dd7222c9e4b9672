// The Extended signer's public API (felt helpers stay internal to the folder).
export * from './amounts.js';
export { FELT_PRIME as STARKNET_FELT_PRIME } from './felt.js';
export * from './order-hash.js';
export * from './settlement.js';
export * from './stark.js';
export * from './typed-data.js';
export * from './vectors.js';
