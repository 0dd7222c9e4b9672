export * from './backends.js';
export * from './eventlog.contract.js';
export * from './eventually.js';
export * from './perpmesh-process.js';
export * from './ports.js';
export * from './servers.js';
export * from './statestore.contract.js';
export * from './tools.js';
