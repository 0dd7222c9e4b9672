export * from './components.js';
export * from './infra.js';
export * from './main.js';
export * from './store-readiness.js';
export * from './venues.js';
