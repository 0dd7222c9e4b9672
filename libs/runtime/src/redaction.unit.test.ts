/**
 * A canary credential goes through config loading, errors and logging; it must show up in
 * no log line and no error message. Each case also checks the line was written at all,
 * so a logger that printed nothing could not pass.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { format, inspect } from 'node:util';
import { z } from 'zod';
import { ConfigError, loadConfig } from './config.js';
import { secretSchema, serviceConfigSchema } from './config-schemas.js';
import { createLogger, type Logger, REDACT_DEPTH } from './logger.js';
import { REDACTED, Secret } from './secret.js';

const CANARY = 'canary-7f3a9c1e-do-not-log';

function capture(options: { format?: 'json' | 'pretty' } = {}): { logger: Logger; output: () => string } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ service: 'redaction-test', level: 'trace', destination, ...options });
  return { logger, output: () => chunks.join('') };
}

const schema = serviceConfigSchema(
  'execution',
  {
    // `signer` is deliberately not a credential-looking key: only the Secret type protects it.
    venue: z.strictObject({ id: z.string(), apiKey: secretSchema, signer: secretSchema.optional() }),
  },
  { defaultHttpPort: 9101 },
);

const tmp = mkdtempSync(join(tmpdir(), 'pm-runtime-redaction-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function writeConfig(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

describe('a canary secret never reaches a log line', () => {
  test('Secret renders as [REDACTED] through every printing path', () => {
    const secret = new Secret(CANARY);
    const renderings = [
      String(secret),
      `${secret}`,
      JSON.stringify({ secret }),
      inspect(secret),
      inspect({ nested: { secret } }, { depth: 10 }),
      format('%s %o %O %j', secret, secret, secret, secret),
      JSON.stringify({ ...secret }),
      Object.keys(secret).join(','),
    ];
    for (const text of renderings) assert.ok(!text.includes(CANARY), `leaked in: ${text}`);
    assert.ok(renderings[0]!.includes(REDACTED));
    assert.equal(secret.reveal(), CANARY);
  });

  test('logging the whole loaded config', () => {
    const path = writeConfig(
      'good.yaml',
      'auth:\n  token: { env: CANARY_TOKEN }\nexecution:\n  venue:\n    id: paper\n    apiKey: { env: CANARY_KEY }\n' +
        `    signer: { file: ${join(tmp, 'pk')} }\n`,
    );
    writeFileSync(join(tmp, 'pk'), `${CANARY}\n`);
    const { config } = loadConfig(schema, { path, env: { CANARY_TOKEN: CANARY, CANARY_KEY: CANARY } });
    assert.equal(config.auth.token?.reveal(), CANARY);
    assert.equal(config.execution.venue.signer?.reveal(), CANARY);

    const { logger, output } = capture();
    logger.info({ config }, 'config loaded');
    logger.info(config, 'config as merge object');
    logger.debug('config %o', config);
    logger.debug(`config ${inspect(config, { depth: 10 })}`);
    const text = output();
    assert.match(text, /config loaded/);
    assert.match(text, /"venue":\{"id":"paper","apiKey":"\[REDACTED\]","signer":"\[REDACTED\]"/);
    assert.ok(!text.includes(CANARY), text);
  });

  test('logging the error of a failed config load (literal secret, misplaced secret, bad URL)', () => {
    const path = writeConfig(
      'bad.yaml',
      [
        'auth:',
        `  token: ${CANARY}`,
        'redis:',
        `  url: redis://user:${CANARY}@db:6379`,
        'execution:',
        '  venue:',
        '    id: paper',
        `    apiKey: { env: CANARY_KEY, extra: ${CANARY} }`,
        `    apiKee: ${CANARY}`,
        'nats:',
        `  password: ${CANARY}`,
        '',
      ].join('\n'),
    );
    let error: unknown;
    try {
      loadConfig(schema, { path, env: { CANARY_KEY: CANARY } });
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof ConfigError);
    assert.ok(error.issues.length >= 5, error.message);
    assert.ok(!error.message.includes(CANARY), error.message);
    assert.ok(!inspect(error, { depth: 10 }).includes(CANARY));
    assert.ok(!JSON.stringify(error).includes(CANARY));

    for (const format of ['json', 'pretty'] as const) {
      const { logger, output } = capture({ format });
      logger.error({ err: error }, 'config invalid');
      logger.fatal(error, 'config invalid (error as merge object)');
      logger.error(`config invalid: ${error.message}`);
      const text = output();
      assert.match(text, /auth\.token: secrets are not accepted inline/);
      assert.ok(!text.includes(CANARY), text);
    }
  });

  test('logging a Secret directly, in every argument position', () => {
    const secret = new Secret(CANARY);
    const { logger, output } = capture();
    // Neutral key names: the Secret type alone must keep the value out.
    logger.info({ value: secret }, 'secret field');
    logger.info({ deep: { a: { b: { c: { d: { e: { f: { g: secret } } } } } } } }, 'deeply nested secret');
    logger.info(secret as unknown as object, 'secret as merge object');
    logger.info('format %s %o %j', secret, secret, secret);
    logger.info(`template ${secret}`);
    logger.child({ binding: secret }).info('child binding');
    const text = output();
    assert.equal(text.trim().split('\n').length, 6);
    assert.ok(!text.includes(CANARY), text);
    assert.match(text, /"value":"\[REDACTED\]"/);
  });

  test('credential-named keys are censored whatever their value type, up to REDACT_DEPTH deep', () => {
    const { logger, output } = capture();
    let nested: Record<string, unknown> = { password: CANARY, apiKey: CANARY, 'x-api-key': CANARY };
    for (let level = 0; level < REDACT_DEPTH - 1; level++) nested = { [`level${level}`]: nested };
    logger.info(
      {
        apiKey: CANARY,
        headers: { authorization: `Bearer ${CANARY}`, 'x-api-key': CANARY },
        venue: { credentials: { secret: CANARY, passphrase: CANARY, privateKey: CANARY, token: CANARY } },
        nested,
      },
      'request',
    );
    const text = output();
    assert.match(text, /"request"/);
    assert.match(text, /"authorization":"\[REDACTED\]"/);
    assert.ok(!text.includes(CANARY), text);
  });

  test('human lines on a terminal show secret fields redacted (redaction runs before formatting)', () => {
    const { logger, output } = capture({ format: 'pretty' });
    logger.info({ venue: 'paper', apiKey: CANARY, signer: new Secret(CANARY) }, 'venue connected');
    const text = output();
    assert.ok(!text.trimStart().startsWith('{'), `a human line, not JSON: ${text}`);
    assert.match(text, /venue connected venue=paper apiKey=\[REDACTED\] signer=\[REDACTED\]\n$/);
    assert.ok(!text.includes(CANARY), text);
  });
});
