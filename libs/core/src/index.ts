export * from './decimal.js';
export * from './errors.js';
export * from './types.js';
