/**
 * Execution's dead-man switch on Lighter: an execution process opened from the venue's
 * config (with the emulator's short `scheduledCancelAllMin`; the venue's own is 5 min) arms
 * the scheduled cancel-all against the emulator and is killed with SIGKILL; the venue
 * cancels the account's order once the deadline passes (dead-man.test-helper.ts).
 */
import { after, before, test } from 'node:test';
import { bareMarket, LighterEmulator, lighterSimConfig } from '@perpmesh/emulators';
import { LighterPrivateKey } from '@perpmesh/signing';
import { assertKilledExecutionIsCanceledByVenue } from './dead-man.test-helper.js';
import { BTC } from './harness.test-helper.js';

const KEY_HEX = `0x${'3b'.repeat(40)}`;
const ACCOUNT = { accountIndex: 31, apiKeyIndex: 6 };
const MIN_MS = 1_000;

let emulator: LighterEmulator;
let baseUrl: string;

before(async () => {
  const market = bareMarket(lighterSimConfig('lighter'), Date.now());
  market.exchange.setPrices(BTC, { markPrice: '60000', indexPrice: '60000' });
  emulator = new LighterEmulator({
    market,
    accounts: [
      {
        accountIndex: ACCOUNT.accountIndex,
        accountId: 'main',
        deposit: '10000',
        apiKeys: [
          { apiKeyIndex: ACCOUNT.apiKeyIndex, publicKeyHex: LighterPrivateKey.fromHex(KEY_HEX).publicKeyHex },
        ],
      },
    ],
    stepIntervalMs: 50,
    minScheduledCancelAllMs: MIN_MS,
  });
  baseUrl = await emulator.start();
});

after(() => emulator.close());

test('the venue cancels the orders of an execution killed with SIGKILL once its scheduled cancel-all is not moved', async () => {
  await assertKilledExecutionIsCanceledByVenue({
    input: {
      venues: {
        lighter: {
          kind: 'lighter',
          instruments: [BTC],
          baseUrl,
          wsUrl: emulator.wsUrl,
          requestsPerMinute: 100_000,
          scheduledCancelAllMin: `${MIN_MS}ms`,
          accounts: { main: { ...ACCOUNT, apiPrivateKey: { env: 'DMS_LIGHTER_API_PRIVATE_KEY' } } },
        },
      },
      venue: 'lighter',
      clientOrderId: `dms-${process.pid}`,
      price: '50000',
      size: '0.001',
      afterMs: 2_000,
      refreshMs: 300,
    },
    env: { DMS_LIGHTER_API_PRIVATE_KEY: KEY_HEX },
    exchange: emulator.exchange,
    accountId: 'main',
  });
});
