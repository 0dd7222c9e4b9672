/**
 * Structured logging (pino, JSON lines). Every line carries `service` and `pid`;
 * components log through a child with `component`. On a terminal (format `auto`) the
 * same lines are rendered as short human lines after pino has serialized and redacted them.
 *
 * Two layers keep credentials out of logs:
 *   - `Secret` values render as `[REDACTED]` (toJSON), wherever they sit;
 *   - keys that name credentials (`apiKey`, `password`, `authorization`, ...) are censored
 *     by pino's redaction up to `REDACT_DEPTH` levels deep, whatever their value type.
 * Neither can see inside a message string: never interpolate a credential into one.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { LogFormat, LogLevel } from './config-schemas.js';
import { REDACTED } from './secret.js';

export type Logger = pino.Logger;

/** Key names whose values are credentials, censored wherever they appear in a log object. */
export const SECRET_LOG_KEYS: readonly string[] = [
  'apiKey',
  'api_key',
  'apiSecret',
  'api_secret',
  'secret',
  'secretKey',
  'secret_key',
  'privateKey',
  'private_key',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'authToken',
  'authorization',
  'Authorization',
  'password',
  'passphrase',
  'cookie',
  'x-api-key',
  'X-MBX-APIKEY',
  'OK-ACCESS-KEY',
  'OK-ACCESS-PASSPHRASE',
];

/** How deep (in nested objects) the key-based redaction reaches. */
export const REDACT_DEPTH = 6;

function pathFor(key: string, depth: number): string {
  const prop = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
  const prefix = '*.'.repeat(depth);
  return prop.startsWith('[') ? `${prefix.replace(/\.$/, '')}${prop}` : `${prefix}${prop}`;
}

/** pino redact paths: each key at the root and under up to `depth` levels of wildcards. */
export function redactPaths(keys: readonly string[] = SECRET_LOG_KEYS, depth = REDACT_DEPTH): string[] {
  const paths: string[] = [];
  for (const key of keys) {
    for (let level = 0; level <= depth; level++) paths.push(pathFor(key, level));
  }
  return paths;
}

export interface LoggerOptions {
  service: string;
  level?: LogLevel;
  /** `auto` (default): human lines when the destination is a terminal, JSON otherwise. */
  format?: LogFormat;
  /** @deprecated use `format: 'pretty'`; `true` forces human lines. */
  pretty?: boolean;
  /** Where lines go; default stdout. Tests pass a stream to capture them. */
  destination?: NodeJS.WritableStream;
  /** Extra fields on every line (e.g. `{ instance: 'exec-1' }`). */
  bindings?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions): Logger {
  const pinoOptions: pino.LoggerOptions = {
    level: options.level ?? 'info',
    base: { service: options.service, pid: process.pid, ...options.bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactPaths(), censor: REDACTED },
    serializers: { err: serializeError, error: serializeError },
    formatters: { level: (label) => ({ level: label }) },
    // pino appends a child's bindings and a call's fields after the parent's, so a nested
    // `component` (or a call's `service`) would appear twice in one JSON object, which log
    // shippers read differently. Each key appears once, settled where the logger is made
    // (a child's bindings) or where a call's fields meet them: the innermost value wins.
    onChild: bindEachKeyOnce,
    hooks: { logMethod: callFieldsOverBindings },
  };
  const out = options.destination ?? process.stdout;
  const format = resolveLogFormat(options.pretty ? 'pretty' : (options.format ?? 'auto'), isTerminal(out));
  // The human form reads pino's output: redaction and serializers have already run.
  const sink = format === 'pretty' ? prettyStream(out) : options.destination;
  return sink ? pino(pinoOptions, sink) : pino(pinoOptions);
}

export type ResolvedLogFormat = Exclude<LogFormat, 'auto'>;

/** The form lines take: `auto` is human lines on a terminal and JSON anywhere else. */
export function resolveLogFormat(format: LogFormat, destinationIsTerminal: boolean): ResolvedLogFormat {
  if (format !== 'auto') return format;
  return destinationIsTerminal ? 'pretty' : 'json';
}

function isTerminal(stream: NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

const { chindingsSym } = pino.symbols;

/** The keys a logger binds (its base and every ancestor's bindings), computed once per logger. */
const boundKeysOf = new WeakMap<object, ReadonlySet<string>>();

function boundKeys(logger: Logger): ReadonlySet<string> {
  let keys = boundKeysOf.get(logger);
  if (!keys) {
    keys = new Set(Object.keys(logger.bindings()));
    boundKeysOf.set(logger, keys);
  }
  return keys;
}

/** A child repeating a key its ancestors bound keeps one copy, the child's (pino's `onChild`). */
function bindEachKeyOnce(child: Logger): void {
  const holder = child as unknown as Record<symbol, string>;
  const chindings = holder[chindingsSym] ?? '';
  if (!repeatsAKey(chindings)) return;
  // Already serialized and redacted by pino: JSON.parse keeps the last (innermost) value.
  const merged = JSON.parse(`{${chindings.slice(1)}}`) as Record<string, unknown>;
  holder[chindingsSym] = `,${JSON.stringify(merged).slice(1, -1)}`;
}

/**
 * A call's fields that a binding already carries are logged through a child binding them
 * instead (one key, the call's value), so no line repeats a key (pino's `logMethod` hook).
 */
function callFieldsOverBindings(
  this: Logger,
  args: Parameters<pino.LogFn>,
  method: pino.LogFn,
  level: number,
): void {
  const [first, ...rest] = args as unknown[];
  if (first !== null && typeof first === 'object' && !(first instanceof Error)) {
    const bound = boundKeys(this);
    const fields = first as Record<string, unknown>;
    const clashing = Object.keys(fields).filter((k) => bound.has(k));
    if (clashing.length > 0) {
      const own: Record<string, unknown> = { ...fields };
      const rebound: Record<string, unknown> = {};
      for (const k of clashing) {
        rebound[k] = own[k];
        delete own[k];
      }
      const label = this.levels.labels[level] as pino.Level;
      (this.child(rebound)[label] as (...a: unknown[]) => void)(own, ...rest);
      return;
    }
  }
  method.apply(this, args);
}

/** Nested objects deeper than this in an error's fields are logged as a note. */
const MAX_ERROR_FIELD_DEPTH = 8;

/**
 * The one error form of every log line (`err`, `error`): `{type, message, stack, code?,
 * details?, ...own fields, aggregateErrors?, cause?}` as plain JSON data. Message and stack
 * carry every cause (pino's form); `cause` repeats the cause's own fields (a grpc status's
 * code and details) without its stack. Fields become plain data here because pino's
 * redaction copies objects with their prototype but not their internal slots: a grpc
 * `Metadata` (a Map inside) copied that way throws from `toJSON`, and the whole field read
 * "unable to serialize, circular reference". Cycles read `[Circular]`; a field that cannot
 * be read reads `[not serializable: ...]`; a value that is not an Error keeps its fields under
 * `value`, where the key-based redaction still reaches them. `Secret`s stay `[REDACTED]`.
 */
export function serializeError(err: unknown): unknown {
  return errorRecord(err, new Set(), true);
}

function isErrorLike(value: unknown): value is Error {
  return value !== null && typeof value === 'object' && typeof (value as Error).message === 'string';
}

function typeName(value: object): string {
  const ctor = (value as { constructor?: unknown }).constructor;
  return typeof ctor === 'function' && ctor.name !== '' ? ctor.name : 'Object';
}

function errorRecord(err: unknown, ancestors: Set<object>, withStack: boolean): unknown {
  if (err === null || err === undefined) return err;
  if (typeof err !== 'object') return { type: typeof err, message: String(err) };
  if (ancestors.has(err)) return '[Circular]';
  if (!isErrorLike(err)) {
    return { type: typeName(err), message: 'not an Error', value: plainValue(err, ancestors, 1) };
  }
  ancestors.add(err);
  try {
    const std = pino.stdSerializers.err(err) as { type?: string; message: string; stack?: string };
    const out: Record<string, unknown> = { type: std.type, message: std.message };
    if (withStack) out.stack = std.stack;
    for (const key in err) {
      if (key in out || key === 'cause' || key === 'errors') continue;
      out[key] = fieldValue(() => (err as unknown as Record<string, unknown>)[key], ancestors, 1);
    }
    const errors = (err as { errors?: unknown }).errors;
    if (Array.isArray(errors)) out.aggregateErrors = errors.map((e) => errorRecord(e, ancestors, withStack));
    const cause = fieldValue(() => (err as { cause?: unknown }).cause, ancestors, 0, true);
    if (cause !== undefined) out.cause = cause;
    return out;
  } finally {
    ancestors.delete(err);
  }
}

function notSerializable(failure: unknown): string {
  return `[not serializable: ${failure instanceof Error ? failure.message : String(failure)}]`;
}

/** One field read and made plain; a throwing getter or `toJSON` becomes a note naming the failure. */
function fieldValue(read: () => unknown, ancestors: Set<object>, depth: number, asCause = false): unknown {
  try {
    const value = read();
    if (!asCause) return plainValue(value, ancestors, depth);
    return value === undefined ? undefined : errorRecord(value, ancestors, false);
  } catch (failure) {
    return notSerializable(failure);
  }
}

/** A value as plain JSON data (objects, arrays, strings, numbers, booleans, null). */
function plainValue(value: unknown, ancestors: Set<object>, depth: number): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (value === null || typeof value !== 'object') return value;
  if (ancestors.has(value)) return '[Circular]';
  if (depth > MAX_ERROR_FIELD_DEPTH) return `[${typeName(value)}: too deep]`;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  ancestors.add(value);
  try {
    if (typeof toJSON === 'function') {
      let json: unknown;
      try {
        json = toJSON.call(value);
      } catch (failure) {
        return notSerializable(failure);
      }
      if (json !== value) return plainValue(json, ancestors, depth);
    }
    if (isErrorLike(value)) {
      ancestors.delete(value);
      return errorRecord(value, ancestors, false);
    }
    const items = Array.isArray(value) ? value : value instanceof Set ? [...value] : undefined;
    if (items) return items.map((item) => plainValue(item, ancestors, depth + 1) ?? null);
    const out: Record<string, unknown> = {};
    if (value instanceof Map) {
      for (const [key, item] of value) out[String(key)] = plainValue(item, ancestors, depth + 1);
    } else {
      for (const key of Object.keys(value)) {
        out[key] = fieldValue(() => (value as Record<string, unknown>)[key], ancestors, depth + 1);
      }
    }
    return out;
  } finally {
    ancestors.delete(value);
  }
}

/** Cheap test of JSON text: no key can repeat when no `"key":` prefix occurs twice. */
function repeatsAKey(json: string): boolean {
  const keys = json.match(/(?<=[{,])"[^"\\]+":/g);
  return keys !== null && new Set(keys).size !== keys.length;
}

/** One JSON log line with each top-level key once (the last value wins, as JSON.parse reads it). */
export function withoutDuplicateKeys(line: string): string {
  if (!repeatsAKey(line)) return line;
  try {
    const newline = line.endsWith('\n') ? '\n' : '';
    return `${JSON.stringify(JSON.parse(line))}${newline}`;
  } catch {
    return line;
  }
}

/** A child logger for one component of a service (`{ component: 'order-book' }`). */
export function componentLogger(
  logger: Logger,
  component: string,
  bindings: Record<string, unknown> = {},
): Logger {
  return logger.child({ component, ...bindings });
}

/** Fields every human line shows in its prefix (or leaves out), not as `key=value`. */
const IN_PREFIX = new Set(['time', 'level', 'msg', 'service', 'pid', 'component', 'hostname']);
/** A human line shows at most this many fields, each value cut to `MAX_VALUE_CHARS`. */
const MAX_FIELDS = 8;
const MAX_VALUE_CHARS = 120;

/**
 * One pino JSON entry (already redacted) as a short human line:
 * `12:00:01.123 INFO  execution[grpc] order placed venue=paper qty="0.5" err="Error: boom"`.
 */
export function formatLogEntry(entry: Record<string, unknown>): string {
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
  const level = String(entry.level ?? '')
    .toUpperCase()
    .padEnd(5);
  const who = entry.component ? `${entry.service}[${entry.component}]` : String(entry.service ?? '');
  const fields = Object.entries(entry).filter(([k]) => !IN_PREFIX.has(k));
  const shown = fields.slice(0, MAX_FIELDS).map(([k, v]) => `${k}=${fieldText(v)}`);
  if (fields.length > MAX_FIELDS) shown.push(`(+${fields.length - MAX_FIELDS} more)`);
  const message = typeof entry.msg === 'string' ? entry.msg : '';
  return [time, level, who, message, ...shown].filter((part) => part !== '').join(' ');
}

/** A field's value for a human line: an error by its type and message, others compact. */
function fieldText(value: unknown): string {
  const text = isSerializedError(value) ? errorLine(value) : value;
  const raw = typeof text === 'string' ? text : JSON.stringify(text);
  const cut = raw.length > MAX_VALUE_CHARS ? `${raw.slice(0, MAX_VALUE_CHARS - 1)}…` : raw;
  return typeof text === 'string' && !/^[^\s"=]+$/.test(cut) ? JSON.stringify(cut) : cut;
}

interface SerializedError {
  type?: unknown;
  message: string;
  code?: unknown;
}

function isSerializedError(value: unknown): value is SerializedError {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { message?: unknown }).message === 'string' &&
    'stack' in value
  );
}

function errorLine(err: SerializedError): string {
  const type = typeof err.type === 'string' ? `${err.type}: ` : '';
  const code = typeof err.code === 'string' || typeof err.code === 'number' ? ` (${err.code})` : '';
  return `${type}${err.message}${code}`;
}

/** Turns pino JSON lines into human lines (`formatLogEntry`); a line that is not JSON passes as is. */
function prettyStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        let entry: unknown;
        try {
          entry = JSON.parse(line);
        } catch {
          entry = undefined;
        }
        const isEntry = entry !== null && typeof entry === 'object' && !Array.isArray(entry);
        out.write(`${isEntry ? formatLogEntry(entry as Record<string, unknown>) : line}\n`);
      }
      done();
    },
  });
}
