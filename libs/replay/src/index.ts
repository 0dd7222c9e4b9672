export * from './diff.js';
export * from './explain.js';
export * from './projections.js';
export * from './source.js';
export * from './strategy.js';
