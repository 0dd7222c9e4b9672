/**
 * An execution process for the Extended dead-man-switch test, run as a child so the test
 * can kill it with SIGKILL: the execution service (embedded backend) over an Extended port
 * against the emulator, with `deadManSwitch` configured. Execution arms the venue's switch
 * and refreshes it (engine #armDeadManSwitch); the child places one resting order through
 * the engine and prints `armed <clientOrderId> <status>`. It never exits on its own.
 *
 * Input: one JSON argument `{ baseUrl, wsUrl, apiKey, starkPrivateKey, starkPublicKey,
 * vault, clientOrderId, afterMs, refreshMs }` (the emulator's test keys only).
 */
import { dec } from '@perpmesh/core';
import { StarkSigner } from '@perpmesh/signing';
import { openTestBackend } from '@perpmesh/testing';
import { ExtendedVenuePort, StaticVenueDirectory } from '@perpmesh/venues';
import { BTC, newService } from './harness.test-helper.js';
import { limitRequest } from './scenarios.test-helper.js';
import { placeOrderCommandFromProto } from './validation.js';

const input = JSON.parse(process.argv[2] ?? '{}') as Record<string, string | number>;
const backend = await openTestBackend('embedded', { prefix: 'EXTDMS' });
const port = await ExtendedVenuePort.open({
  venue: 'extended',
  account: 'main',
  apiKeyId: 'default',
  instruments: [BTC],
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
const svc = newService({
  ...backend,
  directory: new StaticVenueDirectory([port]),
  settings: { deadManSwitch: { afterMs: Number(input.afterMs), refreshMs: Number(input.refreshMs) } },
});
await svc.service.start();
const clientOrderId = String(input.clientOrderId);
const placed = await svc.service.engine.placeOrder(
  placeOrderCommandFromProto(limitRequest('extended', clientOrderId, 'buy', dec('50000'), '0.001')),
);
console.log(`armed ${clientOrderId} ${placed.order.state.status}`);
