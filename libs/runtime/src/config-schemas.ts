/**
 * Reusable zod pieces for perpmesh config: ports, durations, decimals, secrets, URLs,
 * and the common section every service shares (`baseConfigSchema`).
 *
 * Messages here never contain the offending value: `ConfigError` appends it
 * (`, got "abc"`), and leaves it out for secret fields.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDecimal, toWire } from '@perpmesh/core';
import { z } from 'zod';
import { Secret } from './secret.js';

/** Schemas whose value is a credential: never printed, only settable by env reference. */
const secretSchemas = new WeakSet<z.ZodType>();
/** Schemas that take raw text from env/argv overrides (no YAML typing), e.g. decimals. */
const textSchemas = new WeakSet<z.ZodType>();

export function isSecretSchema(schema: z.ZodType): boolean {
  return secretSchemas.has(schema);
}

export function isTextSchema(schema: z.ZodType): boolean {
  return textSchemas.has(schema);
}

// ---- ports, durations, decimals -------------------------------------------------------

const PORT_MESSAGE = 'expected a port number 1-65535 (or 0 for any free port)';

/** A TCP port. 0 means "any free port" (tests); the bound port is reported by the server. */
export const portSchema = z
  .int({ error: PORT_MESSAGE })
  .min(0, { error: PORT_MESSAGE })
  .max(65535, { error: PORT_MESSAGE });

const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_TEXT = /^(\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const DURATION_MESSAGE =
  'expected a duration such as "500ms", "30s", "5m", "8h", "1d", "1h30m" or a number of ms';

/** Parses `"30s"`, `"5m"`, `"8h"`, `"1h30m"`, `"250ms"` or a whole number of ms; undefined if not one. */
export function parseDurationMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  if (!DURATION_TEXT.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(DURATION_PART)) {
    total += Number(amount) * DURATION_UNIT_MS[unit as string]!;
  }
  // Sub-millisecond remainders ("1.0005s") are a typo, not a wish.
  return Number.isSafeInteger(total) ? total : undefined;
}

/** A duration in whole milliseconds; accepts `"30s"`, `"5m"`, `"8h"` or a number of ms. */
export const durationMs = z.unknown().transform((value, ctx): number => {
  const ms = parseDurationMs(value);
  if (ms === undefined) {
    ctx.issues.push({ code: 'custom', message: DURATION_MESSAGE, input: value });
    return z.NEVER;
  }
  return ms;
});

// A binary double keeps 15 significant decimal digits exactly; beyond that a YAML number
// may already have been rounded by the parser, so we ask for quotes instead of guessing.
const MAX_EXACT_FLOAT_DIGITS = 15;

function significantDigits(text: string): number {
  const mantissa = text.replace(/^[+-]/, '').replace(/e.*$/i, '').replace('.', '');
  return mantissa.replace(/^0+/, '').replace(/0+$/, '').length;
}

/**
 * Decimal text (prices, sizes, fees, rates). The output stays a string, validated with
 * `parseDecimal`, so no float ever touches the value; convert with `dec()` where used.
 * Unquoted YAML numbers are accepted only when no precision can have been lost.
 */
export const decimalString = z.unknown().transform((value, ctx): string => {
  if (typeof value === 'number') {
    const text = String(value);
    if (!Number.isFinite(value) || significantDigits(text) > MAX_EXACT_FLOAT_DIGITS) {
      ctx.issues.push({
        code: 'custom',
        message:
          'expected a decimal; quote decimals with more than 15 significant digits ("0.1234...") to keep them exact',
        input: value,
      });
      return z.NEVER;
    }
    // Plain notation: YAML's 0.0000001 is the number 1e-7. Same limits as text (DECIMAL_LIMITS).
    try {
      return toWire(parseDecimal(value, 'value'));
    } catch {
      ctx.issues.push({
        code: 'custom',
        message: 'expected a decimal below 1e30 in magnitude with at most 60 significant digits',
        input: value,
      });
      return z.NEVER;
    }
  }
  if (typeof value === 'string') {
    try {
      // The one strict grammar and limits of core's parseDecimal: no spaces, no "+", no ".5".
      parseDecimal(value, 'value');
      return value;
    } catch {
      // fall through to the issue below
    }
  }
  ctx.issues.push({ code: 'custom', message: 'expected a decimal number such as "0.0002"', input: value });
  return z.NEVER;
});
textSchemas.add(decimalString);

// ---- secrets ---------------------------------------------------------------------------

/** Where `{ env }` and `{ file }` secret references are resolved. Set by `parseConfig`. */
export interface SecretSource {
  env: Readonly<Record<string, string | undefined>>;
  /** Base directory for relative `{ file }` paths. */
  cwd: string;
  readFile(path: string): string;
}

const processSecretSource: SecretSource = {
  env: process.env,
  cwd: process.cwd(),
  readFile: (path) => readFileSync(path, 'utf8'),
};

// zod parses synchronously, so one module-level slot set around the parse is enough to
// hand the schema the env/cwd of this particular load (tests pass their own env).
let activeSecretSource: SecretSource | undefined;

export function withSecretSource<T>(source: SecretSource, fn: () => T): T {
  const previous = activeSecretSource;
  activeSecretSource = source;
  try {
    return fn();
  } finally {
    activeSecretSource = previous;
  }
}

export const SECRET_LITERAL_MESSAGE =
  'secrets are not accepted inline; put the value in an environment variable and write ' +
  '{ env: VAR_NAME }, or in a file and write { file: /path/to/file }';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A credential: `{ env: NAME }` or `{ file: path }`, resolved when the config is loaded
 * into a `Secret`. A literal value in the config is rejected (it would sit in a file that
 * gets copied, diffed and pasted into tickets). A file's trailing newline is dropped.
 */
export const secretSchema = z.unknown().transform((input, ctx): Secret => {
  const fail = (message: string): never => {
    // No `input` on the issue: the raw value must never reach an error object.
    ctx.issues.push({ code: 'custom', message, input: undefined });
    return z.NEVER as never;
  };
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    return fail(SECRET_LITERAL_MESSAGE);
  const keys = Object.keys(input);
  const ref = input as { env?: unknown; file?: unknown };
  if (keys.length !== 1 || (ref.env === undefined && ref.file === undefined)) {
    return fail('expected exactly one of { env: VAR_NAME } or { file: /path/to/file }');
  }
  const source = activeSecretSource ?? processSecretSource;
  if (ref.env !== undefined) {
    if (typeof ref.env !== 'string' || !ENV_NAME.test(ref.env)) {
      return fail('env: expected an environment variable name such as PERPMESH_TOKEN');
    }
    const value = source.env[ref.env];
    if (value === undefined) return fail(`environment variable ${ref.env} is not set`);
    if (value === '') return fail(`environment variable ${ref.env} is empty`);
    return new Secret(value, `env ${ref.env}`);
  }
  if (typeof ref.file !== 'string' || ref.file === '') return fail('file: expected a file path');
  const path = resolve(source.cwd, ref.file);
  let text: string;
  try {
    text = source.readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read failed';
    return fail(`cannot read secret file ${path}: ${code}`);
  }
  const value = text.replace(/\r?\n$/, '');
  if (value === '') return fail(`secret file ${path} is empty`);
  return new Secret(value, `file ${path}`);
});
secretSchemas.add(secretSchema);

// ---- URLs ------------------------------------------------------------------------------

/**
 * A server URL with one of `protocols`. A password inside the URL is refused: URLs get
 * logged, so credentials go in their own secret field (e.g. `redis.password`).
 */
export function serverUrlSchema(protocols: readonly string[], passwordField: string) {
  return z.string().superRefine((text, ctx) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: `expected a URL such as ${protocols[0]}//127.0.0.1` });
      return;
    }
    if (!protocols.includes(url.protocol)) {
      ctx.addIssue({ code: 'custom', message: `expected a URL starting with ${protocols.join(' or ')}//` });
    }
    if (url.password) {
      ctx.addIssue({
        code: 'custom',
        message: `the URL contains a password; remove it and set ${passwordField} as { env: VAR_NAME } or { file: path }`,
      });
    }
  });
}

// ---- listeners -------------------------------------------------------------------------

/**
 * Where a listener binds (`<service>.grpcHost`, `<service>.http.host`): 127.0.0.1 unless
 * opened explicitly. Any other address needs `auth.token` or mutual TLS (see
 * `listenerExposureProblem`), or the process refuses to start.
 */
export const listenHostSchema = z
  .string()
  .regex(/^[A-Za-z0-9.:[\]_-]{1,253}$/, { error: 'expected an IP address or host name such as 127.0.0.1' })
  .default('127.0.0.1');

/**
 * TLS for gRPC, from PEM files. `certFile` + `keyFile`: this process's gRPC servers speak
 * TLS. `caFile`: the CA its clients verify servers with (and, with `requireClientCert`,
 * the CA its servers verify client certificates with: mutual TLS, where the same
 * `certFile`/`keyFile` are the client certificate). A client uses TLS when `caFile` or
 * `certFile` is set.
 */
export const tlsSectionSchema = z
  .strictObject({
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    caFile: z.string().min(1).optional(),
    requireClientCert: z.boolean().default(false),
  })
  .prefault({})
  .superRefine((tls, ctx) => {
    if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
      const missing = tls.certFile === undefined ? 'certFile' : 'keyFile';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'tls.certFile and tls.keyFile go together' });
    }
    if (tls.requireClientCert && (tls.caFile === undefined || tls.certFile === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['requireClientCert'],
        message: 'mutual TLS needs tls.caFile (to verify clients) and tls.certFile / tls.keyFile',
      });
    }
  });
export type TlsSection = z.output<typeof tlsSectionSchema>;

// ---- the common section ----------------------------------------------------------------

export const logLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
export type LogLevel = z.output<typeof logLevelSchema>;
export const logFormatSchema = z.enum(['auto', 'json', 'pretty']);
export type LogFormat = z.output<typeof logFormatSchema>;

export const runModeSchema = z.enum(['embedded', 'distributed']);
/** `embedded`: every service in one process, embedded log and store; `distributed`: NATS + Redis. */
export type RunMode = z.output<typeof runModeSchema>;

/** The fields every service's config has, at the top level of the YAML file. */
export const baseConfigShape = {
  /** Where the embedded event log and store persist (relative to the working directory). */
  dataDir: z.string().min(1).default('./data'),
  mode: runModeSchema.default('embedded'),
  /**
   * Isolates one deployment's streams, subjects and Redis keys from another's on shared
   * servers (tests, side-by-side runs): contracts' `namespaceFor(namespace)` gives the
   * stream prefix and subject root. Empty = the production names (MD, md.book.…).
   */
  namespace: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/, { error: 'expected letters, digits, "_" or "-"' })
    .default(''),
  log: z
    .strictObject({
      level: logLevelSchema.default('info'),
      /**
       * `auto`: short human lines when stdout is a terminal, JSON otherwise (pipes, files,
       * containers: what log shippers want); `json` / `pretty` force one.
       */
      format: logFormatSchema.default('auto'),
    })
    .prefault({}),
  nats: z
    .strictObject({
      url: serverUrlSchema(['nats:', 'tls:', 'ws:', 'wss:'], 'nats.password or nats.token').default(
        'nats://127.0.0.1:4222',
      ),
      user: z.string().min(1).optional(),
      password: secretSchema.optional(),
      token: secretSchema.optional(),
      /** JetStream replicas of every stream: 1 for a single server, 3 in a 3-node cluster. */
      replicas: z.int().min(1).max(5).default(1),
      /**
       * Client ping interval (ms) and unanswered pings before a connection counts as dead: how
       * soon a server that stops answering is noticed. Absent: libs/bus defaults (3 s x 2).
       */
      pingIntervalMs: z.int().min(100).max(600_000).optional(),
      maxPingsOut: z.int().min(1).max(100).optional(),
    })
    .prefault({}),
  redis: z
    .strictObject({
      url: serverUrlSchema(['redis:', 'rediss:'], 'redis.password').default('redis://127.0.0.1:6379'),
      username: z.string().min(1).optional(),
      password: secretSchema.optional(),
      /** Database index; when absent the one in the URL (or 0) is used. */
      db: z.int().min(0).max(255).optional(),
      /** Every key perpmesh writes starts with this (see libs/state for the key catalog). */
      keyPrefix: z.string().default('pm:'),
      /**
       * A store call with no answer within this many ms fails (outcome unknown) and a silent
       * connection is reconnected. Absent: libs/state's default (3 s).
       */
      commandTimeoutMs: z.int().min(1).max(600_000).optional(),
    })
    .prefault({}),
  auth: z
    .strictObject({
      /**
       * Bearer token every gRPC server demands when set (`authorization: Bearer <token>`),
       * the gateway demands for actions (and for reads beyond loopback), and every client
       * (CLI, gateway, strategy) sends. Required to listen beyond loopback (or mutual TLS).
       */
      token: secretSchema.optional(),
    })
    .prefault({}),
  tls: tlsSectionSchema,
};

export const baseConfigSchema = z.object(baseConfigShape);
export type BaseConfig = z.output<typeof baseConfigSchema>;

/** The HTTP listener of a service: `/healthz`, `/readyz`, `/metrics`. */
export function httpSectionSchema(defaultPort: number) {
  return z
    .strictObject({
      // Loopback unless opened explicitly (containers: 0.0.0.0, with auth.token set).
      host: listenHostSchema,
      port: portSchema.default(defaultPort),
    })
    .prefault({});
}

const SERVICE_KEY = /^[a-z][a-zA-Z0-9]*$/;

/**
 * The one config parser of a service: the common section plus the service's own section
 * under `name` (camelCase, e.g. `execution`, `marketData`), which always has `http`.
 * Service sections are strict (a misspelt key is an error); the top level is open so one
 * file can hold every service's section.
 *
 *   const executionConfigSchema = serviceConfigSchema('execution', { grpcPort: portSchema.default(50051) },
 *     { defaultHttpPort: 9101 });
 */
export function serviceConfigSchema<Name extends string, Extra extends z.ZodRawShape>(
  name: Name,
  extra: Extra,
  options: { defaultHttpPort: number },
) {
  if (!SERVICE_KEY.test(name)) {
    throw new TypeError(
      `service config key must be camelCase (e.g. "marketData"), got ${JSON.stringify(name)}`,
    );
  }
  const fields = z.strictObject({ http: httpSectionSchema(options.defaultHttpPort), ...extra });
  // An absent section parses as {} so its defaults apply and its required keys are reported.
  const section = fields.prefault({} as z.input<typeof fields>);
  return z.object(baseConfigShape).extend({ [name]: section } as { [K in Name]: typeof section });
}
