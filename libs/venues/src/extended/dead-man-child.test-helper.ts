/**
 * A trading process for the dead-man-switch venue test, run as a child so the test can
 * kill it with SIGKILL: it opens an Extended port against the emulator, places a resting
 * order, arms the venue's dead-man switch and keeps refreshing it the way execution does
 * (execution.deadManSwitch: a deadline `afterMs`, refreshed every `refreshMs`), and prints
 * `armed <venueOrderId>` once armed. It never exits on its own.
 *
 * Input: one JSON argument `{ baseUrl, wsUrl, apiKey, starkPrivateKey, starkPublicKey,
 * vault, clientOrderId, afterMs, refreshMs }` (emulator test keys only).
 */
import { Decimal, errorText } from '@perpmesh/core';
import { StarkSigner } from '@perpmesh/signing';
import { ExtendedVenuePort } from './port.js';

const input = JSON.parse(process.argv[2] ?? '{}') as Record<string, string | number>;
const port = await ExtendedVenuePort.open({
  venue: 'extended',
  account: 'main',
  apiKeyId: 'default',
  instruments: ['BTC-USDC-PERP'],
  chainId: 'SN_MAIN',
  baseUrl: String(input.baseUrl),
  wsUrl: String(input.wsUrl),
  callTimeoutMs: 5_000,
  keys: {
    apiKey: String(input.apiKey),
    signer: new StarkSigner(String(input.starkPrivateKey)),
    starkPublicKey: BigInt(String(input.starkPublicKey)),
    vault: String(input.vault),
  },
});
const order = await port.createOrder({
  clientOrderId: String(input.clientOrderId),
  instrument: 'BTC-USDC-PERP',
  side: 'buy',
  type: 'limit',
  timeInForce: 'gtc',
  price: new Decimal('50000'),
  size: new Decimal('0.001'),
  reduceOnly: false,
});
const afterMs = Number(input.afterMs);
await port.scheduleCancelAll(afterMs);
setInterval(() => {
  port.scheduleCancelAll(afterMs).catch((err) => console.error(`refresh failed: ${errorText(err)}`));
}, Number(input.refreshMs));
console.log(`armed ${order.venueOrderId}`);
