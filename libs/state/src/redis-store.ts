/**
 * StateStore on Redis (ioredis). Every read-modify-write is one atomic step on one key (a
 * Lua script, or a single INCRBY for a plain nonce allocation), so any number of processes
 * sharing the Redis can never hand out the same nonce, claim the same idempotency key
 * twice, or overwrite a newer projection.
 */
import { ValidationError, withTimeout } from '@perpmesh/core';
import type { Redis, RedisOptions } from 'ioredis';
import { DEFAULT_KEY_PREFIX, type StateKeys, stateKeys } from './keys.js';
import {
  IDEMPOTENCY_CLAIM_LUA,
  IDEMPOTENCY_RELEASE_LUA,
  IDEMPOTENCY_UPDATE_LUA,
  NONCE_ALLOCATE_LUA,
  NONCE_RESYNC_LUA,
  PROJECTION_SAVE_LUA,
} from './redis-scripts.js';
import {
  type AllocateNonceOptions,
  type AppliedSeqs,
  type ClaimResult,
  canonicalApplied,
  FIRST_NONCE,
  MAX_NONCE,
  type NonceBlock,
  NonceExhaustedError,
  type NonceKey,
  ProjectionConflictError,
  type ProjectionSnapshot,
  type StateStore,
  StateStoreBackendError,
  StateStoreClosedError,
} from './statestore.js';
import {
  checkBlockCount,
  checkFloor,
  checkIdempotencyArgs,
  checkIdempotencyValue,
  checkNonceKey,
  checkNonceValue,
  checkProjectionName,
  checkProjectionSave,
  checkTtlMs,
} from './validation.js';

/** The scripts as commands on the client (ioredis runs them by EVALSHA, falling back to EVAL). */
interface ScriptCommands {
  pmNonceAllocate(key: string, count: string, floor: string, maxStart: string): Promise<string>;
  pmNonceResync(key: string, venueNextNonce: string): Promise<string>;
  pmIdempotencyClaim(key: string, value: string, ttlMs: string): Promise<[ReplyInt, string] | [ReplyInt]>;
  pmIdempotencyUpdate(key: string, expectedValue: string, newValue: string): Promise<ReplyInt>;
  pmIdempotencyRelease(key: string, expectedValue: string): Promise<ReplyInt>;
  pmProjectionSave(
    key: string,
    expectedApplied: string,
    applied: string,
    stateJson: string,
  ): Promise<[ReplyInt, string] | [ReplyInt]>;
}

/** An integer reply: a number, or its decimal text on a `stringNumbers` connection. */
type ReplyInt = number | string;
const isOne = (reply: ReplyInt | undefined): boolean => reply === 1 || reply === '1';

/** Redis refuses an INCRBY past the signed 64-bit range (= MAX_NONCE) and changes nothing. */
const INCRBY_OVERFLOW = /would overflow/;

export interface RedisStateStoreOptions {
  /** Prefix of every key (default `pm:`; tests use `pm:test:<unique>:`). Must end with `:`. */
  readonly keyPrefix?: string;
}

export interface RedisConnectOptions extends RedisStateStoreOptions {
  /** Redis logical database; overrides one in the URL. */
  readonly db?: number;
  readonly connectTimeoutMs?: number;
  /**
   * ioredis `enableAutoPipelining`: commands issued in the same event-loop tick (concurrent
   * placements' claims, nonce allocations, marks) leave in one write instead of one each. The
   * commands and their atomicity are unchanged (each script still runs alone on Redis); only
   * the client's per-command socket writes are shared. Default on; `false`, or the env var
   * `PERPMESH_REDIS_AUTO_PIPELINING=off` (the order bench's before/after), turns it off.
   */
  readonly autoPipelining?: boolean;
  /** See `RedisTimeoutOptions.commandTimeoutMs`. */
  readonly commandTimeoutMs?: number;
}

/** How long a store call waits for Redis' answer by default (see `commandTimeoutMs`). */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 3_000;
/** TCP keepalive's first probe after this much idle time: a peer gone without a FIN/RST is found. */
const REDIS_KEEPALIVE_MS = 10_000;
/** ioredis' rejection of a command whose `commandTimeout` passed. */
const COMMAND_TIMED_OUT = 'Command timed out';

export interface RedisTimeoutOptions {
  /**
   * A Redis that stops answering while the connection stays open (a frozen or paused server,
   * a partition that drops packets) must not hold a caller forever: every command fails after
   * this many ms with `StateStoreBackendError` naming the operation (outcome unknown, like a
   * connection lost mid-command), and a connection that has received nothing for twice this
   * long while commands wait is dropped and reconnected, so a server that wakes up is used
   * again. Default DEFAULT_REDIS_COMMAND_TIMEOUT_MS.
   */
  readonly commandTimeoutMs?: number;
}

/**
 * The ioredis options that bound a silent Redis (see `RedisTimeoutOptions`) plus exact integer
 * replies: every connection a store runs on (`connect`, or a caller's client with credentials)
 * takes them from here.
 */
export function redisStoreClientOptions(options: RedisTimeoutOptions = {}): RedisOptions {
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS;
  if (!Number.isSafeInteger(commandTimeoutMs) || commandTimeoutMs < 1) {
    throw new ValidationError(
      'commandTimeoutMs',
      `must be a positive whole number of ms, got ${JSON.stringify(commandTimeoutMs)}`,
    );
  }
  return {
    commandTimeout: commandTimeoutMs,
    // No byte back for two command timeouts while commands wait: the connection is dead to us.
    socketTimeout: 2 * commandTimeoutMs,
    keepAlive: REDIS_KEEPALIVE_MS,
    // Integer replies as exact text: nonces go up to 2^63 - 1 (see #exactIntegers).
    stringNumbers: true,
  };
}

/** The env switch that turns auto-pipelining off when the caller did not choose (see `autoPipelining`). */
export const REDIS_AUTO_PIPELINING_ENV = 'PERPMESH_REDIS_AUTO_PIPELINING';

/** How long close() waits for Redis to answer QUIT before it drops the connection. */
const QUIT_TIMEOUT_MS = 1_000;

/** `redis://host:port/db` without user or password, for error messages. */
function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(unparsable Redis URL)';
  }
}

export class RedisStateStore implements StateStore {
  readonly keys: StateKeys;
  readonly #client: Redis;
  readonly #commands: ScriptCommands;
  readonly #ownsClient: boolean;
  /**
   * The connection answers integers as exact decimal text (ioredis `stringNumbers`, set by
   * `connect`): a plain allocation is then one INCRBY instead of the allocate script
   * (Redis runs a script ~20-50x slower than INCRBY; the allocation rate at many in
   * flight is bound by that). Without it INCRBY's reply is a JS number, inexact past 2^53,
   * so the script (which answers text) is used.
   */
  readonly #exactIntegers: boolean;
  /** The client's command timeout, for the error text of a call that got no answer. */
  readonly #commandTimeoutMs: number | undefined;
  #closed = false;

  /**
   * Wraps a client the caller owns (`close()` leaves it open). Use `connect()` for a
   * store that owns its connection.
   */
  constructor(client: Redis, options: RedisStateStoreOptions & { ownsClient?: boolean } = {}) {
    this.keys = stateKeys(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
    this.#client = client;
    this.#ownsClient = options.ownsClient ?? false;
    this.#exactIntegers = client.options.stringNumbers === true;
    this.#commandTimeoutMs = client.options.commandTimeout;
    client.defineCommand('pmNonceAllocate', { numberOfKeys: 1, lua: NONCE_ALLOCATE_LUA });
    client.defineCommand('pmNonceResync', { numberOfKeys: 1, lua: NONCE_RESYNC_LUA });
    client.defineCommand('pmIdempotencyClaim', { numberOfKeys: 1, lua: IDEMPOTENCY_CLAIM_LUA });
    client.defineCommand('pmIdempotencyUpdate', { numberOfKeys: 1, lua: IDEMPOTENCY_UPDATE_LUA });
    client.defineCommand('pmIdempotencyRelease', { numberOfKeys: 1, lua: IDEMPOTENCY_RELEASE_LUA });
    client.defineCommand('pmProjectionSave', { numberOfKeys: 1, lua: PROJECTION_SAVE_LUA });
    this.#commands = client as unknown as ScriptCommands;
  }

  /** Connects to `url` and waits until Redis answers; the store owns the connection. */
  static async connect(url: string, options: RedisConnectOptions = {}): Promise<RedisStateStore> {
    let connected = false;
    const redisOptions: RedisOptions = {
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      // Reconnect with ioredis' usual backoff once up; a first connect that fails fails now.
      retryStrategy: (times) => (connected ? Math.min(times * 50, 2_000) : null),
      enableAutoPipelining: options.autoPipelining ?? process.env[REDIS_AUTO_PIPELINING_ENV] !== 'off',
      ...redisStoreClientOptions(options),
      ...(options.db === undefined ? {} : { db: options.db }),
    };
    // Loaded here, not at import: a process on the embedded store never loads ioredis (start-up).
    const { Redis } = await import('ioredis');
    const client = new Redis(url, redisOptions);
    // Connection errors reach callers through the commands that fail (StateStoreBackendError);
    // without a listener ioredis would also print each reconnect failure on its own.
    client.on('error', () => undefined);
    try {
      await client.connect();
      connected = true;
    } catch (err) {
      if (client.status !== 'end') client.disconnect();
      throw new StateStoreBackendError(`cannot connect to Redis at ${redactedUrl(url)}`, { cause: err });
    }
    return new RedisStateStore(client, { ...options, ownsClient: true });
  }

  async #run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StateStoreClosedError('RedisStateStore');
    try {
      return await call();
    } catch (err) {
      throw this.#backendError(operation, err);
    }
  }

  /** A failed call as the store's error; one that got no answer says so (its outcome is unknown). */
  #backendError(operation: string, err: unknown): StateStoreBackendError {
    const timedOut = err instanceof Error && err.message === COMMAND_TIMED_OUT;
    const text = timedOut
      ? `redis ${operation} failed: no answer within ${this.#commandTimeoutMs} ms (outcome unknown)`
      : `redis ${operation} failed`;
    return new StateStoreBackendError(text, { cause: err });
  }

  /** One round trip (PING): fails like any call when Redis does not answer (readiness probes). */
  async ping(): Promise<void> {
    await this.#run('ping', () => this.#client.ping());
  }

  // --- nonces ---------------------------------------------------------------------------

  async allocateNonce(key: NonceKey, options?: AllocateNonceOptions): Promise<bigint> {
    checkNonceKey(key);
    // The hot path (one nonce, no floor): one INCR, one promise.
    if (options?.floor === undefined && this.#exactIntegers) return (await this.#increment(key, 1)) - 1n;
    return (await this.#allocate(key, 1, checkFloor(options))).first;
  }

  async allocateNonces(key: NonceKey, count: number, options?: AllocateNonceOptions): Promise<NonceBlock> {
    checkNonceKey(key);
    checkBlockCount(count);
    const floor = checkFloor(options);
    if (floor === undefined && this.#exactIntegers) {
      const last = (await this.#increment(key, count)) - 1n;
      return { first: last - BigInt(count) + 1n, last, count };
    }
    return this.#allocate(key, count, floor);
  }

  /** The allocate script: raises to `floor` first; a block past MAX_NONCE is refused with nothing changed. */
  async #allocate(key: NonceKey, count: number, floor: bigint | undefined): Promise<NonceBlock> {
    const maxStart = (MAX_NONCE - BigInt(count)).toString();
    let start: string;
    try {
      start = await this.#run('nonce allocate', () =>
        this.#commands.pmNonceAllocate(
          this.keys.nonce(key),
          String(count),
          floor === undefined ? '' : floor.toString(),
          maxStart,
        ),
      );
    } catch (err) {
      if (err instanceof StateStoreBackendError && /NONCE_EXHAUSTED/.test(String(err.cause))) {
        throw new NonceExhaustedError(count);
      }
      throw err;
    }
    const first = BigInt(start);
    return { first, last: first + BigInt(count) - 1n, count };
  }

  /**
   * A block without a floor in one command: INCR / INCRBY on the counter (it holds the next
   * nonce; absent = 0), answering the new next nonce; the block ends just below it. Same
   * outcome as the allocate script: the block starts at the old value, and one that would
   * pass MAX_NONCE (= Redis' signed 64-bit limit) is refused with nothing changed.
   */
  async #increment(key: NonceKey, count: number): Promise<bigint> {
    if (this.#closed) throw new StateStoreClosedError('RedisStateStore');
    const redisKey = this.keys.nonce(key);
    let next: ReplyInt;
    try {
      next = await (count === 1 ? this.#client.incr(redisKey) : this.#client.incrby(redisKey, count));
    } catch (err) {
      if (INCRBY_OVERFLOW.test(String(err))) throw new NonceExhaustedError(count);
      throw this.#backendError('nonce allocate', err);
    }
    return BigInt(next);
  }

  async resyncNonce(key: NonceKey, venueNextNonce: bigint): Promise<bigint> {
    checkNonceKey(key);
    const value = checkNonceValue(venueNextNonce, 'venueNextNonce');
    const next = await this.#run('nonce resync', () =>
      this.#commands.pmNonceResync(this.keys.nonce(key), value.toString()),
    );
    return BigInt(next);
  }

  async peekNonce(key: NonceKey): Promise<bigint> {
    checkNonceKey(key);
    const next = await this.#run('nonce peek', () => this.#client.get(this.keys.nonce(key)));
    return next === null ? FIRST_NONCE : BigInt(next);
  }

  // --- idempotency ----------------------------------------------------------------------

  async claimIdempotencyKey(scope: string, key: string, value: string, ttlMs: number): Promise<ClaimResult> {
    checkIdempotencyArgs(scope, key);
    checkIdempotencyValue(value, 'value');
    checkTtlMs(ttlMs);
    const reply = await this.#run('idempotency claim', () =>
      this.#commands.pmIdempotencyClaim(this.keys.idempotency(scope, key), value, String(ttlMs)),
    );
    return isOne(reply[0]) ? { claimed: true } : { claimed: false, existingValue: reply[1] as string };
  }

  async getIdempotencyKey(scope: string, key: string): Promise<string | undefined> {
    checkIdempotencyArgs(scope, key);
    const value = await this.#run('idempotency get', () =>
      this.#client.get(this.keys.idempotency(scope, key)),
    );
    return value ?? undefined;
  }

  async updateIdempotencyValue(
    scope: string,
    key: string,
    expectedValue: string,
    newValue: string,
  ): Promise<boolean> {
    checkIdempotencyArgs(scope, key);
    checkIdempotencyValue(expectedValue, 'expectedValue');
    checkIdempotencyValue(newValue, 'newValue');
    const replaced = await this.#run('idempotency update', () =>
      this.#commands.pmIdempotencyUpdate(this.keys.idempotency(scope, key), expectedValue, newValue),
    );
    return isOne(replaced);
  }

  async releaseIdempotencyKey(scope: string, key: string, expectedValue: string): Promise<boolean> {
    checkIdempotencyArgs(scope, key);
    checkIdempotencyValue(expectedValue, 'expectedValue');
    const deleted = await this.#run('idempotency release', () =>
      this.#commands.pmIdempotencyRelease(this.keys.idempotency(scope, key), expectedValue),
    );
    return isOne(deleted);
  }

  // --- projections ----------------------------------------------------------------------

  async loadProjection<T>(name: string): Promise<ProjectionSnapshot<T> | undefined> {
    checkProjectionName(name);
    const [stateJson, appliedJson] = await this.#run('projection load', () =>
      this.#client.hmget(this.keys.projection(name), 'state', 'applied'),
    );
    if (stateJson == null || appliedJson == null) return undefined;
    return { state: JSON.parse(stateJson) as T, applied: JSON.parse(appliedJson) as AppliedSeqs };
  }

  async saveProjection<T>(
    name: string,
    state: T,
    applied: AppliedSeqs,
    expectedApplied: AppliedSeqs | undefined,
  ): Promise<void> {
    const checked = checkProjectionSave(name, state, applied, expectedApplied);
    const expectedText = Object.keys(checked.expected).length === 0 ? '' : canonicalApplied(checked.expected);
    const reply = await this.#run('projection save', () =>
      this.#commands.pmProjectionSave(
        this.keys.projection(checked.name),
        expectedText,
        canonicalApplied(checked.applied),
        checked.stateJson,
      ),
    );
    if (!isOne(reply[0])) {
      const actual = reply[1] === '' ? undefined : (JSON.parse(reply[1] as string) as AppliedSeqs);
      throw new ProjectionConflictError(checked.name, checked.expected, actual);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsClient) {
      // quit() waits for Redis to answer: during an outage (reconnecting) it would wait for
      // Redis to come back and hold a shutdown up. Then, or if it does not answer soon, drop
      // the connection.
      if (this.#client.status !== 'ready') {
        this.#client.disconnect();
        return;
      }
      try {
        await withTimeout(this.#client.quit(), QUIT_TIMEOUT_MS, 'redis quit', { keepAlive: true });
      } catch {
        this.#client.disconnect();
      }
    }
  }
}
