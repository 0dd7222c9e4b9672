/**
 * Lua scripts for the operations that must be one atomic step in Redis. Each touches
 * exactly one key (cluster-safe). Nonces stay decimal strings end to end: Lua numbers
 * are doubles (exact only to 2^53), so comparisons are done on the text and additions
 * by INCRBY, which is exact signed 64-bit.
 */

/** Compares two non-negative integers written without leading zeros. */
const LUA_GT = `
local function gt(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
`;

/**
 * KEYS[1] nonce counter (holds the next nonce); ARGV[1] count; ARGV[2] floor or '';
 * ARGV[3] the largest start that still fits `count` below MAX_NONCE.
 * Returns the first nonce of the block. An absent counter reads as '0' (FIRST_NONCE). Checks before writing: Redis does not roll a
 * script back when it fails half-way.
 */
export const NONCE_ALLOCATE_LUA = `${LUA_GT}
local start = redis.call('GET', KEYS[1]) or '0'
local raised = ARGV[2] ~= '' and gt(ARGV[2], start)
if raised then start = ARGV[2] end
if gt(start, ARGV[3]) then return redis.error_reply('NONCE_EXHAUSTED') end
if raised then redis.call('SET', KEYS[1], start) end
redis.call('INCRBY', KEYS[1], ARGV[1])
return start
`;

/** KEYS[1] nonce counter; ARGV[1] the venue's next nonce. Forward only; returns the effective next. */
export const NONCE_RESYNC_LUA = `${LUA_GT}
local current = redis.call('GET', KEYS[1]) or '0'
if gt(ARGV[1], current) then
  redis.call('SET', KEYS[1], ARGV[1])
  return ARGV[1]
end
return current
`;

/** KEYS[1] claim; ARGV[1] value; ARGV[2] ttl ms. Returns {1} when claimed, {0, existing} otherwise. */
export const IDEMPOTENCY_CLAIM_LUA = `
local existing = redis.call('GET', KEYS[1])
if existing then return {0, existing} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1}
`;

/** KEYS[1] claim; ARGV[1] expected value; ARGV[2] new value. Keeps the TTL. Returns 1 when replaced. */
export const IDEMPOTENCY_UPDATE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0
`;

/** KEYS[1] claim; ARGV[1] expected value. Returns 1 when deleted. */
export const IDEMPOTENCY_RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

/**
 * KEYS[1] projection hash; ARGV[1] expected applied (canonical JSON, '' = nothing saved);
 * ARGV[2] new applied (canonical JSON); ARGV[3] state JSON.
 * Returns {1} when written, {0, stored applied or ''} on conflict (nothing written).
 */
export const PROJECTION_SAVE_LUA = `
local current = redis.call('HGET', KEYS[1], 'applied') or ''
if current ~= ARGV[1] then return {0, current} end
redis.call('HSET', KEYS[1], 'state', ARGV[3], 'applied', ARGV[2])
return {1}
`;
