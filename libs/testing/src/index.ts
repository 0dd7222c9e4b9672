export * from './servers.js';
export * from './statestore.contract.js';
