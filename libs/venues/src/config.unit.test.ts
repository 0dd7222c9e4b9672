/** `venues.<id>`: a union by `kind`, each kind with its own fields; credentials only as references. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig, SECRET_LITERAL_MESSAGE } from '@perpmesh/runtime';
import { z } from 'zod';
import { venueConfigShape } from './config.js';
import { CredentialRef } from './credentials.js';
import './kinds.js';

const schema = z.strictObject(venueConfigShape);

function parse(venues: Record<string, unknown>, env: Record<string, string> = {}) {
  return parseConfig(schema, { venues }, { env }).config.venues;
}

/** The issues of a config that must fail, as `path: message`. */
function issues(venues: Record<string, unknown>): { path: string; message: string }[] {
  try {
    parse(venues);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.issues.map((i) => ({ path: i.path, message: i.message }));
  }
  assert.fail('the config was accepted');
}

function issueAt(venues: Record<string, unknown>, path: string): string {
  const all = issues(venues);
  const found = all.find((i) => i.path === path);
  assert.ok(found, `an issue at ${path}; got ${JSON.stringify(all)}`);
  return found.message;
}

const okx = (account: Record<string, unknown>, venue: Record<string, unknown> = {}) => ({
  okx: { kind: 'okx', instruments: ['BTC-USDT-PERP'], accounts: { main: account }, ...venue },
});
const OKX_KEYS = {
  apiKey: { env: 'OKX_KEY' },
  secret: { env: 'OKX_SECRET' },
  passphrase: { file: 'okx.pass' },
};

describe('venues config', () => {
  test('paper keeps its fields and defaults', () => {
    const venues = parse({
      paper: {
        kind: 'paper',
        instruments: ['BTC-USDC-PERP'],
        takerFeeRate: '0.0007',
        fundingInterval: '4h',
        accounts: { main: { paperDeposit: '1000' } },
      },
    });
    assert.deepEqual(venues.paper, {
      kind: 'paper',
      instruments: ['BTC-USDC-PERP'],
      takerFeeRate: '0.0007',
      fundingInterval: 4 * 3_600_000,
      accounts: { main: { apiKeyId: 'default', paperDeposit: '1000' } },
    });
  });

  test('env overrides reach the common fields as text (an apiKeyId of digits stays text)', () => {
    const { config } = parseConfig(
      schema,
      { venues: { paper: { kind: 'paper', instruments: ['BTC-USDC-PERP'], accounts: { main: {} } } } },
      { env: { PERPMESH__VENUES__PAPER__ACCOUNTS__MAIN__API_KEY_ID: '4' } },
    );
    assert.equal(config.venues.paper?.accounts.main?.apiKeyId, '4');
  });

  test('an unknown kind names venues.<id>.kind and lists the kinds', () => {
    const message = issueAt({ x: { kind: 'binance', instruments: ['BTC-USDC-PERP'] } }, 'venues.x.kind');
    assert.match(message, /expected one of .*binanceusdm.*extended.*hyperliquid.*lighter.*okx.*paper/);
  });

  test('a field of another kind is an unknown key at its path (paper has no apiKey)', () => {
    const message = issueAt(
      {
        paper: {
          kind: 'paper',
          instruments: ['BTC-USDC-PERP'],
          accounts: { main: { apiKey: { env: 'K' } } },
        },
      },
      'venues.paper.accounts.main.apiKey',
    );
    assert.match(message, /unknown key for kind paper \(allowed here: apiKeyId, paperDeposit\)/);
  });

  test('credentials parse as references and are not read at parse time', () => {
    // No OKX_KEY in the env: a market-data process parses the same config without the key.
    const venues = parse(okx(OKX_KEYS));
    const account = venues.okx?.accounts.main as unknown as Record<string, unknown>;
    assert.ok(account.passphrase instanceof CredentialRef);
    assert.equal((account.apiKey as CredentialRef).source, 'env OKX_KEY');
    assert.equal(JSON.stringify(account.passphrase), '"file okx.pass"');
  });

  test('a secret given inline is refused at its dotted path, without echoing it', () => {
    const all = issues(okx({ ...OKX_KEYS, passphrase: 'hunter2-passphrase' }));
    const found = all.find((i) => i.path === 'venues.okx.accounts.main.passphrase');
    assert.ok(found, JSON.stringify(all));
    assert.ok(found.message.includes(SECRET_LITERAL_MESSAGE), found.message);
    assert.ok(!JSON.stringify(all).includes('hunter2'), 'the inline value is never echoed');
  });

  test('a missing credential names its path', () => {
    const { passphrase: _, ...withoutPassphrase } = OKX_KEYS;
    assert.match(issueAt(okx(withoutPassphrase), 'venues.okx.accounts.main.passphrase'), /missing/);
  });

  test('endpoint overrides: baseUrl must be http(s), wsUrl ws(s); testnet defaults to false', () => {
    const venues = parse(okx(OKX_KEYS, { baseUrl: 'http://127.0.0.1:4100', wsUrl: 'ws://127.0.0.1:4100' }));
    assert.equal(venues.okx?.baseUrl, 'http://127.0.0.1:4100');
    assert.equal(venues.okx?.testnet, false);
    issueAt(okx(OKX_KEYS, { wsUrl: 'http://127.0.0.1:4100' }), 'venues.okx.wsUrl');
    issueAt(okx(OKX_KEYS, { baseUrl: 'not a url' }), 'venues.okx.baseUrl');
  });

  test('binanceusdm: apiKey and secret', () => {
    const venues = parse({
      binanceusdm: {
        kind: 'binanceusdm',
        instruments: ['BTC-USDT-PERP'],
        testnet: true,
        accounts: { main: { apiKey: { env: 'B_KEY' }, secret: { env: 'B_SECRET' } } },
      },
    });
    assert.equal(venues.binanceusdm?.testnet, true);
    issueAt(
      {
        b: {
          kind: 'binanceusdm',
          instruments: ['BTC-USDT-PERP'],
          accounts: { main: { apiKey: { env: 'B_KEY' } } },
        },
      },
      'venues.b.accounts.main.secret',
    );
  });

  test('hyperliquid: the wallet address is checked, the private key is a reference', () => {
    const hl = (walletAddress: string) => ({
      hyperliquid: {
        kind: 'hyperliquid',
        instruments: ['BTC-USDC-PERP'],
        accounts: { main: { walletAddress, privateKey: { env: 'HL_KEY' } } },
      },
    });
    const address = `0x${'ab'.repeat(20)}`;
    const main = parse(hl(address)).hyperliquid?.accounts.main as unknown as { walletAddress?: string };
    assert.equal(main?.walletAddress, address);
    assert.match(issueAt(hl('0x1234'), 'venues.hyperliquid.accounts.main.walletAddress'), /40 hex digits/);
  });

  describe('lighter', () => {
    const lighter = (account: Record<string, unknown>) => ({
      lighter: {
        kind: 'lighter',
        instruments: ['BTC-USDC-PERP'],
        accounts: { main: { accountIndex: 12, apiPrivateKey: { env: 'LIGHTER_KEY' }, ...account } },
      },
    });

    test('apiKeyId is the (account index, API key index) pair', () => {
      const main = parse(lighter({ apiKeyIndex: 5 })).lighter?.accounts.main;
      assert.equal(main?.apiKeyId, '12:5');
      assert.equal(
        parse(lighter({ apiKeyIndex: 5, apiKeyId: '12:5' })).lighter?.accounts.main?.apiKeyId,
        '12:5',
      );
      assert.match(
        issueAt(lighter({ apiKeyIndex: 5, apiKeyId: '5' }), 'venues.lighter.accounts.main.apiKeyId'),
        /"12:5"/,
      );
    });

    test('two accounts may not share one API key (one nonce sequence)', () => {
      const config = lighter({ apiKeyIndex: 5 });
      const accounts = config.lighter.accounts as Record<string, unknown>;
      accounts.second = { accountIndex: 12, apiKeyIndex: 5, apiPrivateKey: { env: 'LIGHTER_KEY_2' } };
      assert.match(
        issueAt(config, 'venues.lighter.accounts.second.apiKeyIndex'),
        /already used by account "main"/,
      );
    });

    test('the account tier sets the request budget; standard by default', () => {
      const venue = parse(lighter({ apiKeyIndex: 5 })).lighter as unknown as { accountTier: string };
      assert.equal(venue.accountTier, 'standard');
    });

    test("API key indexes 0-3 are the venue's own apps and 255 is all keys", () => {
      assert.match(
        issueAt(lighter({ apiKeyIndex: 3 }), 'venues.lighter.accounts.main.apiKeyIndex'),
        /0-3 belong/,
      );
      assert.match(issueAt(lighter({ apiKeyIndex: 255 }), 'venues.lighter.accounts.main.apiKeyIndex'), /255/);
      issueAt(lighter({ apiKeyIndex: 4.5 }), 'venues.lighter.accounts.main.apiKeyIndex');
    });

    test('the account index is a whole number >= 0', () => {
      issueAt(lighter({ apiKeyIndex: 4, accountIndex: -1 }), 'venues.lighter.accounts.main.accountIndex');
    });

    test("the dead-man switch minimum: the venue's 5 min, shorter only for an emulator or the testnet", () => {
      const withVenue = (venue: Record<string, unknown>) => {
        const config = lighter({ apiKeyIndex: 5 });
        Object.assign(config.lighter, venue);
        return config;
      };
      const minOf = (venue: Record<string, unknown>) =>
        (parse(withVenue(venue)).lighter as unknown as { scheduledCancelAllMin: number })
          .scheduledCancelAllMin;
      assert.equal(minOf({}), 300_000);
      assert.equal(minOf({ baseUrl: 'http://127.0.0.1:4300', scheduledCancelAllMin: '1s' }), 1_000);
      assert.equal(minOf({ testnet: true, scheduledCancelAllMin: '30s' }), 30_000);
      assert.match(
        issueAt(withVenue({ scheduledCancelAllMin: '1m' }), 'venues.lighter.scheduledCancelAllMin'),
        /mainnet takes 5 min/,
      );
      issueAt(
        withVenue({ baseUrl: 'http://127.0.0.1:4300', scheduledCancelAllMin: 'soon' }),
        'venues.lighter.scheduledCancelAllMin',
      );
    });
  });

  describe('extended', () => {
    const extended = (venue: Record<string, unknown>, account: Record<string, unknown> = {}) => ({
      extended: {
        kind: 'extended',
        instruments: ['BTC-USD-PERP'],
        ...venue,
        accounts: {
          main: {
            apiKey: { env: 'EXT_KEY' },
            starkPrivateKey: { file: '/run/secrets/stark' },
            starkPublicKey: '0x1a2b',
            vault: 10_001,
            ...account,
          },
        },
      },
    });

    test('emulated: false unless said; said only of a loopback baseUrl', () => {
      const emulatedOf = (venue: Record<string, unknown>) =>
        (parse(extended(venue)).extended as unknown as { emulated: boolean }).emulated;
      assert.equal(emulatedOf({}), false);
      assert.equal(emulatedOf({ baseUrl: 'http://127.0.0.1:4400', emulated: true }), true);
      assert.equal(emulatedOf({ baseUrl: 'http://localhost:4400', emulated: true }), true);
      assert.match(
        issueAt(
          extended({ baseUrl: 'https://api.starknet.extended.exchange', emulated: true }),
          'venues.extended.emulated',
        ),
        /loopback baseUrl/,
      );
      assert.match(issueAt(extended({ emulated: true }), 'venues.extended.emulated'), /loopback baseUrl/);
    });

    test('the signing chain id is explicit: from testnet unless given', () => {
      assert.equal(parse(extended({})).extended?.chainId, 'SN_MAIN');
      assert.equal(parse(extended({ testnet: true })).extended?.chainId, 'SN_SEPOLIA');
      assert.equal(
        parse(extended({ baseUrl: 'http://127.0.0.1:4200', chainId: 'SN_SEPOLIA' })).extended?.chainId,
        'SN_SEPOLIA',
      );
      issueAt(extended({ chainId: 'SN_GOERLI' }), 'venues.extended.chainId');
    });

    test('vault and stark public key', () => {
      const main = parse(extended({})).extended?.accounts.main as unknown as { vault: string };
      assert.equal(main.vault, '10001');
      issueAt(extended({}, { vault: -3 }), 'venues.extended.accounts.main.vault');
      assert.match(
        issueAt(extended({}, { starkPublicKey: 'abc' }), 'venues.extended.accounts.main.starkPublicKey'),
        /0x/,
      );
    });
  });
});
