import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { z } from 'zod';
import { ConfigError, configArgsFromArgv, loadConfig, parseConfig } from './config.js';
import {
  baseConfigSchema,
  decimalString,
  durationMs,
  parseDurationMs,
  portSchema,
  SECRET_LITERAL_MESSAGE,
  secretSchema,
  serviceConfigSchema,
} from './config-schemas.js';
import { Secret } from './secret.js';

const FIXTURE = new URL('./fixtures/perpmesh.sample.yaml', import.meta.url).pathname;

const executionSchema = serviceConfigSchema(
  'execution',
  {
    grpcPort: portSchema.default(50051),
    orderTimeout: durationMs.default(10_000),
    maxOrderNotional: decimalString.optional(),
    venues: z.record(z.string(), z.strictObject({ takerFee: decimalString })).default({}),
  },
  { defaultHttpPort: 9101 },
);

const tmp = mkdtempSync(join(tmpdir(), 'pm-runtime-config-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function writeTmp(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${inspect(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

const baseEnv = { PERPMESH_TEST_TOKEN: 'tok-123' };

describe('loadConfig', () => {
  test('reads the YAML file, applies defaults and resolves the token secret', () => {
    const { config, sourcePath, overrides } = loadConfig(executionSchema, { path: FIXTURE, env: baseEnv });
    assert.equal(sourcePath, FIXTURE);
    assert.deepEqual(overrides, []);
    assert.equal(config.mode, 'distributed');
    assert.equal(config.redis.db, 3);
    assert.equal(config.redis.keyPrefix, 'pm:');
    assert.equal(config.execution.grpcPort, 50051);
    assert.equal(config.execution.orderTimeout, 30_000);
    assert.equal(config.execution.maxOrderNotional, '250000.50');
    assert.deepEqual(config.execution.http, { host: '127.0.0.1', port: 9101 });
    assert.ok(config.auth.token instanceof Secret);
    assert.equal(config.auth.token.reveal(), 'tok-123');
    assert.equal(config.auth.token.source, 'env PERPMESH_TEST_TOKEN');
    // Other services' sections are not part of this service's config.
    assert.equal((config as Record<string, unknown>).marketData, undefined);
  });

  test('an empty config gives every default', () => {
    const { config } = parseConfig(baseConfigSchema, {}, { env: {} });
    assert.deepEqual(config, {
      dataDir: './data',
      mode: 'embedded',
      namespace: '',
      log: { level: 'info', format: 'auto' },
      nats: { url: 'nats://127.0.0.1:4222', replicas: 1 },
      redis: { url: 'redis://127.0.0.1:6379', keyPrefix: 'pm:' },
      auth: {},
      tls: { requireClientCert: false },
    });
  });

  test('PERPMESH_CONFIG names the file; an explicit missing file is an error, the default one a warning', () => {
    const path = writeTmp('env-named.yaml', 'mode: distributed\n');
    assert.equal(loadConfig(baseConfigSchema, { env: { PERPMESH_CONFIG: path } }).config.mode, 'distributed');

    const missing = join(tmp, 'nope.yaml');
    const err = configError(() => loadConfig(baseConfigSchema, { env: { PERPMESH_CONFIG: missing } }));
    assert.match(err.message, /config file not found: .*nope\.yaml/);

    const loaded = loadConfig(baseConfigSchema, { env: {}, cwd: tmp });
    assert.equal(loaded.sourcePath, undefined);
    assert.match(loaded.warnings.join('\n'), /no config file at .*config\/perpmesh\.yaml/);
  });

  test('a YAML syntax error names file and line but not the line text', () => {
    const path = writeTmp('broken.yaml', 'auth:\n  token: "abc-secret-literal\nmode: [\n');
    const err = configError(() => loadConfig(baseConfigSchema, { path, env: {} }));
    assert.match(err.message, /broken\.yaml line \d+, column \d+/);
    assert.doesNotMatch(err.message, /abc-secret-literal/);
  });
});

describe('validation errors', () => {
  test('a bad field fails naming its dotted path and the bad value', () => {
    const err = configError(() =>
      parseConfig(executionSchema, { execution: { grpcPort: 'abc' } }, { env: {} }),
    );
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.deepEqual(
      err.issues.map((i) => i.message),
      ['execution.grpcPort: expected a port number 1-65535 (or 0 for any free port), got "abc"'],
    );
  });

  test('every bad field is listed at once', () => {
    const raw = {
      mode: 'cluster',
      log: { level: 'loud' },
      redis: { db: -1 },
      execution: {
        grpcPort: 70000,
        orderTimeout: 'soon',
        maxOrderNotional: '12,5',
        grpcPrt: 1,
        venues: { paper: { takerFee: 'cheap' } },
      },
    };
    const err = configError(() => parseConfig(executionSchema, raw, { env: {} }));
    const byPath = new Map(err.issues.map((i) => [i.path, i.message]));
    assert.deepEqual([...byPath.keys()].sort(), [
      'execution.grpcPort',
      'execution.grpcPrt',
      'execution.maxOrderNotional',
      'execution.orderTimeout',
      'execution.venues.paper.takerFee',
      'log.level',
      'mode',
      'redis.db',
    ]);
    assert.match(byPath.get('mode')!, /^mode: .*"embedded".*, got "cluster"$/);
    assert.match(byPath.get('execution.grpcPort')!, /got 70000$/);
    assert.match(byPath.get('execution.orderTimeout')!, /expected a duration .*, got "soon"$/);
    assert.match(byPath.get('execution.maxOrderNotional')!, /expected a decimal .*, got "12,5"$/);
    assert.match(byPath.get('execution.venues.paper.takerFee')!, /got "cheap"$/);
    assert.match(byPath.get('execution.grpcPrt')!, /unknown key \(allowed here: http, grpcPort,/);
    assert.match(byPath.get('redis.db')!, /got -1$/);
    for (const issue of err.issues) assert.ok(err.message.includes(issue.message));
  });

  test('a missing required field says so', () => {
    const schema = serviceConfigSchema(
      'strategy',
      { instanceId: z.string().min(1) },
      { defaultHttpPort: 9104 },
    );
    const err = configError(() => parseConfig(schema, {}, { env: {} }));
    assert.deepEqual(
      err.issues.map((i) => i.message),
      ['strategy.instanceId: expected string (missing)'],
    );
  });

  test('a password inside a server URL is refused and masked in the message', () => {
    const err = configError(() =>
      parseConfig(baseConfigSchema, { redis: { url: 'redis://app:hunter2@db:6379' } }, { env: {} }),
    );
    assert.match(err.message, /redis\.url: the URL contains a password; .*redis\.password/);
    assert.match(err.message, /redis:\/\/app:\*\*\*@db:6379/);
    assert.doesNotMatch(err.message, /hunter2/);
  });
});

describe('overrides', () => {
  test('an env override wins over the YAML file', () => {
    const { config, overrides } = loadConfig(executionSchema, {
      path: FIXTURE,
      env: { ...baseEnv, PERPMESH__EXECUTION__GRPC_PORT: '50061' },
    });
    assert.equal(config.execution.grpcPort, 50061);
    assert.deepEqual(overrides, ['env PERPMESH__EXECUTION__GRPC_PORT -> execution.grpcPort']);
  });

  test('segments match keys case-insensitively, ignoring _ and -', () => {
    const schema = serviceConfigSchema(
      'marketData',
      { bookDepth: z.int().default(10) },
      { defaultHttpPort: 9103 },
    );
    const { config } = parseConfig(
      schema,
      {},
      {
        env: { PERPMESH__MARKET_DATA__BOOK_DEPTH: '25', perpmesh__market_data__http__port: '9999' },
      },
    );
    assert.equal(config.marketData.bookDepth, 25);
    // Only the exact PERPMESH__ prefix counts: the lowercase variable is not an override.
    assert.equal(config.marketData.http.port, 9103);
  });

  test('values are YAML scalars, except where the schema wants text', () => {
    const schema = serviceConfigSchema(
      'strategy',
      {
        enabled: z.boolean().default(false),
        instruments: z.array(z.string()).default([]),
        label: z.string().default(''),
        spread: decimalString.default('0'),
        window: durationMs.default(0),
      },
      { defaultHttpPort: 9104 },
    );
    const { config } = parseConfig(
      schema,
      {},
      {
        env: {
          PERPMESH__STRATEGY__ENABLED: 'true',
          PERPMESH__STRATEGY__INSTRUMENTS: '[BTC-USDC-PERP, ETH-USDC-PERP]',
          PERPMESH__STRATEGY__LABEL: '0x10',
          PERPMESH__STRATEGY__SPREAD: '0.12345678901234567890',
          PERPMESH__STRATEGY__WINDOW: '5m',
        },
      },
    );
    assert.equal(config.strategy.enabled, true);
    assert.deepEqual(config.strategy.instruments, ['BTC-USDC-PERP', 'ETH-USDC-PERP']);
    assert.equal(config.strategy.label, '0x10');
    assert.equal(config.strategy.spread, '0.12345678901234567890');
    assert.equal(config.strategy.window, 300_000);
  });

  test('record entries keep an existing key spelling, else take camelCase', () => {
    const { config } = parseConfig(
      executionSchema,
      { execution: { venues: { 'paper-lighter': { takerFee: '0.0005' } } } },
      {
        env: {
          PERPMESH__EXECUTION__VENUES__PAPER_LIGHTER__TAKER_FEE: '0.0004',
          PERPMESH__EXECUTION__VENUES__OKX__TAKER_FEE: '0.0005',
        },
      },
    );
    assert.deepEqual(config.execution.venues, {
      'paper-lighter': { takerFee: '0.0004' },
      okx: { takerFee: '0.0005' },
    });
  });

  test('precedence: YAML < well-known env < PERPMESH__ env < --set', () => {
    const raw = { nats: { url: 'nats://yaml:4222' }, dataDir: '/yaml', log: { level: 'warn' } };
    const env = {
      NATS_URL: 'nats://wellknown:4222',
      PERPMESH_DATA_DIR: '/wellknown',
      PERPMESH_LOG_LEVEL: 'debug',
      PERPMESH__DATA_DIR: '/prefixed',
      PERPMESH__LOG__LEVEL: 'error',
    };
    const { config } = parseConfig(baseConfigSchema, raw, { env, argvOverrides: { 'log.level': 'trace' } });
    assert.equal(config.nats.url, 'nats://wellknown:4222');
    assert.equal(config.dataDir, '/prefixed');
    assert.equal(config.log.level, 'trace');
  });

  test('log.format: auto by default, PERPMESH__LOG__FORMAT sets it, an unknown format names the field', () => {
    assert.equal(parseConfig(baseConfigSchema, {}, { env: {} }).config.log.format, 'auto');
    const { config } = parseConfig(
      baseConfigSchema,
      { log: { format: 'pretty' } },
      {
        env: { PERPMESH__LOG__FORMAT: 'json' },
      },
    );
    assert.equal(config.log.format, 'json');
    const err = configError(() => parseConfig(baseConfigSchema, { log: { format: 'colour' } }, { env: {} }));
    assert.match(err.message, /log\.format/);
  });

  test('a bad override is reported with the variable that set it', () => {
    const err = configError(() =>
      parseConfig(
        executionSchema,
        {},
        {
          env: {
            PERPMESH__EXECUTION__HTTP__PORT: 'eighty',
            PERPMESH__EXECUTION__GRPC_PROT: '1',
            PERPMESH__LOG____X: '1',
          },
        },
      ),
    );
    const messages = err.issues.map((i) => i.message).sort();
    assert.deepEqual(messages, [
      'env PERPMESH__EXECUTION__GRPC_PROT: no config key matches "GRPC_PROT"',
      'env PERPMESH__LOG____X: empty key segment (use __ only between keys)',
      'execution.http.port: expected a port number 1-65535 (or 0 for any free port), got "eighty" (from env PERPMESH__EXECUTION__HTTP__PORT)',
    ]);
  });

  test('well-known names apply only where the schema has the path', () => {
    const schema = z.object({ dataDir: z.string().default('x') });
    const { config } = parseConfig(
      schema,
      {},
      { env: { NATS_URL: 'nats://elsewhere:4222', PERPMESH_DATA_DIR: '/d' } },
    );
    assert.deepEqual(config, { dataDir: '/d' });
  });

  test('configArgsFromArgv reads --config and repeated --set', () => {
    assert.deepEqual(
      configArgsFromArgv([
        'node',
        'main.js',
        '--config',
        'a.yaml',
        '--set',
        'log.level=debug',
        '--set=x.y=a=b',
      ]),
      {
        path: 'a.yaml',
        argvOverrides: { 'log.level': 'debug', 'x.y': 'a=b' },
      },
    );
    const err = configError(() => configArgsFromArgv(['--set', 'novalue']));
    assert.match(err.message, /--set: expected key\.path=value, got "novalue"/);
  });
});

describe('secrets', () => {
  const schema = z.object({
    venue: z.strictObject({ apiKey: secretSchema, apiSecret: secretSchema.optional() }),
  });

  test('{ env } and { file } are resolved into Secrets; a file loses its trailing newline', () => {
    const file = writeTmp('api-secret', 'from-file-value\n');
    const { config } = parseConfig(
      schema,
      { venue: { apiKey: { env: 'VENUE_KEY' }, apiSecret: { file } } },
      {
        env: { VENUE_KEY: 'from-env-value' },
      },
    );
    assert.equal(config.venue.apiKey.reveal(), 'from-env-value');
    assert.equal(config.venue.apiSecret?.reveal(), 'from-file-value');
    assert.equal(config.venue.apiSecret?.source, `file ${file}`);
  });

  test('relative { file } paths resolve against cwd', () => {
    writeTmp('relative-secret', 'rel');
    const { config } = parseConfig(
      schema,
      { venue: { apiKey: { file: 'relative-secret' } } },
      { env: {}, cwd: tmp },
    );
    assert.equal(config.venue.apiKey.reveal(), 'rel');
  });

  test('a literal secret is rejected without showing the value', () => {
    const err = configError(() => parseConfig(schema, { venue: { apiKey: 'sk-live-literal' } }, { env: {} }));
    assert.deepEqual(
      err.issues.map((i) => i.message),
      [`venue.apiKey: ${SECRET_LITERAL_MESSAGE} (value not shown)`],
    );
    assert.doesNotMatch(err.message, /sk-live-literal/);
  });

  test('missing variable, missing file and a malformed reference are each explained', () => {
    const err = configError(() =>
      parseConfig(
        schema,
        {
          venue: { apiKey: { env: 'NOT_SET_ANYWHERE' }, apiSecret: { file: join(tmp, 'absent'), env: 'X' } },
        },
        { env: {} },
      ),
    );
    const messages = err.issues.map((i) => i.message);
    assert.ok(
      messages.includes('venue.apiKey: environment variable NOT_SET_ANYWHERE is not set (value not shown)'),
    );
    assert.ok(
      messages.includes(
        'venue.apiSecret: expected exactly one of { env: VAR_NAME } or { file: /path/to/file } (value not shown)',
      ),
    );
    const fileErr = configError(() =>
      parseConfig(schema, { venue: { apiKey: { file: join(tmp, 'absent') } } }, { env: {} }),
    );
    assert.match(fileErr.message, /cannot read secret file .*absent: ENOENT/);
  });

  test('PERPMESH_TOKEN and PERPMESH__AUTH__TOKEN set the token from the environment', () => {
    const viaWellKnown = parseConfig(baseConfigSchema, {}, { env: { PERPMESH_TOKEN: 'wk-token' } });
    assert.equal(viaWellKnown.config.auth.token?.reveal(), 'wk-token');
    assert.equal(viaWellKnown.config.auth.token?.source, 'env PERPMESH_TOKEN');
    const viaPath = parseConfig(baseConfigSchema, {}, { env: { PERPMESH__AUTH__TOKEN: 'path-token' } });
    assert.equal(viaPath.config.auth.token?.reveal(), 'path-token');
  });

  test('a secret cannot be set on the command line', () => {
    const err = configError(() =>
      parseConfig(baseConfigSchema, {}, { env: {}, argvOverrides: { 'auth.token': 'argv-tok' } }),
    );
    assert.match(err.message, /auth\.token is a secret; set it from the environment/);
    assert.doesNotMatch(err.message, /argv-tok/);
  });
});

describe('schema pieces', () => {
  test('durations', () => {
    assert.equal(parseDurationMs('250ms'), 250);
    assert.equal(parseDurationMs('30s'), 30_000);
    assert.equal(parseDurationMs('5m'), 300_000);
    assert.equal(parseDurationMs('8h'), 28_800_000);
    assert.equal(parseDurationMs('1d'), 86_400_000);
    assert.equal(parseDurationMs('1h30m'), 5_400_000);
    assert.equal(parseDurationMs('1.5s'), 1500);
    assert.equal(parseDurationMs(1200), 1200);
    assert.equal(parseDurationMs('1200'), 1200);
    for (const bad of ['', 's', '5 minutes', '-1s', '1.0005s', 1.5, -1, null, '1y']) {
      assert.equal(parseDurationMs(bad), undefined, `${String(bad)} should not parse`);
    }
  });

  test('decimal strings stay strings and refuse lossy floats', () => {
    assert.equal(decimalString.parse('0.00020'), '0.00020');
    assert.equal(decimalString.parse(0.0002), '0.0002');
    assert.equal(decimalString.parse(42), '42');
    assert.equal(decimalString.parse(0.0000001), '0.0000001');
    assert.equal(decimalString.safeParse(0.12345678901234568).success, false);
    assert.equal(decimalString.safeParse('1e').success, false);
    assert.equal(decimalString.safeParse('abc').success, false);
    assert.equal(decimalString.safeParse(Number.NaN).success, false);
  });

  test('ports', () => {
    assert.equal(portSchema.parse(0), 0);
    assert.equal(portSchema.parse(65535), 65535);
    for (const bad of [-1, 65536, 1.5, '80']) assert.equal(portSchema.safeParse(bad).success, false);
  });

  test('serviceConfigSchema wants a camelCase key', () => {
    assert.throws(() => serviceConfigSchema('market-data', {}, { defaultHttpPort: 1 }), /camelCase/);
  });
});
