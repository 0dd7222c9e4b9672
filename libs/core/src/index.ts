export * from './decimal.js';
export * from './errors.js';
