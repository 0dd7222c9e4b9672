/**
 * Loads one YAML config file, applies env and command-line overrides, validates it with
 * a zod schema and resolves secrets. See README.md for the override rules.
 *
 * Precedence (later wins): YAML file < well-known env names (`NATS_URL`, ...) <
 * `PERPMESH__A__B` env overrides < command-line `--set a.b=value`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PerpmeshError } from '@perpmesh/core';
import YAML from 'yaml';
import type { z } from 'zod';
import { isSecretSchema, isTextSchema, type SecretSource, withSecretSource } from './config-schemas.js';

export const DEFAULT_CONFIG_PATH = 'config/perpmesh.yaml';
export const CONFIG_PATH_ENV = 'PERPMESH_CONFIG';
export const ENV_OVERRIDE_PREFIX = 'PERPMESH__';

/**
 * Direct env names for the settings every deployment sets. Applied only when the schema
 * has the path. Secret targets become `{ env: NAME }` references, so the value is read
 * from that variable and never parsed or printed.
 */
export const WELL_KNOWN_ENV: ReadonlyArray<{ readonly env: string; readonly path: string }> = [
  { env: 'PERPMESH_DATA_DIR', path: 'dataDir' },
  { env: 'PERPMESH_MODE', path: 'mode' },
  { env: 'PERPMESH_LOG_LEVEL', path: 'log.level' },
  { env: 'PERPMESH_TOKEN', path: 'auth.token' },
  { env: 'NATS_URL', path: 'nats.url' },
  { env: 'NATS_USER', path: 'nats.user' },
  { env: 'NATS_PASSWORD', path: 'nats.password' },
  { env: 'NATS_TOKEN', path: 'nats.token' },
  { env: 'REDIS_URL', path: 'redis.url' },
  { env: 'REDIS_USERNAME', path: 'redis.username' },
  { env: 'REDIS_PASSWORD', path: 'redis.password' },
];

/** One problem in the config, by dotted path (`execution.grpcPort`). */
export interface ConfigIssue {
  readonly path: string;
  /** Full line: `execution.grpcPort: expected a port number ..., got "abc" (from env X)`. */
  readonly message: string;
}

/** The config is invalid. Lists every problem; secret values are never in the message. */
export class ConfigError extends PerpmeshError {
  readonly issues: readonly ConfigIssue[];
  readonly sourcePath: string | undefined;

  constructor(issues: readonly ConfigIssue[], sourcePath: string | undefined) {
    const where = sourcePath ? ` (${sourcePath})` : '';
    const lines = issues.map((issue) => `  - ${issue.message}`).join('\n');
    super('CONFIG_INVALID', `invalid config${where}: ${issues.length} problem(s)\n${lines}`);
    this.issues = issues;
    this.sourcePath = sourcePath;
  }
}

export interface ParseConfigOptions {
  /** Environment for overrides and `{ env }` secrets; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Dotted path -> value text (parsed like env values), e.g. from `--set a.b=1`. */
  argvOverrides?: Readonly<Record<string, string>>;
  /** Base for relative `{ file }` secret paths; default `process.cwd()`. */
  cwd?: string;
  /** Shown in errors: where the raw config came from. */
  sourcePath?: string;
}

export interface LoadConfigOptions extends ParseConfigOptions {
  /** Config file; default `$PERPMESH_CONFIG`, else `config/perpmesh.yaml` (may be absent). */
  path?: string;
}

export interface LoadedConfig<T> {
  readonly config: T;
  /** The YAML file read, or undefined when the default file was absent. */
  readonly sourcePath: string | undefined;
  /** What overrode the file, e.g. `env PERPMESH__EXECUTION__GRPC_PORT -> execution.grpcPort`. */
  readonly overrides: readonly string[];
  readonly warnings: readonly string[];
}

/**
 * Reads the YAML file, applies overrides, validates against `schema`, resolves secrets.
 * Throws `ConfigError` listing every problem.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  options: LoadConfigOptions = {},
): LoadedConfig<z.output<S>> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicitPath = options.path ?? (env[CONFIG_PATH_ENV] || undefined);
  const path = resolve(cwd, explicitPath ?? DEFAULT_CONFIG_PATH);
  const warnings: string[] = [];
  let raw: unknown = {};
  let sourcePath: string | undefined = path;
  if (!existsSync(path)) {
    if (explicitPath !== undefined) {
      throw new ConfigError([{ path: '(file)', message: `config file not found: ${path}` }], path);
    }
    warnings.push(`no config file at ${path}; using defaults and environment`);
    sourcePath = undefined;
  } else {
    raw = parseYaml(readFileSync(path, 'utf8'), path);
  }
  const parsed = parseConfig(schema, raw, { ...options, env, cwd, sourcePath });
  return { ...parsed, warnings: [...warnings, ...parsed.warnings] };
}

/** Like `loadConfig` for an already-parsed object (tests, the embedded runner). */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  options: ParseConfigOptions = {},
): LoadedConfig<z.output<S>> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const sourcePath = options.sourcePath;
  if (raw === null || raw === undefined) raw = {};
  if (!isPlainObject(raw)) {
    throw new ConfigError(
      [{ path: '(root)', message: '(root): expected a mapping of keys to values' }],
      sourcePath,
    );
  }
  const data = structuredClone(raw) as Record<string, unknown>;
  const overrides = new Overrides(schema);
  for (const { env: name, path } of WELL_KNOWN_ENV) {
    const value = env[name];
    if (value)
      overrides.apply(data, path.split('.'), value, `env ${name}`, { optional: true, envName: name });
  }
  for (const name of Object.keys(env).sort()) {
    const value = env[name];
    if (!name.startsWith(ENV_OVERRIDE_PREFIX) || !value) continue;
    const segments = name.slice(ENV_OVERRIDE_PREFIX.length).split('__');
    overrides.apply(data, segments, value, `env ${name}`, { envName: name });
  }
  for (const [path, value] of Object.entries(options.argvOverrides ?? {})) {
    overrides.apply(data, path.split('.'), value, `--set ${path}`, {});
  }
  const secretSource: SecretSource = { env, cwd, readFile: (p) => readFileSync(p, 'utf8') };
  const result = withSecretSource(secretSource, () => schema.safeParse(data, { error: friendlyMessage }));
  // Report every problem at once: bad overrides and bad values alike.
  const issues = [
    ...overrides.issues,
    ...(result.success
      ? []
      : result.error.issues.flatMap((issue) => describeIssue(schema, data, issue, overrides))),
  ];
  if (!result.success || issues.length > 0) throw new ConfigError(issues, sourcePath);
  return { config: result.data, sourcePath, overrides: overrides.applied, warnings: [] };
}

/**
 * Splits `--config <path>` and `--set a.b=value` (repeatable) out of a command line.
 * Secrets cannot be set this way: command lines are visible to every local user.
 */
export function configArgsFromArgv(argv: readonly string[]): {
  path: string | undefined;
  argvOverrides: Record<string, string>;
} {
  let path: string | undefined;
  const argvOverrides: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? splitOnce(arg, '=') : [arg, undefined];
    if (flag !== '--config' && flag !== '--set') continue;
    const value = inline ?? argv[++i];
    if (value === undefined)
      throw new ConfigError([{ path: flag, message: `${flag}: missing value` }], undefined);
    if (flag === '--config') {
      path = value;
      continue;
    }
    const [key, text] = splitOnce(value, '=');
    if (!key || text === undefined) {
      throw new ConfigError(
        [{ path: '--set', message: `--set: expected key.path=value, got ${show(value)}` }],
        undefined,
      );
    }
    argvOverrides[key] = text;
  }
  return { path, argvOverrides };
}

// ---- YAML -----------------------------------------------------------------------------

function parseYaml(text: string, path: string): unknown {
  const lineCounter = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { merge: true, prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    // Only the position and the parser's message: the offending line could hold a secret.
    const issues = doc.errors.map((err) => {
      const pos = lineCounter.linePos(err.pos[0]);
      const at = `line ${pos.line}, column ${pos.col}`;
      const reason = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      return { path: `(yaml ${at})`, message: `${path} ${at}: ${reason}` };
    });
    throw new ConfigError(issues, path);
  }
  return doc.toJS({ maxAliasCount: 100 });
}

// ---- overrides --------------------------------------------------------------------------

/**
 * Maps an override's key segments onto the schema: a segment matches a key when both are
 * equal after lowercasing and dropping `_` and `-` (`GRPC_PORT` -> `grpcPort`,
 * `MARKET_DATA` -> `marketData`). Keys the schema does not name (record entries, other
 * services' sections) match an existing key the same way, else become camelCase.
 */
class Overrides {
  readonly issues: ConfigIssue[] = [];
  readonly applied: string[] = [];
  /** Dotted path -> where its value came from, to name the source in errors. */
  readonly sources = new Map<string, string>();

  constructor(private readonly schema: z.ZodType) {}

  apply(
    data: Record<string, unknown>,
    segments: readonly string[],
    text: string,
    label: string,
    opts: { optional?: boolean; envName?: string },
  ): void {
    if (segments.length === 0 || segments.some((s) => s === '')) {
      this.issues.push({ path: label, message: `${label}: empty key segment (use __ only between keys)` });
      return;
    }
    let node: z.ZodType | undefined = this.schema;
    let target = data;
    const path: string[] = [];
    for (const [i, segment] of segments.entries()) {
      const key = matchKey(node, target, segment);
      if (key === undefined) {
        if (opts.optional) return;
        this.issues.push({ path: label, message: `${label}: no config key matches ${show(segment)}` });
        return;
      }
      path.push(key);
      node = node ? childSchema(node, key) : undefined;
      if (opts.optional && node === undefined) return;
      const last = i === segments.length - 1;
      if (node && isSecretSchema(unwrap(node)) && !last) {
        this.issues.push({
          path: path.join('.'),
          message: `${label}: ${path.join('.')} is a secret; set it whole`,
        });
        return;
      }
      if (last) {
        const dotted = path.join('.');
        if (node && isSecretSchema(unwrap(node))) {
          if (!opts.envName) {
            this.issues.push({
              path: dotted,
              message: `${label}: ${dotted} is a secret; set it from the environment, not the command line`,
            });
            return;
          }
          // The env var itself holds the credential; the config only names it.
          target[key] = { env: opts.envName };
        } else {
          target[key] = typedValue(node, text);
        }
        this.sources.set(dotted, label);
        this.applied.push(`${label} -> ${dotted}`);
        return;
      }
      const next = target[key];
      if (!isPlainObject(next)) target[key] = {};
      target = target[key] as Record<string, unknown>;
    }
  }
}

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

function camelCase(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function matchKey(
  node: z.ZodType | undefined,
  data: Record<string, unknown>,
  segment: string,
): string | undefined {
  const wanted = normalizeKey(segment);
  const keys = node ? objectKeys(node) : undefined;
  const fromSchema = keys?.find((k) => normalizeKey(k) === wanted);
  if (fromSchema) return fromSchema;
  const fromData = Object.keys(data).find((k) => normalizeKey(k) === wanted);
  if (fromData) return fromData;
  // A strict object with no such key: report here, with the env name, rather than as a
  // bare "unknown key" later. Open objects and records take the camelCase form.
  if (node && keys && isStrict(node)) return undefined;
  return camelCase(segment);
}

/**
 * Env and argv values are YAML scalars (`50061` -> number, `true` -> boolean, `[a, b]` ->
 * list), except where the schema wants text (strings, enums, decimals): those get the
 * raw text, so `0x10` stays "0x10" and `0.10` keeps its trailing zero.
 */
function typedValue(node: z.ZodType | undefined, text: string): unknown {
  if (node) {
    const inner = unwrap(node);
    const type = defOf(inner).type;
    if (isTextSchema(inner) || type === 'string' || type === 'enum' || type === 'template_literal')
      return text;
  }
  try {
    return YAML.parse(text);
  } catch {
    return text;
  }
}

// ---- schema introspection (zod v4 `_zod.def`) ----------------------------------------------

interface AnyDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  valueType?: z.ZodType;
  getter?: () => z.ZodType;
}

function defOf(schema: z.ZodType): AnyDef {
  return (schema as unknown as { _zod: { def: AnyDef } })._zod.def;
}

/** Strips optional/default/pipe wrappers down to the schema that shapes the value. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let depth = 0; depth < 32; depth++) {
    if (isSecretSchema(current) || isTextSchema(current)) return current;
    const def = defOf(current);
    if (def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else if (def.type === 'lazy' && def.getter) current = def.getter();
    else return current;
  }
  return current;
}

function objectKeys(schema: z.ZodType): string[] | undefined {
  const def = defOf(unwrap(schema));
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : undefined;
}

function isStrict(schema: z.ZodType): boolean {
  const def = defOf(unwrap(schema));
  return def.type === 'object' && def.catchall !== undefined && defOf(def.catchall).type === 'never';
}

function childSchema(schema: z.ZodType, key: string): z.ZodType | undefined {
  const node = unwrap(schema);
  if (isSecretSchema(node)) return undefined;
  const def = defOf(node);
  if (def.type === 'object') {
    const child = def.shape?.[key];
    if (child) return child;
    return def.catchall && defOf(def.catchall).type !== 'never' ? def.catchall : undefined;
  }
  if (def.type === 'record') return def.valueType;
  return undefined;
}

// ---- error text ------------------------------------------------------------------------------

/** Per-parse message overrides: shorter than zod's defaults; the value is appended later. */
function friendlyMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type') return `expected ${issue.expected}`;
  return undefined;
}

// Key names that mean "credential" wherever they appear; their values are never printed,
// even when the schema does not mark them (a misplaced key, another service's section).
const SECRET_KEY_NAME =
  /(api_?key|secret|private_?key|token|password|passphrase|authorization|credential|seed)/i;

function describeIssue(
  schema: z.ZodType,
  data: unknown,
  issue: z.core.$ZodIssue,
  overrides: Overrides,
): ConfigIssue[] {
  const keys = issue.path.map((k) => (typeof k === 'symbol' ? String(k) : k));
  if (issue.code === 'unrecognized_keys') {
    const allowed = objectKeys(schemaAt(schema, keys) ?? schema) ?? [];
    return issue.keys.map((key) => {
      const path = formatPath([...keys, key]);
      const hint = allowed.length > 0 ? ` (allowed here: ${allowed.join(', ')})` : '';
      return { path, message: `${path}: unknown key${hint}${sourceNote(overrides, path)}` };
    });
  }
  const path = formatPath(keys);
  const value = valueAt(data, keys);
  const secret = isSecretPath(schema, keys);
  let text = issue.message;
  if (value === undefined) text += ' (missing)';
  else if (secret) text += ' (value not shown)';
  else text += `, got ${show(value)}`;
  return [{ path, message: `${path || '(root)'}: ${text}${sourceNote(overrides, path)}` }];
}

function sourceNote(overrides: Overrides, path: string): string {
  for (const [overridden, label] of overrides.sources) {
    if (path === overridden || path.startsWith(`${overridden}.`) || path.startsWith(`${overridden}[`)) {
      return ` (from ${label})`;
    }
  }
  return '';
}

function isSecretPath(schema: z.ZodType, keys: readonly PropertyKey[]): boolean {
  let node: z.ZodType | undefined = schema;
  for (const key of keys) {
    if (typeof key === 'string' && SECRET_KEY_NAME.test(key)) return true;
    if (node && isSecretSchema(unwrap(node))) return true;
    node = node && typeof key === 'string' ? childSchema(node, key) : undefined;
  }
  return node !== undefined && isSecretSchema(unwrap(node));
}

function schemaAt(schema: z.ZodType, keys: readonly PropertyKey[]): z.ZodType | undefined {
  let node: z.ZodType | undefined = schema;
  for (const key of keys) {
    if (!node || typeof key !== 'string') return undefined;
    node = childSchema(node, key);
  }
  return node;
}

function valueAt(data: unknown, keys: readonly PropertyKey[]): unknown {
  let current = data;
  for (const key of keys) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function formatPath(keys: readonly PropertyKey[]): string {
  let out = '';
  for (const key of keys) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

const MAX_SHOWN = 80;

/** A bad value for an error message: quoted, shortened, URL passwords masked. */
function show(value: unknown): string {
  if (typeof value === 'string') {
    let text = value;
    try {
      const url = new URL(value);
      if (url.password) {
        url.password = '***';
        text = url.toString();
      }
    } catch {
      // not a URL
    }
    const quoted = JSON.stringify(text);
    return quoted.length > MAX_SHOWN ? `${quoted.slice(0, MAX_SHOWN)}..." (${text.length} chars)` : quoted;
  }
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value !== null && typeof value === 'object') return 'a mapping';
  return String(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + separator.length)];
}
