export * from './binanceusdm/config.js';
export * from './binanceusdm/emulator.js';
export { binanceSymbol } from './binanceusdm/wire.js';
export * from './shared/faults.js';
export * from './shared/market.js';
export * from './shared/server.js';
