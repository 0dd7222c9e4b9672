export * from './lighter/index.js';
export * from './vectors.js';
