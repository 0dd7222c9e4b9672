/**
 * Execution's dead-man switch on Extended: an execution process opened from the venue's
 * config arms the switch against the emulator and is killed with SIGKILL; the venue cancels
 * the account's order once the deadline passes (dead-man.test-helper.ts).
 */
import { after, before, test } from 'node:test';
import { bareMarket, ExtendedEmulator, extendedSimConfig } from '@perpmesh/emulators';
import { StarkSigner } from '@perpmesh/signing';
import { assertKilledExecutionIsCanceledByVenue } from './dead-man.test-helper.js';
import { BTC } from './harness.test-helper.js';

const KEY = { apiKey: 'emu-extended-dms', privateKey: `0x${'0c0d0e0f'.repeat(7)}`, vault: '500345' };
const STARK_KEY = new StarkSigner(KEY.privateKey).publicKey;

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
  await assertKilledExecutionIsCanceledByVenue({
    input: {
      venues: {
        extended: {
          kind: 'extended',
          instruments: [BTC],
          baseUrl,
          wsUrl: emulator.wsUrl,
          accounts: {
            main: {
              apiKey: { env: 'DMS_EXTENDED_API_KEY' },
              starkPrivateKey: { env: 'DMS_EXTENDED_STARK_PRIVATE_KEY' },
              starkPublicKey: `0x${STARK_KEY.toString(16)}`,
              vault: KEY.vault,
            },
          },
        },
      },
      venue: 'extended',
      clientOrderId: `dms-${process.pid}`,
      price: '50000',
      size: '0.001',
      afterMs: 2_000,
      refreshMs: 300,
    },
    env: { DMS_EXTENDED_API_KEY: KEY.apiKey, DMS_EXTENDED_STARK_PRIVATE_KEY: KEY.privateKey },
    exchange: emulator.exchange,
    accountId: 'main',
  });
});
