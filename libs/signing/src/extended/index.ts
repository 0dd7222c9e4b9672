export * from './amounts.js';
export * from './felt.js';
export * from './order-hash.js';
export * from './settlement.js';
export * from './stark.js';
export * from './typed-data.js';
export * from './vectors.js';
