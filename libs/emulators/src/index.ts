export * from './binanceusdm/config.js';
export * from './binanceusdm/emulator.js';
export { binanceSymbol } from './binanceusdm/wire.js';
export * from './hyperliquid/config.js';
export * from './hyperliquid/emulator.js';
export { addressOf as hyperliquidAddressOf } from './hyperliquid/signing.js';
export * from './shared/faults.js';
export * from './shared/market.js';
export * from './shared/server.js';
