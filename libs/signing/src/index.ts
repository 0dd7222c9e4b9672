export * from './extended/index.js';
export * from './vectors.js';
