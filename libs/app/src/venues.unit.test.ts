/**
 * openVenueDirectory opens every configured venue through the registered venue kinds.
 * A fixture kind registered from this file (its config schema, its port, one register
 * line) is all it takes to add a kind; access `public` hands kinds no account and no
 * credential.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import { baseConfigShape, parseConfig, type Secret } from '@perpmesh/runtime';
import {
  credentialSchema,
  type OpenedVenue,
  PaperVenueHub,
  PUBLIC_ACCOUNT,
  paperHubOptionsFromConfig,
  plannedVenueKind,
  registerVenueKind,
  type Subscription,
  unregisterVenueKind,
  type VenueAccess,
  type VenueOpenContext,
  type VenuePort,
  venueConfigShape,
  venueKindSchema,
} from '@perpmesh/venues';
import { z } from 'zod';
import { openVenueDirectory } from './venues.js';

// A kind whose config is known and whose adapter is not built (what plannedVenueKind makes).
const PLANNED_FIXTURE = plannedVenueKind(
  'fixture-planned',
  venueKindSchema('fixture-planned', { account: { apiKey: credentialSchema } }),
  'a test',
);

// ---- the fixture kind: what an adapter folder holds, in one file ----------------------------

const FIXTURE_KIND = 'fixture-mem';

const fixtureConfigSchema = venueKindSchema(FIXTURE_KIND, {
  venue: { label: z.string().default('in memory') },
  account: { token: credentialSchema },
});
type FixtureSection = z.output<typeof fixtureConfigSchema>;

/** A tiny in-memory port: markets from config, no books, no orders. */
function fixturePort(venue: string, account: string, apiKeyId: string, section: FixtureSection): VenuePort {
  const noAccount = async (): Promise<never> => {
    throw new ValidationError('account', `${venue}: fixture port ${JSON.stringify(account)} has no account`);
  };
  const none: Subscription = { close: async () => {} };
  return {
    venue,
    account,
    apiKeyId,
    capabilities: {
      nonces: false,
      nonceFloorIsTimeMs: false,
      rejectsDuplicateClientOrderId: false,
      cancelAllOrders: true,
      postOnly: true,
      fok: true,
    },
    loadMarkets: async () =>
      section.instruments.map(
        (instrument) => ({ instrument, venueSymbol: `${section.label}:${instrument}` }) as never,
      ),
    fetchOrderBook: noAccount,
    fetchFunding: async () => [],
    watchMarket: async () => none,
    fetchBalances: account === PUBLIC_ACCOUNT ? noAccount : async () => [],
    fetchPositions: async () => [],
    fetchOpenOrders: async () => [],
    fetchOrder: async () => undefined,
    fetchFills: async () => [],
    createOrder: noAccount,
    cancelOrder: noAccount,
    cancelAllOrders: async () => [],
    watchUserStream: async () => none,
    readiness: () => [{ component: 'markets', ready: true, reason: `${venue}: fixture` }],
    close: async () => {},
  };
}

/** What each open() was given, to check what a public process gets. */
const given: {
  access: VenueAccess;
  accounts: { account: string; credentials: Record<string, Secret> }[];
  configAccounts: string[];
}[] = [];

async function openFixture(context: VenueOpenContext<FixtureSection>): Promise<OpenedVenue> {
  given.push({
    access: context.access,
    accounts: context.accounts.map((a) => ({ account: a.account, credentials: { ...a.credentials } })),
    configAccounts: Object.keys(context.config.accounts),
  });
  if (context.access === 'public') {
    return { accountPorts: [], marketPort: fixturePort(context.venue, PUBLIC_ACCOUNT, '', context.config) };
  }
  return {
    accountPorts: context.accounts.map((a) =>
      fixturePort(context.venue, a.account, a.apiKeyId, context.config),
    ),
  };
}

// ---- config ---------------------------------------------------------------------------------

const TOKEN_ENV = 'PM_FIXTURE_VENUE_TOKEN_FOR_TEST';
const schema = z.strictObject({ ...baseConfigShape, ...venueConfigShape });

function config(venues: Record<string, unknown>) {
  return parseConfig(schema, { venues }, { env: {} }).config;
}

const fixtureVenues = {
  mem: {
    kind: FIXTURE_KIND,
    instruments: ['BTC-USDC-PERP'],
    accounts: { alice: { apiKeyId: 'k1', token: { env: TOKEN_ENV } }, bob: { token: { env: TOKEN_ENV } } },
  },
};

describe('openVenueDirectory', () => {
  before(() => {
    registerVenueKind({ kind: FIXTURE_KIND, configSchema: fixtureConfigSchema, open: openFixture });
    registerVenueKind(PLANNED_FIXTURE);
  });
  after(() => {
    unregisterVenueKind(FIXTURE_KIND);
    unregisterVenueKind(PLANNED_FIXTURE.kind);
    delete process.env[TOKEN_ENV];
  });

  test('a kind registered from a test file parses and opens: one port per account, credentials resolved', async () => {
    process.env[TOKEN_ENV] = 'tok-fixture';
    given.length = 0;
    const directory = await openVenueDirectory(config(fixtureVenues));
    try {
      assert.deepEqual(
        directory.all().map((p) => `${p.account}@${p.venue}/${p.apiKeyId}`),
        ['alice@mem/k1', 'bob@mem/default'],
      );
      assert.equal(directory.port('mem', 'bob').account, 'bob');
      assert.equal(
        directory.marketPort('mem').account,
        'alice',
        'trading: the first account serves market data',
      );
      const markets = await directory.marketPort('mem').loadMarkets();
      assert.equal(markets[0]?.venueSymbol, 'in memory:BTC-USDC-PERP');
      assert.equal(given[0]?.access, 'trading');
      assert.deepEqual(
        given[0]?.accounts.map((a) => [a.account, a.credentials.token?.reveal()]),
        [
          ['alice', 'tok-fixture'],
          ['bob', 'tok-fixture'],
        ],
      );
    } finally {
      await directory.close();
    }
  });

  test('public access: no account, no credential read (the env var is not even set), market port only', async () => {
    delete process.env[TOKEN_ENV];
    given.length = 0;
    const directory = await openVenueDirectory(config(fixtureVenues), { access: 'public' });
    try {
      assert.deepEqual(given, [{ access: 'public', accounts: [], configAccounts: [] }]);
      assert.deepEqual(directory.venues(), ['mem']);
      assert.deepEqual(directory.all(), []);
      assert.equal(directory.has('mem'), true);
      assert.equal(directory.marketPort('mem').account, PUBLIC_ACCOUNT);
      assert.throws(
        () => directory.port('mem', 'alice'),
        (err) => err instanceof ValidationError && /public access/.test(err.message),
      );
    } finally {
      await directory.close();
    }
  });

  test('trading access with the credential missing fails naming its config path', async () => {
    delete process.env[TOKEN_ENV];
    await assert.rejects(
      openVenueDirectory(config(fixtureVenues)),
      (err) =>
        err instanceof ValidationError &&
        err.field === 'venues.mem.accounts.alice.token' &&
        /PM_FIXTURE_VENUE_TOKEN_FOR_TEST is not set/.test(err.message),
    );
  });

  test('a kind whose adapter is not in this build fails at open, naming venues.<id>.kind', async () => {
    const planned = config({
      planned: {
        kind: PLANNED_FIXTURE.kind,
        instruments: ['BTC-USDT-PERP'],
        accounts: { main: { apiKey: { env: 'PLANNED_K' } } },
      },
    });
    for (const access of ['public', 'trading'] as const) {
      await assert.rejects(
        openVenueDirectory(planned, { access }),
        (err) =>
          err instanceof ValidationError &&
          err.field === 'venues.planned.kind' &&
          /adapter is not in this build yet/.test(err.message),
      );
    }
  });

  test('paper in process: trading opens account ports; public opens the venue without an account', async () => {
    const paperConfig = config({
      paper: { kind: 'paper', instruments: ['BTC-USDC-PERP'], accounts: { main: { paperDeposit: '1000' } } },
    });
    const hub = new PaperVenueHub(
      paperHubOptionsFromConfig({
        venues: paperConfig.venues,
        paper: paperConfig.paper,
        clock: { kind: 'manual' },
        startMs: Date.UTC(2026, 0, 1),
      }),
    );
    try {
      const trading = await openVenueDirectory(paperConfig, { hub });
      assert.equal((await trading.port('paper', 'main').fetchBalances()).length, 1);
      await trading.close();

      const market = await openVenueDirectory(paperConfig, { hub, access: 'public' });
      const port = market.marketPort('paper');
      assert.equal(port.account, PUBLIC_ACCOUNT);
      assert.equal((await port.loadMarkets())[0]?.instrument, 'BTC-USDC-PERP');
      assert.deepEqual(
        port.readiness().map((c) => c.component),
        ['markets', 'market stream'],
      );
      await assert.rejects(
        port.fetchBalances(),
        (err) => err instanceof ValidationError && /public/.test(err.message),
      );
      await assert.rejects(port.createOrder({} as never), /public market data only/);
      await market.close();
    } finally {
      hub.close();
    }
  });
});
