/**
 * Execution's dead-man switch on Extended, the honest way: an execution process (a child)
 * arms the venue's switch through the Extended port against the emulator and keeps
 * refreshing it; while it runs its order stays open past several deadlines; once it is
 * killed with SIGKILL (nothing runs after that: no cleanup, no cancel), the venue cancels
 * the account's open orders when the deadline passes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bareMarket, ExtendedEmulator, extendedSimConfig } from '@perpmesh/emulators';
import { StarkSigner } from '@perpmesh/signing';
import { eventually } from '@perpmesh/testing';
import { BTC } from './harness.test-helper.js';

const CHILD = fileURLToPath(new URL('./extended-dead-man-child.test-helper.ts', import.meta.url));
const KEY = { apiKey: 'emu-extended-dms', privateKey: `0x${'0c0d0e0f'.repeat(7)}`, vault: '500345' };
const STARK_KEY = new StarkSigner(KEY.privateKey).publicKey;
const AFTER_MS = 2_000;

let emulator: ExtendedEmulator;
let baseUrl: string;

before(async () => {
  const market = bareMarket(extendedSimConfig('extended'), Date.now());
  market.exchange.setPrices(BTC, { markPrice: '60000', indexPrice: '60000' });
  emulator = new ExtendedEmulator({
    market,
    accounts: [{ ...KEY, accountId: 'main', starkPublicKey: STARK_KEY, deposit: '10000' }],
    stepIntervalMs: 50,
  });
  baseUrl = await emulator.start();
});

after(() => emulator.close());

test('the venue cancels the orders of an execution killed with SIGKILL once its switch is not refreshed', async () => {
  const clientOrderId = `dms-${process.pid}`;
  const input = {
    baseUrl,
    wsUrl: emulator.wsUrl,
    apiKey: KEY.apiKey,
    starkPrivateKey: KEY.privateKey,
    starkPublicKey: `0x${STARK_KEY.toString(16)}`,
    vault: KEY.vault,
    clientOrderId,
    afterMs: AFTER_MS,
    refreshMs: 300,
  };
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@perpmesh/source', CHILD, JSON.stringify(input)],
    { stdio: ['ignore', 'pipe', 'pipe'], env: process.env },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += String(d);
  });
  child.stderr.on('data', (d) => {
    err += String(d);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await eventually(
      'execution placed the order and armed',
      () => out.includes('armed') || child.exitCode !== null,
      60_000,
    );
    assert.match(out, new RegExp(`armed ${clientOrderId} accepted`), `child: ${out} ${err}`);
    const order = () => emulator.exchange.getOrder('main', { clientOrderId });
    assert.equal(order()?.status, 'accepted');
    assert.ok(emulator.deadManSwitchDeadline('main') !== undefined, 'execution armed the venue switch');
    // Alive: execution refreshes, so the order outlives the first deadline.
    const armedAt = Date.now();
    await eventually('past the first deadline', () => Date.now() - armedAt > AFTER_MS + 500, 10_000);
    assert.equal(order()?.status, 'accepted', 'refreshed by the running execution');

    child.kill('SIGKILL');
    await exited;
    const killedAt = Date.now();
    const canceled = await eventually(
      'the venue canceled the order',
      () => (order()?.status === 'canceled' ? order() : undefined),
      10_000,
    );
    assert.equal(canceled?.endReason, 'dead_man_switch');
    assert.ok(
      Date.now() - killedAt <= AFTER_MS + 1_500,
      `canceled ${Date.now() - killedAt} ms after the kill`,
    );
    assert.equal(emulator.exchange.openOrders('main').length, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
