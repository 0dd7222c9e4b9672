export * from './embedded.js';
export * from './main.js';
export * from './start.js';
