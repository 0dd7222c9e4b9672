/**
 * An emulated Extended venue from config, the way `perpmesh start` runs it: the rehearsal
 * emulators with `extendedPort`, the `venues.extended` section (credentials as `{ env }`
 * references to the emulators' test keys, the account's Stark public key and vault) opened
 * through the kinds registry, with trading and with public access.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  EMULATOR_CREDENTIALS,
  EXTENDED_EMULATOR_ACCOUNT,
  type RunningRehearsalEmulators,
  startRehearsalEmulators,
} from '@perpmesh/emulators';
import { baseConfigShape, parseConfig } from '@perpmesh/runtime';
import { eventually } from '@perpmesh/testing';
import { z } from 'zod';
import { venueConfigShape } from '../config.js';
import '../kinds.js';
import { openConfiguredVenues } from '../open.js';
import { VENUE_COMPONENT } from '../port.js';

const schema = z.strictObject({ ...baseConfigShape, ...venueConfigShape });
const host = { paperAddress: '127.0.0.1:1', callTimeoutMs: 5_000 };

let emulators: RunningRehearsalEmulators;

before(async () => {
  emulators = await startRehearsalEmulators({
    seed: 7,
    binanceusdmPort: 0,
    hyperliquidPort: 0,
    extendedPort: 0,
  });
  for (const [name, value] of Object.entries(EMULATOR_CREDENTIALS)) process.env[name] ??= value;
});

after(() => emulators.close());

function venues() {
  const extended = emulators.extended;
  assert.ok(extended, 'the rehearsal emulators run Extended when given extendedPort');
  const raw = {
    extended: {
      kind: 'extended',
      instruments: ['BTC-USDC-PERP'],
      baseUrl: extended.url,
      accounts: {
        main: {
          apiKey: { env: 'EXTENDED_EMULATOR_API_KEY' },
          starkPrivateKey: { env: 'EXTENDED_EMULATOR_STARK_PRIVATE_KEY' },
          starkPublicKey: EXTENDED_EMULATOR_ACCOUNT.starkPublicKey,
          vault: EXTENDED_EMULATOR_ACCOUNT.vault,
        },
      },
    },
  };
  return parseConfig(schema, { venues: raw }, { env: {} }).config.venues;
}

test('the configured Extended venue trades on the emulator: signer ready, funded, market data flowing', async () => {
  const directory = await openConfiguredVenues(venues(), { access: 'trading', host });
  try {
    const port = directory.port('extended', 'main');
    const ready = (name: string) => port.readiness().find((c) => c.component === name);
    assert.equal(ready(VENUE_COMPONENT.signer)?.ready, true, ready(VENUE_COMPONENT.signer)?.reason);
    assert.equal(ready(VENUE_COMPONENT.markets)?.ready, true);
    const [balance] = await port.fetchBalances();
    assert.equal(balance?.equity.toFixed(), '100000');
    assert.equal(ready(VENUE_COMPONENT.balance)?.ready, true);
    const [market] = await port.loadMarkets();
    assert.equal(market?.fundingIntervalMs, 3_600_000);
    const book = await eventually(
      'the seeded market maker quotes',
      async () => {
        const b = await port.fetchOrderBook('BTC-USDC-PERP', 5);
        return b.bids.length > 0 && b.asks.length > 0 ? b : undefined;
      },
      10_000,
    );
    const [bid, ask] = [book?.bids[0], book?.asks[0]];
    assert.ok(bid && ask && bid.price.lt(ask.price));
  } finally {
    await directory.close();
  }
});

test('public access opens a market port with no account and no credential read', async () => {
  const directory = await openConfiguredVenues(venues(), { access: 'public', host });
  try {
    const port = directory.marketPort('extended');
    const [funding] = await port.fetchFunding(['BTC-USDC-PERP']);
    assert.equal(funding?.intervalMs, 3_600_000);
    await assert.rejects(port.fetchBalances(), /access: public/);
    assert.ok(!port.readiness().some((c) => c.component === VENUE_COMPONENT.signer));
  } finally {
    await directory.close();
  }
});
